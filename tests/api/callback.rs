//! The outbound callback, end to end: a caller asks for a callback, the dispatcher offers it to
//! the least recently assigned available lawyer, the lawyer accepts, the lawyer's phone and then
//! the caller's are dialled through the provider's REST API (answering-machine detection on the
//! caller's leg), both join a conference, and every outcome is recorded. Retries with an
//! explicit clock; the lawyer not answering; fairness between lawyers.

use chrono::{Duration, Utc};
use hotline::domain::roster::parse_csv;
use hotline::providers::Leg;
use hotline::routing::{callback, dispatch::dispatch, CallbackQueue};

use crate::helpers::{spawn_app, spawn_on, Backend, Line, TestApp, HOTLINE_NUMBER};
use crate::legs::{calls_in, calls_to, update_heard, Document, Placed};
use crate::provider::{pairs, post_signed, ticket_from_speech, Input, Phone};
use crate::{backends, lines};

// Twilio's wire in detail (its REST form, TwiML, machine detection); jambonz's own is in
// jambonz.rs.
backends!(
    a_requested_callback_rings_the_lawyer_then_the_caller,
    a_leg_of_a_callback_we_do_not_have_is_told_it_is_over,
);
// The same journeys on each provider, through the hooks its REST requests name.
lines!(
    a_lawyer_pick_up_delivered_twice_at_once_rings_the_caller_once,
    a_caller_who_does_not_answer_is_tried_again_then_told_by_sms,
    a_lawyer_who_does_not_answer_loses_the_caller_nothing,
    the_least_recently_assigned_lawyer_gets_the_offer,
    an_offer_redis_lost_does_not_hold_the_lawyer,
    a_shutdown_while_the_caller_is_rung_still_rings_them,
    a_caller_a_stopped_process_never_rang_is_rung_once_later,
    a_lawyer_who_hangs_up_while_the_caller_rings_costs_the_caller_nothing,
    a_machine_that_answers_the_caller_is_a_failed_attempt,
    a_callback_report_while_redis_is_away_loses_no_case,
    a_report_about_a_second_call_of_a_leg_changes_nothing,
);

const ROSTER: &str = "name,phone,skills,regions,max_cases,shifts,exceptions
张明,+8613800000001,labour_wages;work_injury,610100,3,mon-sun 00:00-24:00,
李华,+8613800000002,labour_wages,610100,3,mon-sun 00:00-24:00,
";

/// Imports the roster and makes the named lawyers available; returns their ids by name.
async fn lawyers(app: &TestApp, available: &[&str]) -> Vec<(String, String)> {
    app.state.db.import_roster(&parse_csv(ROSTER).unwrap()).await.unwrap();
    let all = app.state.db.lawyers().await.unwrap();
    for l in &all {
        if available.contains(&l.name.as_str()) {
            app.state
                .db
                .set_presence(&l.id, hotline::domain::callback::Presence::Available)
                .await
                .unwrap();
        }
    }
    all.into_iter().map(|l| (l.name, l.id)).collect()
}

fn id_of(lawyers: &[(String, String)], name: &str) -> String {
    lawyers.iter().find(|(n, _)| n == name).unwrap().1.clone()
}

/// A caller asks for a callback (0 with nobody to transfer to); returns the consultation id.
async fn caller_waits(app: &TestApp, number: &str) -> String {
    let mut phone = Phone::new(app, number);
    phone.call(&[Input::Keys("0")]).await;
    app.consultation(&ticket_from_speech(&phone.said())).await.id
}

/// The provider's request for a callback leg's TwiML, or its status callback.
async fn leg(app: &TestApp, path: &str, call_sid: &str, extra: &[(&str, &str)]) -> crate::provider::Reply {
    let mut params = pairs(&[
        ("AccountSid", crate::helpers::ACCOUNT_SID),
        ("CallSid", call_sid),
        ("CallStatus", "in-progress"),
        ("Direction", "outbound-api"),
        ("From", HOTLINE_NUMBER),
        ("ApiVersion", "2010-04-01"),
    ]);
    for (k, v) in pairs(extra) {
        match params.iter_mut().find(|(name, _)| *name == k) {
            Some(existing) => existing.1 = v,
            None => params.push((k, v)),
        }
    }
    post_signed(app, path, &params, &[]).await
}

async fn a_requested_callback_rings_the_lawyer_then_the_caller(backend: Backend) {
    let app = spawn_app(backend).await;
    let roster = lawyers(&app, &["张明"]).await;
    let zhang = id_of(&roster, "张明");
    let consultation = caller_waits(&app, "+8613900000009").await;
    app.provider.wait_for(1).await; // the ticket SMS

    let offers = dispatch(&app.state, Utc::now()).await.unwrap();
    assert_eq!(offers.len(), 1);
    let offer = &offers[0];
    assert_eq!(
        (offer.consultation_id.as_str(), offer.lawyer_id.as_str()),
        (consultation.as_str(), zhang.as_str())
    );
    assert!(
        dispatch(&app.state, Utc::now()).await.unwrap().is_empty(),
        "one offer at a time"
    );

    let accepted = callback::accept(&app.state, &offer.id, &zhang).await.unwrap();
    assert_eq!(accepted.state.as_str(), "calling_lawyer");
    // First the lawyer's phone, in Twilio's format.
    let sent = app.provider.wait_for(2).await;
    let lawyer_call = &sent[1];
    assert!(lawyer_call.path.ends_with("/Calls.json") && lawyer_call.basic_auth_ok);
    assert_eq!(lawyer_call.get("To"), Some("+8613800000001"));
    assert_eq!(lawyer_call.get("From"), Some(HOTLINE_NUMBER));
    let lawyer_url = format!("{}/twilio/callback/lawyer?a={}", app.public_url, offer.id);
    assert_eq!(lawyer_call.get("Url"), Some(lawyer_url.as_str()));
    assert_eq!(lawyer_call.get("MachineDetection"), None);
    let events: Vec<&str> = lawyer_call
        .form
        .iter()
        .filter(|(k, _)| k == "StatusCallbackEvent")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(events, ["answered", "completed"]);

    // The lawyer answers: the case is whispered, the lawyer waits in the conference...
    let xml = lawyer_answers(&app, &offer.id).await.body;
    assert!(
        xml.contains(r#"这里是<say-as interpret-as="digits">12348</say-as>律师回电"#),
        "{xml}"
    );
    assert!(xml.contains(&format!("<Conference beep=\"false\" startConferenceOnEnter=\"true\" endConferenceOnExit=\"false\">callback-{}</Conference>", offer.id)), "{xml}");
    // ...while the caller's phone rings, from the hotline number, with machine detection.
    let sent = app.provider.wait_for(3).await;
    let caller_call = &sent[2];
    assert_eq!(caller_call.get("To"), Some("+8613900000009"));
    assert_eq!(caller_call.get("From"), Some(HOTLINE_NUMBER));
    assert_eq!(caller_call.get("MachineDetection"), Some("Enable"));
    let caller_sid = wait_for_caller_sid(&app, &offer.id).await;

    // The caller (a human) answers and joins; the call ends normally.
    let path = format!("/twilio/callback/caller?a={}", offer.id);
    let xml = leg(&app, &path, &caller_sid, &[("AnsweredBy", "human")])
        .await
        .assert_twiml()
        .to_owned();
    assert!(xml.contains("律师为您回电"), "{xml}");
    assert!(xml.contains("endConferenceOnExit=\"true\""), "{xml}");
    let status = format!("/twilio/callback/caller/status?a={}", offer.id);
    assert_eq!(
        leg(
            &app,
            &status,
            &caller_sid,
            &[("CallStatus", "completed"), ("CallDuration", "300")]
        )
        .await
        .status,
        200
    );

    let done = app.state.db.assignment(&offer.id).await.unwrap().unwrap();
    assert_eq!(
        (done.state.as_str(), done.answered_by.as_deref()),
        ("completed", Some("human"))
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM assignments WHERE connected_at IS NOT NULL AND ended_at IS NOT NULL")
            .await,
        1
    );
    let c = app.state.db.consultation_by_id(&consultation).await.unwrap().unwrap();
    assert_eq!(
        c.status.as_str(),
        "in_progress",
        "the lawyer has the case until they close it"
    );
    assert_eq!(
        CallbackQueue::new(&app.state.kv).state(&consultation).await.unwrap(),
        None,
        "off the queue"
    );
    let zhang_now = app
        .state
        .db
        .lawyers()
        .await
        .unwrap()
        .into_iter()
        .find(|l| l.id == zhang)
        .unwrap();
    assert_eq!(zhang_now.presence.as_str(), "available");
    assert!(zhang_now.last_assigned_at.is_some());
    app.stop().await;
}

/// The provider delivers the lawyer's pick-up twice at once (a retry racing the first): both get
/// the conference, and the caller's phone rings once.
async fn a_lawyer_pick_up_delivered_twice_at_once_rings_the_caller_once(backend: Backend, line: Line) {
    let app = spawn_on(backend, line).await;
    let roster = lawyers(&app, &["张明"]).await;
    let zhang = id_of(&roster, "张明");
    caller_waits(&app, "+8613900000007").await;
    app.provider.wait_for(1).await; // the ticket SMS
    let offer = dispatch(&app.state, Utc::now()).await.unwrap().remove(0);
    callback::accept(&app.state, &offer.id, &zhang).await.unwrap();
    let (first, second) = tokio::join!(
        callback::answered(&app.state, &offer.id, Leg::Lawyer, None),
        callback::answered(&app.state, &offer.id, Leg::Lawyer, None),
    );
    assert!(first.is_ok() && second.is_ok());
    wait_for_caller_sid(&app, &offer.id).await;
    // The calls are placed in the background: a second one would be sent by now.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(calls_to(&app, "+8613900000007"), 1);
    app.stop().await;
}

/// The lawyer's leg of the assignment, as the provider was asked to place it.
async fn lawyer_leg(app: &TestApp, assignment: &str) -> Placed {
    let a = app.state.db.assignment(assignment).await.unwrap().unwrap();
    let phone = app.state.db.lawyer_phone(&a.lawyer_id).await.unwrap().expect("a phone");
    Placed::to(app, &phone, &a.lawyer_call_sid.expect("the lawyer was called"))
}

/// The provider fetches the lawyer leg's document once the lawyer picks up; returns it.
async fn lawyer_answers(app: &TestApp, assignment: &str) -> Document {
    lawyer_leg(app, assignment).await.answered(app, None).await
}

/// The caller's leg of the assignment, once it is placed.
async fn caller_leg(app: &TestApp, assignment: &str, caller: &str) -> Placed {
    let sid = wait_for_caller_sid(app, assignment).await;
    Placed::to(app, caller, &sid)
}

/// A callback under way: the waiting case offered to the lawyer and accepted, the lawyer's
/// pick-up (and what they heard), the caller's phone ringing.
struct Ringing {
    offer: String,
    lawyer: Placed,
    heard: Document,
    caller: Placed,
}

async fn ringing(app: &TestApp, lawyer_id: &str, caller: &str) -> Ringing {
    let offer = dispatch(&app.state, Utc::now()).await.unwrap().remove(0);
    callback::accept(&app.state, &offer.id, lawyer_id).await.unwrap();
    let lawyer = lawyer_leg(app, &offer.id).await;
    let heard = lawyer.answered(app, None).await;
    let caller = caller_leg(app, &offer.id, caller).await;
    Ringing {
        offer: offer.id,
        lawyer,
        heard,
        caller,
    }
}

async fn wait_for_caller_sid(app: &TestApp, assignment: &str) -> String {
    for _ in 0..100 {
        if let Some(sid) = app
            .state
            .db
            .assignment(assignment)
            .await
            .unwrap()
            .unwrap()
            .caller_call_sid
        {
            return sid;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the caller was never called");
}

/// One attempt at `now`: offer, accept, lawyer answers, the caller's phone is not answered by
/// a person — on Twilio a machine answers (it is hung up on), on jambonz it rings out.
async fn attempt_unanswered(app: &TestApp, lawyer: &str, caller: &str, now: chrono::DateTime<Utc>) -> String {
    let offers = dispatch(&app.state, now).await.unwrap();
    assert_eq!(offers.len(), 1, "offered at {now}");
    let offer = &offers[0];
    callback::accept(&app.state, &offer.id, lawyer).await.unwrap();
    lawyer_answers(app, &offer.id).await;
    let leg = caller_leg(app, &offer.id, caller).await;
    match app.line {
        Line::Twilio => {
            let doc = leg.answered(app, Some("machine_start")).await;
            assert!(doc.hangs_up(), "a machine is not talked to: {doc:?}");
        }
        Line::Jambonz => assert_eq!(leg.status(app, "no-answer").await, 200),
    }
    offer.id.clone()
}

async fn a_caller_who_does_not_answer_is_tried_again_then_told_by_sms(backend: Backend, line: Line) {
    let app = spawn_on(backend, line).await;
    let roster = lawyers(&app, &["张明"]).await;
    let zhang = id_of(&roster, "张明");
    let me = "+8613900000008";
    let consultation = caller_waits(&app, me).await;
    let first_sms = app.provider.wait_for(1).await.len();
    let queue = CallbackQueue::new(&app.state.kv);

    let t0 = Utc::now();
    let first = attempt_unanswered(&app, &zhang, me, t0).await;
    let a = app.state.db.assignment(&first).await.unwrap().unwrap();
    assert_eq!(a.state.as_str(), "no_answer");
    // The lawyer waiting in the conference is told, through the provider.
    app.provider.wait_for(first_sms + 3).await;
    let told = update_heard(&app, a.lawyer_call_sid.as_deref().unwrap()).await;
    assert!(told.says("来电人没有接听") && told.hangs_up(), "{told:?}");
    // It keeps its place but is not offered again before the retry time (a paused clock).
    assert_eq!(queue.state(&consultation).await.unwrap().unwrap().0, "waiting");
    assert!(dispatch(&app.state, t0 + Duration::minutes(9))
        .await
        .unwrap()
        .is_empty());
    let second = attempt_unanswered(&app, &zhang, me, t0 + Duration::minutes(11)).await;
    let third = attempt_unanswered(&app, &zhang, me, t0 + Duration::minutes(22)).await;
    for (a, n) in [(first, 1), (second, 2), (third, 3)] {
        assert_eq!(app.state.db.assignment(&a).await.unwrap().unwrap().attempt, n);
    }
    // After the third: no more attempts, an SMS says how to reach us.
    assert!(dispatch(&app.state, t0 + Duration::minutes(60))
        .await
        .unwrap()
        .is_empty());
    let c = app.state.db.consultation_by_id(&consultation).await.unwrap().unwrap();
    assert_eq!(c.status.as_str(), "unreachable");
    assert_eq!(queue.state(&consultation).await.unwrap(), None);
    let mut found = false;
    for _ in 0..100 {
        found = app.provider.requests().iter().any(|r| {
            r.get("Body")
                .is_some_and(|b| b.contains("多次回电未能接通") && b.contains(c.ticket.as_str()))
        });
        if found {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(found, "the last SMS was sent");
    app.stop().await;
}

async fn a_lawyer_who_does_not_answer_loses_the_caller_nothing(backend: Backend, line: Line) {
    let app = spawn_on(backend, line).await;
    let roster = lawyers(&app, &["张明"]).await;
    let zhang = id_of(&roster, "张明");
    let consultation = caller_waits(&app, "+8613900000007").await;
    let offer = dispatch(&app.state, Utc::now()).await.unwrap().remove(0);
    callback::accept(&app.state, &offer.id, &zhang).await.unwrap();
    let lawyer = lawyer_leg(&app, &offer.id).await;
    assert_eq!(lawyer.status(&app, "no-answer").await, 200);
    let a = app.state.db.assignment(&offer.id).await.unwrap().unwrap();
    assert_eq!(a.state.as_str(), "lawyer_unreachable");
    let c = app.state.db.consultation_by_id(&consultation).await.unwrap().unwrap();
    assert_eq!((c.status.as_str(), c.ticket.as_str().len()), ("waiting_callback", 8));
    assert_eq!(
        app.count("SELECT callback_attempts FROM consultations").await,
        0,
        "not the caller's failure"
    );
    let queue = CallbackQueue::new(&app.state.kv);
    assert_eq!(queue.position(&consultation).await.unwrap(), Some(1), "its place kept");
    let record = app
        .state
        .db
        .lawyers()
        .await
        .unwrap()
        .into_iter()
        .find(|l| l.id == zhang)
        .unwrap();
    assert_eq!(record.presence.as_str(), "offline");
    // The same status again changes nothing.
    assert_eq!(lawyer.status(&app, "no-answer").await, 200);
    assert_eq!(queue.position(&consultation).await.unwrap(), Some(1));
    app.stop().await;
}

async fn the_least_recently_assigned_lawyer_gets_the_offer(backend: Backend, line: Line) {
    let app = spawn_on(backend, line).await;
    let roster = lawyers(&app, &["张明", "李华"]).await;
    let (zhang, li) = (id_of(&roster, "张明"), id_of(&roster, "李华"));
    app.state.db.mark_assigned(&li).await.unwrap();
    caller_waits(&app, "+8613900000006").await;
    let offers = dispatch(&app.state, Utc::now()).await.unwrap();
    assert_eq!(offers.len(), 1);
    assert_eq!(offers[0].lawyer_id, zhang, "张明 was never assigned; 李华 just was");
    // He declines: it goes to 李华, never back to him.
    callback::decline(&app.state, &offers[0].id, &zhang).await.unwrap();
    let next = dispatch(&app.state, Utc::now()).await.unwrap();
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].lawyer_id, li);
    assert!(
        callback::accept(&app.state, &offers[0].id, &zhang).await.is_err(),
        "a declined offer cannot be accepted"
    );
    app.stop().await;
}

async fn an_offer_redis_lost_does_not_hold_the_lawyer(backend: Backend, line: Line) {
    let app = spawn_on(backend, line).await;
    let roster = lawyers(&app, &["张明"]).await;
    let zhang = id_of(&roster, "张明");
    caller_waits(&app, "+8613900000005").await;
    let t0 = Utc::now();
    let first = dispatch(&app.state, t0).await.unwrap().remove(0);
    // Redis loses everything; the reconciler puts the waiting case back.
    let keys: Vec<String> = app
        .state
        .kv
        .run(redis::cmd("KEYS").arg(app.state.kv.key("queue", "*")))
        .await
        .unwrap();
    let _: i64 = app.state.kv.run(redis::cmd("DEL").arg(&keys)).await.unwrap();
    hotline::routing::reconcile(&app.state.db, &app.state.kv).await.unwrap();
    // While the lost offer's time runs, the lawyer is not offered another; after it, they are.
    assert!(dispatch(&app.state, t0 + Duration::seconds(60))
        .await
        .unwrap()
        .is_empty());
    let again = dispatch(&app.state, t0 + Duration::seconds(200)).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].lawyer_id, zhang);
    assert_eq!(
        app.state
            .db
            .assignment(&first.id)
            .await
            .unwrap()
            .unwrap()
            .state
            .as_str(),
        "lapsed"
    );
    app.stop().await;
}

/// SIGTERM just after the lawyer picked up, while the provider is slow to take the caller's
/// call: the server stops only once that call was placed, so the lawyer is not left waiting.
async fn a_shutdown_while_the_caller_is_rung_still_rings_them(backend: Backend, line: Line) {
    let app = spawn_on(backend, line).await;
    let roster = lawyers(&app, &["张明"]).await;
    let zhang = id_of(&roster, "张明");
    let me = "+8613900000021";
    caller_waits(&app, me).await;
    let offer = dispatch(&app.state, Utc::now()).await.unwrap().remove(0);
    callback::accept(&app.state, &offer.id, &zhang).await.unwrap();
    app.provider.slow_creates(std::time::Duration::from_millis(1500));
    lawyer_answers(&app, &offer.id).await;
    let provider = app.provider.clone();
    let stopping = std::time::Instant::now();
    app.stop().await;
    assert_eq!(
        calls_in(&provider, me),
        1,
        "the caller's call reached the provider before the server stopped"
    );
    assert!(
        stopping.elapsed() >= std::time::Duration::from_millis(1000),
        "the stop waited for the slow provider"
    );
}

/// A process that stopped after the lawyer picked up but before it rang the caller: the lawyer
/// waits in the room; the jobs of another process ring the caller once the leg is clearly
/// stalled, and two processes resuming at once ring once.
async fn a_caller_a_stopped_process_never_rang_is_rung_once_later(backend: Backend, line: Line) {
    use hotline::domain::callback::AssignmentState as S;
    use hotline::jobs::caller_legs::resume;
    let app = spawn_on(backend, line).await;
    let roster = lawyers(&app, &["张明"]).await;
    let zhang = id_of(&roster, "张明");
    let me = "+8613900000022";
    caller_waits(&app, me).await;
    let offer = dispatch(&app.state, Utc::now()).await.unwrap().remove(0);
    callback::accept(&app.state, &offer.id, &zhang).await.unwrap();
    // What the lawyer's webhook records before it rings the caller; then the process died.
    assert!(app
        .state
        .db
        .move_assignment(&offer.id, &[S::CallingLawyer], S::CallingCaller)
        .await
        .unwrap());
    let now = Utc::now();
    assert_eq!(
        resume(&app.state, now).await.unwrap(),
        0,
        "just due: a live process may be ringing"
    );
    assert_eq!(calls_to(&app, me), 0);
    let later = now + Duration::seconds(31);
    let (a, b) = tokio::join!(resume(&app.state, later), resume(&app.state, later));
    assert_eq!(a.unwrap() + b.unwrap(), 1, "claimed by one of the two");
    let caller = caller_leg(&app, &offer.id, me).await;
    assert_eq!(calls_to(&app, me), 1);
    assert_eq!(resume(&app.state, later + Duration::seconds(60)).await.unwrap(), 0);
    assert_eq!(calls_to(&app, me), 1, "rung once");
    // The caller's leg goes on as any other: answered, into the lawyer's room.
    let doc = caller.answered(&app, Some("human")).await;
    assert_eq!(doc.room(), Some((format!("callback-{}", offer.id), true)), "{doc:?}");
    let a = app.state.db.assignment(&offer.id).await.unwrap().unwrap();
    assert_eq!(a.state, S::Connected);
    app.stop().await;
}

/// The lawyer hangs up while the caller's phone rings: the caller who then answers is told the
/// case still waits (not that it is closed) and hung up, and the case is back in its place
/// without counting as the caller's failed attempt.
async fn a_lawyer_who_hangs_up_while_the_caller_rings_costs_the_caller_nothing(backend: Backend, line: Line) {
    let app = spawn_on(backend, line).await;
    let roster = lawyers(&app, &["张明"]).await;
    let zhang = id_of(&roster, "张明");
    let me = "+8613900000023";
    let consultation = caller_waits(&app, me).await;
    let Ringing {
        offer,
        lawyer,
        heard,
        caller,
    } = ringing(&app, &zhang, me).await;
    assert_eq!(heard.room(), Some((format!("callback-{offer}"), false)), "{heard:?}");
    assert_eq!(lawyer.status(&app, "completed").await, 200);
    let a = app.state.db.assignment(&offer).await.unwrap().unwrap();
    assert_eq!(a.state.as_str(), "lawyer_left");
    let c = app.state.db.consultation_by_id(&consultation).await.unwrap().unwrap();
    assert_eq!(c.status.as_str(), "waiting_callback");
    assert_eq!(app.count("SELECT callback_attempts FROM consultations").await, 0);
    let queue = CallbackQueue::new(&app.state.kv);
    assert_eq!(queue.position(&consultation).await.unwrap(), Some(1), "its place kept");
    let doc = caller.answered(&app, Some("human")).await;
    assert!(doc.says("还在排队") && doc.hangs_up(), "{doc:?}");
    assert_eq!(doc.room(), None, "nobody to talk to: {doc:?}");
    let lawyer = app
        .state
        .db
        .lawyers()
        .await
        .unwrap()
        .into_iter()
        .find(|l| l.id == zhang)
        .unwrap();
    assert_eq!(lawyer.presence.as_str(), "available");
    app.stop().await;
}

/// A machine answers the caller's phone: it is hung up on, the attempt counts as failed (the
/// case waits for the next), and the waiting lawyer is told — whether the provider decides
/// before it asks for the leg's document (Twilio's AnsweredBy) or screens the leg once it is
/// in the room and reports (jambonz's `amd` events, where no decision changes nothing).
async fn a_machine_that_answers_the_caller_is_a_failed_attempt(backend: Backend, line: Line) {
    let app = spawn_on(backend, line).await;
    let roster = lawyers(&app, &["张明"]).await;
    let zhang = id_of(&roster, "张明");
    let me = "+8613900000024";
    let consultation = caller_waits(&app, me).await;
    let Ringing {
        offer, lawyer, caller, ..
    } = ringing(&app, &zhang, me).await;
    match line {
        Line::Twilio => {
            let doc = caller.answered(&app, Some("machine_start")).await;
            assert!(doc.hangs_up() && doc.room().is_none(), "{doc:?}");
        }
        Line::Jambonz => {
            let doc = caller.answered(&app, None).await;
            let hook = doc.screening().expect("the answered leg is screened");
            assert!(doc.room().is_some(), "the caller joins while screened: {doc:?}");
            let undecided = caller.screened(&app, &hook, "amd_no_speech_detected").await;
            assert!(undecided.is_empty(), "no decision: the leg goes on: {undecided:?}");
            let a = app.state.db.assignment(&offer).await.unwrap().unwrap();
            assert_eq!(a.state.as_str(), "connected");
            let machine = caller.screened(&app, &hook, "amd_machine_detected").await;
            assert!(machine.hangs_up(), "{machine:?}");
            let again = caller.screened(&app, &hook, "amd_machine_stopped_speaking").await;
            assert!(again.is_empty(), "{again:?}");
            assert_eq!(caller.status(&app, "completed").await, 200);
        }
    }
    let a = app.state.db.assignment(&offer).await.unwrap().unwrap();
    assert_eq!(a.state.as_str(), "no_answer");
    assert!(
        a.answered_by.as_deref().is_some_and(|v| v.starts_with("machine")),
        "{a:?}"
    );
    assert_eq!(app.count("SELECT callback_attempts FROM consultations").await, 1);
    let c = app.state.db.consultation_by_id(&consultation).await.unwrap().unwrap();
    assert_eq!(c.status.as_str(), "waiting_callback");
    let told = update_heard(&app, &lawyer.sid).await;
    assert!(told.says("来电人没有接听") && told.hangs_up(), "{told:?}");
    app.stop().await;
}

/// Redis is away when the caller's phone rings out (or the lawyer hangs up while it rings):
/// the report is still acted on from SQL — the attempt counted, the lawyer free, the case
/// waiting — and once Redis is back the reconciler offers the case again, although Redis still
/// held it as taken.
async fn a_callback_report_while_redis_is_away_loses_no_case(backend: Backend, line: Line) {
    use hotline::providers::CallStatus;
    let app = spawn_on(backend, line).await;
    let roster = lawyers(&app, &["张明"]).await;
    let zhang = id_of(&roster, "张明");
    for (n, who) in [(26, Leg::Caller), (27, Leg::Lawyer)] {
        let me = format!("+86139000000{n}");
        let consultation = caller_waits(&app, &me).await;
        let Ringing {
            offer, lawyer, caller, ..
        } = ringing(&app, &zhang, &me).await;
        let mut away = app.state.clone();
        away.kv = std::sync::Arc::new(
            hotline::kv::Kv::new("redis://127.0.0.1:1", "away", std::time::Duration::from_millis(200)).unwrap(),
        );
        let (sid, status, attempts) = match who {
            Leg::Caller => (&caller.sid, CallStatus::NoAnswer, 1),
            Leg::Lawyer => (&lawyer.sid, CallStatus::Completed, 0),
        };
        callback::leg_status(&away, &offer, who, sid, status)
            .await
            .expect("acted on without Redis");
        let a = app.state.db.assignment(&offer).await.unwrap().unwrap();
        assert!(!a.state.is_active(), "{:?}", a.state);
        let c = app.state.db.consultation_by_id(&consultation).await.unwrap().unwrap();
        assert_eq!(c.status.as_str(), "waiting_callback");
        let count = format!("SELECT callback_attempts FROM consultations WHERE id = '{consultation}'");
        assert_eq!(app.count(&count).await, attempts);
        let record = app.state.db.lawyer(&zhang).await.unwrap().unwrap();
        assert_eq!(record.presence.as_str(), "available");
        let queue = CallbackQueue::new(&app.state.kv);
        assert_eq!(
            queue.state(&consultation).await.unwrap().unwrap().0,
            "accepted",
            "Redis missed it"
        );
        assert_eq!(
            hotline::routing::reconcile(&app.state.db, &app.state.kv).await.unwrap(),
            1
        );
        assert_eq!(queue.state(&consultation).await.unwrap().unwrap().0, "waiting");
        assert_eq!(
            hotline::routing::reconcile(&app.state.db, &app.state.kv).await.unwrap(),
            0
        );
        // Out of the way of the next round.
        let closed = hotline::domain::ConsultationStatus::Closed;
        app.state
            .db
            .set_consultation_status(&consultation, closed)
            .await
            .unwrap();
        queue.remove(&consultation).await.unwrap();
    }
    app.stop().await;
}

/// A restarted process rang the caller a second time (at least once): the first call's end
/// ("no answer" from a phone nobody picked up) is not the leg's, and changes nothing.
async fn a_report_about_a_second_call_of_a_leg_changes_nothing(backend: Backend, line: Line) {
    use hotline::providers::CallStatus;
    let app = spawn_on(backend, line).await;
    let roster = lawyers(&app, &["张明"]).await;
    let zhang = id_of(&roster, "张明");
    let me = "+8613900000028";
    caller_waits(&app, me).await;
    let Ringing { offer, caller, .. } = ringing(&app, &zhang, me).await;
    let other = match line {
        Line::Twilio => "CA0000000000000000000000000000dead".to_owned(),
        Line::Jambonz => uuid::Uuid::new_v4().to_string(),
    };
    callback::leg_status(&app.state, &offer, Leg::Caller, &other, CallStatus::NoAnswer)
        .await
        .unwrap();
    let a = app.state.db.assignment(&offer).await.unwrap().unwrap();
    assert_eq!(a.state.as_str(), "calling_caller", "the call on record still rings");
    assert_eq!(app.count("SELECT callback_attempts FROM consultations").await, 0);
    let doc = caller.answered(&app, Some("human")).await;
    assert_eq!(doc.room(), Some((format!("callback-{offer}"), true)), "{doc:?}");
    app.stop().await;
}

/// A leg whose assignment is not ours (a stale hook, a mistaken one) is told the callback is
/// over, in Chinese — not that the service failed.
async fn a_leg_of_a_callback_we_do_not_have_is_told_it_is_over(backend: Backend) {
    let app = spawn_app(backend).await;
    for who in ["lawyer", "caller"] {
        let reply = leg(
            &app,
            &format!("/twilio/callback/{who}?a=no-such-assignment"),
            "CA00000000000000000000000000000099",
            &[],
        )
        .await;
        let xml = reply.assert_twiml();
        assert!(xml.contains("这次回拨已经结束") && xml.contains("<Hangup/>"), "{xml}");
        assert!(!xml.contains("故障"), "{xml}");
    }
    app.stop().await;
}
