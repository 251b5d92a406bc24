//! Call status callbacks arrive in any order (issue 15; the first two tests on either provider): a call's status only moves forward —
//! queued/initiated → ringing → in-progress → one final status — and the first final status
//! wins. A status that comes before the incoming-call webhook creates the call, and the call's
//! own webhook then neither moves it back nor loses the menu.

use std::sync::Arc;

use chrono::Utc;
use hotline::domain::roster::parse_csv;
use hotline::providers::Leg;
use hotline::routing::{callback, dispatch::dispatch};
use rand::seq::SliceRandom;
use rand::Rng;
use sqlx::Row;

use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_on, Backend, Line, TestApp, ACCOUNT_SID, HOTLINE_NUMBER, JAMBONZ_ACCOUNT};
use crate::jambonz_line::post_jambonz;
use crate::provider::{form_body, pairs, post_signed, sid, ticket_from_speech, twilio_signature, Input, Phone};
use crate::{backends, lines};

lines!(
    every_pair_of_statuses_in_either_order_ends_forward_most,
    a_status_before_the_incoming_call_creates_the_call_and_is_kept,
);
backends!(
    concurrent_status_callbacks_end_in_the_forward_most_state,
    late_callback_leg_statuses_change_nothing,
);

/// Twilio's `CallStatus` values: the name on the wire, the name we store, and how far along
/// the call it is (every final status is as far as a call goes).
const STATUSES: [(&str, &str, u8); 9] = [
    ("queued", "queued", 1),
    ("initiated", "queued", 1),
    ("ringing", "ringing", 2),
    ("in-progress", "in_progress", 3),
    ("completed", "completed", 4),
    ("busy", "busy", 4),
    ("no-answer", "no_answer", 4),
    ("failed", "failed", 4),
    ("canceled", "canceled", 4),
];

/// jambonz's `call_status` values, as [`STATUSES`].
const JAMBONZ_STATUSES: [(&str, &str, u8); 8] = [
    ("trying", "queued", 1),
    ("ringing", "ringing", 2),
    ("early-media", "ringing", 2),
    ("in-progress", "in_progress", 3),
    ("completed", "completed", 4),
    ("busy", "busy", 4),
    ("no-answer", "no_answer", 4),
    ("failed", "failed", 4),
];

fn statuses(line: Line) -> &'static [(&'static str, &'static str, u8)] {
    match line {
        Line::Twilio => &STATUSES,
        Line::Jambonz => &JAMBONZ_STATUSES,
    }
}

/// The place of a status, by its name on the wire, in the line's list.
fn index_of(line: Line, wire: &str) -> usize {
    statuses(line)
        .iter()
        .position(|(w, _, _)| *w == wire)
        .expect("a status of the line")
}

const FINAL: u8 = 4;
const CALLER: &str = "+8613800138000";

/// A status callback's form exactly as Twilio posts it to `/twilio/voice/status`; a final
/// status carries the call's length. Without `from` the caller fields are left out.
fn status_form(call_sid: &str, from: Option<&str>, index: usize, duration: u32) -> Vec<(String, String)> {
    let (wire, _, rank) = STATUSES[index];
    let sequence = index.to_string();
    let timestamp = Utc::now().to_rfc2822();
    let mut p = pairs(&[
        ("AccountSid", ACCOUNT_SID),
        ("ApiVersion", "2010-04-01"),
        ("CallSid", call_sid),
        ("CallStatus", wire),
        ("CallbackSource", "call-progress-events"),
        ("Called", HOTLINE_NUMBER),
        ("Direction", "inbound"),
        ("To", HOTLINE_NUMBER),
        ("SequenceNumber", &sequence),
        ("Timestamp", &timestamp),
    ]);
    if let Some(from) = from {
        p.extend(pairs(&[("From", from), ("Caller", from), ("CallerCountry", "CN")]));
    }
    if rank == FINAL {
        let secs = duration.to_string();
        let minutes = duration.div_ceil(60).to_string();
        p.extend(pairs(&[("CallDuration", &secs), ("Duration", &minutes)]));
    }
    p
}

/// The length a final status reports in these tests: different for each, to see which won.
fn duration_of(index: usize) -> u32 {
    10 + index as u32
}

async fn post_status(app: &TestApp, call_sid: &str, from: Option<&str>, index: usize) -> u16 {
    match app.line {
        Line::Twilio => {
            let form = status_form(call_sid, from, index, duration_of(index));
            post_signed(app, "/twilio/voice/status", &form, &[]).await.status
        }
        Line::Jambonz => {
            post_jambonz(app, "/jambonz/voice/status", &jambonz_status(call_sid, from, index))
                .await
                .status
        }
    }
}

/// A call status hook's body as jambonz posts it; a final status carries the call's length.
fn jambonz_status(call_sid: &str, from: Option<&str>, index: usize) -> Value {
    let (wire, _, rank) = JAMBONZ_STATUSES[index];
    let mut body = json!({
        "call_sid": call_sid,
        "account_sid": JAMBONZ_ACCOUNT,
        "application_sid": "7087fe50-8acb-4f3b-b820-97b573723aab",
        "call_id": "d8907723-0bc7-123b-09b5-12e962f3039b",
        "direction": "inbound",
        "to": HOTLINE_NUMBER,
        "call_status": wire,
        "sip_status": if rank == FINAL { 200 } else { 180 },
        "sip_reason": "OK",
        "trace_id": "18228daa536f82e0ec29074e7bf47b89",
    });
    if let Some(from) = from {
        body["from"] = json!(from);
        body["caller_name"] = json!("");
    }
    if rank == FINAL {
        body["duration"] = json!(duration_of(index));
    }
    body
}

/// What the calls table says about one call.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CallRow {
    status: String,
    ended: bool,
    duration: Option<i64>,
    caller_known: bool,
    direction: String,
    to_number: String,
}

async fn call_row(app: &TestApp, call_sid: &str) -> Option<CallRow> {
    let rows = sqlx::query(
        "SELECT status, ended_at, duration_secs, caller_id, direction, to_number FROM calls WHERE call_sid = $1",
    )
    .bind(call_sid)
    .fetch_all(app.state.db.pool())
    .await
    .unwrap();
    assert!(rows.len() <= 1, "one row per call");
    rows.first().map(|r| CallRow {
        status: r.try_get("status").unwrap(),
        ended: r.try_get::<Option<String>, _>("ended_at").unwrap().is_some(),
        duration: r.try_get("duration_secs").unwrap(),
        caller_known: r.try_get::<Option<String>, _>("caller_id").unwrap().is_some(),
        direction: r.try_get("direction").unwrap(),
        to_number: r.try_get("to_number").unwrap(),
    })
}

/// A call the service already knows, still queued (as a first `queued` report leaves it).
async fn seed_queued_call(app: &TestApp, call_sid: &str) {
    sqlx::query(
        "INSERT INTO calls (id, provider, call_sid, direction, to_number, status, started_at)
         VALUES ($1, $2, $3, 'inbound', $4, 'queued', $5)",
    )
    .bind(sid("id"))
    .bind(match app.line {
        Line::Twilio => "twilio",
        Line::Jambonz => "jambonz",
    })
    .bind(call_sid)
    .bind(HOTLINE_NUMBER)
    .bind(Utc::now().to_rfc3339())
    .execute(app.state.db.pool())
    .await
    .unwrap();
}

/// Of two statuses delivered in this order, the one the call must end in: the further along,
/// or the first delivered when they are as far along (two final ones).
fn winner(line: Line, first: usize, second: usize) -> usize {
    let statuses = statuses(line);
    if statuses[second].2 > statuses[first].2 {
        second
    } else {
        first
    }
}

async fn every_pair_of_statuses_in_either_order_ends_forward_most(backend: Backend, line: Line) {
    let app = spawn_on(backend, line).await;
    let statuses = statuses(line);
    let mut wrong = Vec::new();
    let mut cases = 0;
    for known in [true, false] {
        for a in 0..statuses.len() {
            for b in (a + 1)..statuses.len() {
                for (first, second) in [(a, b), (b, a)] {
                    cases += 1;
                    let call = Phone::new(&app, CALLER).call_sid;
                    if known {
                        seed_queued_call(&app, &call).await;
                    }
                    for index in [first, second] {
                        assert_eq!(post_status(&app, &call, Some(CALLER), index).await, 200);
                    }
                    let w = winner(line, first, second);
                    let (_, stored, rank) = statuses[w];
                    let expected = (
                        stored.to_owned(),
                        rank == FINAL,
                        (rank == FINAL).then(|| i64::from(duration_of(w))),
                    );
                    let got = call_row(&app, &call).await.map(|r| (r.status, r.ended, r.duration));
                    if got.as_ref() != Some(&expected) {
                        wrong.push(format!(
                            "{} then {} (call {}): expected {expected:?}, got {got:?}",
                            statuses[first].0,
                            statuses[second].0,
                            if known { "known" } else { "not yet known" },
                        ));
                    }
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {cases} orders ended wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    app.stop().await;
}

async fn a_status_before_the_incoming_call_creates_the_call_and_is_kept(backend: Backend, line: Line) {
    let app = spawn_on(backend, line).await;
    let in_progress = index_of(line, "in-progress");
    let ringing = index_of(line, "ringing");
    let completed = index_of(line, "completed");

    // "in-progress" before the call's own webhook: the call is recorded with what it says...
    let mut phone = Phone::new(&app, CALLER);
    assert_eq!(post_status(&app, &phone.call_sid, Some(CALLER), in_progress).await, 200);
    let row = call_row(&app, &phone.call_sid)
        .await
        .expect("the status created the call");
    assert_eq!(
        (
            row.status.as_str(),
            row.ended,
            row.caller_known,
            row.direction.as_str(),
            row.to_number.as_str()
        ),
        ("in_progress", false, true, "inbound", HOTLINE_NUMBER)
    );
    // ...and the menu then works as for any call: a callback, its ticket read out.
    phone.call(&[Input::Keys("0")]).await;
    let ticket = ticket_from_speech(&phone.said());
    assert_eq!(app.consultation(&ticket).await.status.as_str(), "waiting_callback");
    let row = call_row(&app, &phone.call_sid).await.unwrap();
    assert_eq!(
        (row.status.as_str(), row.ended, row.duration),
        ("completed", true, Some(42))
    );

    // A report without the caller's number: the call's own webhook fills it in, and the
    // callback it registers is the caller's.
    let mut phone = Phone::new(&app, "+8613900139001");
    assert_eq!(post_status(&app, &phone.call_sid, None, ringing).await, 200);
    let row = call_row(&app, &phone.call_sid)
        .await
        .expect("the status created the call");
    assert_eq!((row.status.as_str(), row.caller_known), ("ringing", false));
    phone.call(&[Input::Keys("0")]).await;
    let said = phone.said();
    assert!(said.contains("律师会打您现在的号码"), "{said}");
    let ticket = ticket_from_speech(&said);
    assert_eq!(app.consultation(&ticket).await.status.as_str(), "waiting_callback");
    assert!(call_row(&app, &phone.call_sid).await.unwrap().caller_known);

    // The call already over when its webhook comes: it stays over, and the webhook still
    // gets the menu (a valid document, never the apology).
    let phone = Phone::new(&app, "+8613900139002");
    assert_eq!(
        post_status(&app, &phone.call_sid, Some(&phone.from), completed).await,
        200
    );
    let before = call_row(&app, &phone.call_sid)
        .await
        .expect("the status created the call");
    assert_eq!(
        (before.status.as_str(), before.ended, before.duration),
        ("completed", true, Some(i64::from(duration_of(completed))))
    );
    let ended_before = ended_at(&app, &phone.call_sid).await;
    let menu = phone.open().await;
    assert!(menu.body.contains(r#"12348</say-as>公共法律服务热线"#), "{}", menu.body);
    assert_eq!(call_row(&app, &phone.call_sid).await.unwrap(), before, "not moved back");
    assert_eq!(ended_at(&app, &phone.call_sid).await, ended_before);
    app.stop().await;
}

async fn ended_at(app: &TestApp, call_sid: &str) -> Option<String> {
    sqlx::query("SELECT ended_at FROM calls WHERE call_sid = $1")
        .bind(call_sid)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap()
        .try_get("ended_at")
        .unwrap()
}

/// One delivery to post at once with the others: path and signed form.
struct Delivery {
    path: &'static str,
    form: Vec<(String, String)>,
}

async fn concurrent_status_callbacks_end_in_the_forward_most_state(backend: Backend) {
    const ROUNDS: usize = 50;
    let app = spawn_app(backend).await;
    let mut wrong = Vec::new();
    for round in 0..ROUNDS {
        let (call, final_index, deliveries) = {
            let mut rng = rand::thread_rng();
            let phone = Phone::new(&app, &format!("+86139{:08}", round));
            // Twilio reports initiated, ringing, answered and one end; sometimes the end has
            // not come yet.
            let final_index = rng.gen_bool(0.8).then(|| rng.gen_range(4..STATUSES.len()));
            let mut deliveries = vec![Delivery {
                path: "/twilio/voice",
                form: phone.params(&[("CallStatus", "ringing")]),
            }];
            for index in [1, 2, 3].into_iter().chain(final_index) {
                deliveries.push(Delivery {
                    path: "/twilio/voice/status",
                    form: status_form(&phone.call_sid, Some(&phone.from), index, duration_of(index)),
                });
            }
            deliveries.shuffle(&mut rng);
            (phone.call_sid.clone(), final_index, deliveries)
        };
        let barrier = Arc::new(tokio::sync::Barrier::new(deliveries.len()));
        let tasks: Vec<_> = deliveries
            .into_iter()
            .map(|d| {
                let url = app.url(d.path);
                let signature = twilio_signature(&app.auth_token, &format!("{}{}", app.public_url, d.path), &d.form);
                let body = form_body(&d.form);
                let http = app.http.clone();
                let barrier = barrier.clone();
                tokio::spawn(async move {
                    barrier.wait().await;
                    let reply = http
                        .post(url)
                        .header("content-type", "application/x-www-form-urlencoded")
                        .header("X-Twilio-Signature", signature)
                        .body(body)
                        .send()
                        .await
                        .expect("request sent");
                    (d.path, reply.status().as_u16(), reply.text().await.unwrap())
                })
            })
            .collect();
        for task in tasks {
            let (path, status, body) = task.await.unwrap();
            assert_eq!(status, 200, "{path}: {body}");
            if path == "/twilio/voice" {
                assert!(
                    body.contains("12348</say-as>公共法律服务热线"),
                    "the menu, not the apology: {body}"
                );
            }
        }
        let (stored, ended, duration) = match final_index {
            Some(i) => (STATUSES[i].1, true, Some(i64::from(duration_of(i)))),
            None => ("in_progress", false, None),
        };
        let got = call_row(&app, &call).await;
        let ok = got.as_ref().is_some_and(|r| {
            (r.status.as_str(), r.ended, r.duration, r.caller_known) == (stored, ended, duration, true)
        });
        if !ok {
            wrong.push(format!("round {round}: expected {stored} (ended {ended}), got {got:?}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {ROUNDS} rounds ended wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    app.stop().await;
}

const ROSTER: &str = "name,phone,skills,regions,max_cases,shifts,exceptions
张明,+8613800000001,labour_wages;work_injury,610100,3,mon-sun 00:00-24:00,
";

/// A callback leg's status callback, as Twilio posts it.
async fn leg_status(app: &TestApp, leg: &str, assignment: &str, call_sid: &str, status: &str) -> u16 {
    let mut form = pairs(&[
        ("AccountSid", ACCOUNT_SID),
        ("ApiVersion", "2010-04-01"),
        ("CallSid", call_sid),
        ("CallStatus", status),
        ("CallbackSource", "call-progress-events"),
        ("Direction", "outbound-api"),
        ("From", HOTLINE_NUMBER),
        ("SequenceNumber", "1"),
    ]);
    form.push(("Timestamp".into(), Utc::now().to_rfc2822()));
    if matches!(status, "completed" | "busy" | "no-answer" | "failed" | "canceled") {
        form.extend(pairs(&[("CallDuration", "30"), ("Duration", "1")]));
    }
    post_signed(
        app,
        &format!("/twilio/callback/{leg}/status?a={assignment}"),
        &form,
        &[],
    )
    .await
    .status
}

/// A callback leg's request for its TwiML, as Twilio posts it when the phone is answered.
async fn leg_answered(app: &TestApp, leg: &str, assignment: &str, call_sid: &str, answered_by: Option<&str>) {
    let mut form = pairs(&[
        ("AccountSid", ACCOUNT_SID),
        ("ApiVersion", "2010-04-01"),
        ("CallSid", call_sid),
        ("CallStatus", "in-progress"),
        ("Direction", "outbound-api"),
        ("From", HOTLINE_NUMBER),
    ]);
    if let Some(by) = answered_by {
        form.extend(pairs(&[("AnsweredBy", by)]));
    }
    post_signed(app, &format!("/twilio/callback/{leg}?a={assignment}"), &form, &[])
        .await
        .assert_twiml();
}

/// The provider's id of a callback leg's call, once the service has placed it.
async fn call_sid_of(app: &TestApp, assignment: &str, leg: Leg) -> String {
    for _ in 0..100 {
        let a = app.state.db.assignment(assignment).await.unwrap().unwrap();
        let sid = match leg {
            Leg::Lawyer => a.lawyer_call_sid,
            Leg::Caller => a.caller_call_sid,
        };
        if let Some(sid) = sid {
            return sid;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the {leg:?} leg was never called");
}

/// Callback legs keep no status of their own: each final status moves the assignment on only
/// from the state it expects, so a late or reordered one changes nothing.
async fn late_callback_leg_statuses_change_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    app.state.db.import_roster(&parse_csv(ROSTER).unwrap()).await.unwrap();
    let zhang = app.state.db.lawyers().await.unwrap().remove(0).id;
    let available = hotline::domain::callback::Presence::Available;
    app.state.db.set_presence(&zhang, available).await.unwrap();
    let mut phone = Phone::new(&app, "+8613900000009");
    phone.call(&[Input::Keys("0")]).await;

    // Connected, then the caller hangs up: completed; late reports of the legs follow.
    let offer = dispatch(&app.state, Utc::now()).await.unwrap().remove(0);
    callback::accept(&app.state, &offer.id, &zhang).await.unwrap();
    let lawyer_sid = call_sid_of(&app, &offer.id, Leg::Lawyer).await;
    leg_answered(&app, "lawyer", &offer.id, &lawyer_sid, None).await;
    let caller_sid = call_sid_of(&app, &offer.id, Leg::Caller).await;
    leg_answered(&app, "caller", &offer.id, &caller_sid, Some("human")).await;
    for (leg, sid, status) in [
        ("caller", &caller_sid, "completed"),
        ("caller", &caller_sid, "in-progress"),
        ("caller", &caller_sid, "no-answer"),
        ("caller", &caller_sid, "failed"),
        ("lawyer", &lawyer_sid, "no-answer"),
        ("lawyer", &lawyer_sid, "completed"),
    ] {
        assert_eq!(
            leg_status(&app, leg, &offer.id, sid, status).await,
            200,
            "{leg} {status}"
        );
    }
    let done = app.state.db.assignment(&offer.id).await.unwrap().unwrap();
    assert_eq!(done.state.as_str(), "completed");
    assert_eq!(app.count("SELECT callback_attempts FROM consultations").await, 0);
    let lawyer = app.state.db.lawyers().await.unwrap().remove(0);
    assert_eq!(
        lawyer.presence.as_str(),
        "available",
        "a late report does not take the lawyer off"
    );
    app.stop().await;
}
