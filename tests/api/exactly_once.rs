//! Exactly once under concurrency: copies of one delivery sent at the same moment (with the same,
//! different or no idempotency token) are handled once and all get the owner's answer byte for
//! byte; a turn the call has moved past changes nothing (these on either provider); a held caller comes back to the current
//! prompt; an error a retry cannot fix is not answered "please retry".

use rand::Rng;
use tokio::sync::Barrier;

use crate::helpers::{random_hex, spawn_app, spawn_app_with, spawn_on, Backend, Line, Options, TestApp};
use crate::jambonz_line::validate_documents;
use crate::provider::{pairs, post_raw, post_signed, sid, Phone, Reply};
use crate::turns::{Act, Wait};
use crate::{backends, lines};

lines!(
    concurrent_copies_of_a_turn_are_handled_once,
    a_stale_turn_changes_nothing,
    two_keys_on_one_turn_at_once_both_hear_the_one_acted_on,
);
backends!(
    a_replay_with_a_fresh_token_is_the_same_delivery,
    concurrent_copies_of_a_text_all_get_the_ticket,
    a_held_caller_comes_back_to_the_current_prompt,
    errors_a_retry_cannot_fix_are_not_503,
    a_copy_whose_owner_is_slow_holds_and_comes_back_for_its_answer,
    a_first_text_resent_at_once_is_never_answered_with_nothing,
);

const ROUNDS: usize = 50;

const MESSAGE: &str = "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1";

/// The path (with its `turn=`) of the TwiML's first Gather or Record action.
fn action_of(twiml: &str) -> String {
    verb_action(twiml, &["Gather", "Record"])
}

/// The path of the Record action (a description), where the caller speaks after the prompt.
fn record_action_of(twiml: &str) -> String {
    verb_action(twiml, &["Record"])
}

fn verb_action(twiml: &str, verbs: &[&str]) -> String {
    let doc = roxmltree::Document::parse(twiml).expect("well-formed TwiML");
    let url = doc
        .descendants()
        .filter(|n| verbs.contains(&n.tag_name().name()))
        .find_map(|n| n.attribute("action"))
        .unwrap_or_else(|| panic!("no {verbs:?} action in {twiml}"));
    let path = url
        .find("/twilio/")
        .map(|i| &url[i..])
        .expect("an action on the webhooks");
    path.to_owned()
}

fn number() -> String {
    format!("+86139{:08}", rand::thread_rng().gen_range(0..100_000_000u32))
}

/// Posts the same delivery twice at the same moment (each copy with its own idempotency token
/// when `tokens`) and returns both answers.
pub async fn twice_at_once(app: &TestApp, path: &str, params: &[(String, String)], tokens: bool) -> [Reply; 2] {
    let barrier = Barrier::new(2);
    let copy = |token: String| {
        let barrier = &barrier;
        async move {
            let headers: Vec<(&str, &str)> = if tokens {
                vec![("I-Twilio-Idempotency-Token", token.as_str())]
            } else {
                Vec::new()
            };
            barrier.wait().await;
            post_signed(app, path, params, &headers).await
        }
    };
    let (a, b) = tokio::join!(copy(random_hex(8)), copy(random_hex(8)));
    [a, b]
}

async fn recordings_of(app: &TestApp, call_sid: &str) -> i64 {
    app.count(&format!(
        "SELECT COUNT(*) FROM recordings r JOIN consultations c ON c.id = r.consultation_id WHERE c.call_sid = '{call_sid}'"
    ))
    .await
}

async fn consultations_of(app: &TestApp, call_sid: &str) -> i64 {
    app.count(&format!(
        "SELECT COUNT(*) FROM consultations WHERE call_sid = '{call_sid}'"
    ))
    .await
}

/// Press 1 (consult), 1 (the first matter), then describe: each turn sent twice at once, on
/// Twilio half the rounds with a token per copy. The copies get one answer; the consultation has
/// its description; nothing is registered twice. Counted over every round, then asserted.
async fn concurrent_copies_of_a_turn_are_handled_once(backend: Backend, line: Line) {
    let app = spawn_on(backend, line).await;
    let rounds = 2 * ROUNDS;
    let (mut differing, mut skipped_a_step, mut wrong_cases) = (0, 0, 0);
    let mut documents = Vec::new();
    for round in 0..rounds {
        let tokens = round % 2 == 1;
        let phone = Phone::new(&app, &number());
        let mut last = phone.open().await;
        for key in ["1", "1"] {
            let Some(Wait::Keys(path)) = last.wait() else { break };
            let replies = phone.report_twice_at_once(&path, Act::Press(key), tokens).await;
            if replies[1] != replies[0] {
                differing += 1;
            }
            last = replies[0].clone();
        }
        if last.asks_to_speak() {
            let wait = phone.speak_into(&last, MESSAGE).await;
            let replies = phone
                .report_twice_at_once(wait.path(), Act::Recorded(MESSAGE, 6), tokens)
                .await;
            if replies[0] != replies[1] {
                differing += 1;
            }
            if round == 0 {
                documents.extend([last.body.clone(), replies[0].body.clone()]);
            }
        } else {
            skipped_a_step += 1;
        }
        if consultations_of(&app, &phone.call_sid).await != 1 || recordings_of(&app, &phone.call_sid).await != 1 {
            wrong_cases += 1;
        }
    }
    assert_eq!(
        (differing, skipped_a_step, wrong_cases),
        (0, 0, 0),
        "of {rounds} calls ({} doubled turns): copies answered differently, the description \
         step skipped, not exactly one consultation with its description",
        rounds * 3
    );
    if line == Line::Jambonz {
        validate_documents(&documents);
    }
    app.stop().await;
}

/// An old turn — a retry of turn 1 with another key, after the call moved on — gets turn 1's
/// answer and changes nothing; the call goes on from where it is.
async fn a_stale_turn_changes_nothing(backend: Backend, line: Line) {
    let app = spawn_on(backend, line).await;
    for round in 0..ROUNDS {
        let phone = Phone::new(&app, &number());
        let turn1 = phone.open().await.wait().expect("the menu waits");
        let first = phone.report(turn1.path(), Act::Press("1")).await;
        let turn2 = first.wait().expect("the matters wait");
        let second = phone.report(turn2.path(), Act::Press("1")).await;
        let turn3 = second.wait();
        // Key 0 on turn 1 would have queued a callback and hung up; key 2 would apply.
        for key in ["0", "2", "1"] {
            let stale = phone.report(turn1.path(), Act::Press(key)).await;
            assert_eq!(stale, first, "round {round}: turn 1 is answered as it was");
        }
        let stale = phone.report(turn2.path(), Act::Press("2")).await;
        assert_eq!(stale.wait(), turn3, "round {round}");
        assert_eq!(
            consultations_of(&app, &phone.call_sid).await,
            0,
            "round {round}: nothing queued"
        );
        // The caller goes on describing: the call is still at the description.
        let described = phone.speak_into(&second, MESSAGE).await;
        phone.report(described.path(), Act::Recorded(MESSAGE, 4)).await;
        assert_eq!(recordings_of(&app, &phone.call_sid).await, 1, "round {round}");
    }
    app.stop().await;
}

/// A captured, signed turn sent again with a new I-Twilio-Idempotency-Token is the same
/// delivery: the same answer, no new event, nothing acted on twice.
async fn a_replay_with_a_fresh_token_is_the_same_delivery(backend: Backend) {
    let app = spawn_app(backend).await;
    let phone = Phone::new(&app, &number());
    let start = post_signed(&app, "/twilio/voice", &phone.params(&[]), &[]).await;
    let turn1 = action_of(start.assert_twiml());
    let human = phone.params(&[("Digits", "0")]);
    let first = post_signed(&app, &turn1, &human, &[("I-Twilio-Idempotency-Token", "first-token")]).await;
    let events = app.state.db.count_events(&phone.call_sid).await.unwrap();
    for i in 0..5 {
        let token = format!("replayed-{i}");
        let again = post_signed(&app, &turn1, &human, &[("I-Twilio-Idempotency-Token", &token)]).await;
        assert_eq!(again.assert_twiml(), first.assert_twiml());
    }
    assert_eq!(app.state.db.count_events(&phone.call_sid).await.unwrap(), events);
    assert_eq!(consultations_of(&app, &phone.call_sid).await, 1);
    app.stop().await;
}

/// The same MessageSid posted twice at once (each copy with its own token): both get the
/// ticket reply, none an empty answer, and a later retry gets it too.
async fn concurrent_copies_of_a_text_all_get_the_ticket(backend: Backend) {
    let app = spawn_app(backend).await;
    for round in 0..ROUNDS {
        let message_sid = sid("SM");
        let from = number();
        let text = pairs(&[
            ("AccountSid", crate::helpers::ACCOUNT_SID),
            ("ApiVersion", "2010-04-01"),
            ("MessageSid", &message_sid),
            ("SmsSid", &message_sid),
            ("From", &from),
            ("To", crate::helpers::HOTLINE_NUMBER),
            ("Body", "我被公司拖欠工资三个月了，想咨询怎么办"),
            ("NumMedia", "0"),
            ("NumSegments", "1"),
        ]);
        let replies = twice_at_once(&app, "/twilio/sms", &text, true).await;
        let first = replies[0].assert_twiml().to_owned();
        assert!(first.contains("<Message"), "round {round}: a reply, not {first}");
        assert!(
            first.contains("受理编号"),
            "round {round}: the reply has the ticket: {first}"
        );
        assert_eq!(replies[1].assert_twiml(), first, "round {round}: the second copy");
        let later = post_signed(&app, "/twilio/sms", &text, &[("I-Twilio-Idempotency-Token", "later")]).await;
        assert_eq!(later.assert_twiml(), first, "round {round}: a later retry");
    }
    let empty = app
        .count("SELECT COUNT(*) FROM provider_events WHERE kind = 'sms_incoming' AND response NOT LIKE '%<Message%'")
        .await;
    assert_eq!(empty, 0, "no stored answer without the reply");
    app.stop().await;
}

/// A caller put on hold comes back (the provider follows the Redirect) to the answer they
/// waited for if it is there, else to the current prompt; the call does not move.
async fn a_held_caller_comes_back_to_the_current_prompt(backend: Backend) {
    let app = spawn_app(backend).await;
    let phone = Phone::new(&app, &number());
    let start = post_signed(&app, "/twilio/voice", &phone.params(&[]), &[]).await;
    let turn1 = action_of(start.assert_twiml());
    let first = post_signed(&app, &turn1, &phone.params(&[("Digits", "1")]), &[]).await;
    let turn2 = action_of(first.assert_twiml());
    // Nothing to wait for (an unknown delivery): the current prompt, the matter list.
    let back = post_signed(&app, "/twilio/voice/resume?d=sha:0000", &phone.params(&[]), &[]).await;
    assert_eq!(action_of(back.assert_twiml()), turn2);
    assert!(back.body.contains("<Gather"), "{}", back.body);
    // The call did not move: the matter list still takes the caller's 1.
    let matter = post_signed(&app, &turn2, &phone.params(&[("Digits", "1")]), &[]).await;
    assert!(matter.assert_twiml().contains("<Record"), "{}", matter.body);
    // The delivery it was held for has its answer by now: that answer, byte for byte.
    let key: String = {
        use sqlx::Row;
        sqlx::query("SELECT dedup_key FROM provider_events WHERE subject_sid = $1 AND kind = 'voice_gather' ORDER BY received_at LIMIT 1")
            .bind(&phone.call_sid)
            .fetch_one(app.state.db.pool())
            .await
            .unwrap()
            .try_get("dedup_key")
            .unwrap()
    };
    let back = post_signed(&app, &format!("/twilio/voice/resume?d={key}"), &phone.params(&[]), &[]).await;
    assert_eq!(back.assert_twiml(), first.body);
    app.stop().await;
}

/// A status report for a callback leg without its assignment can never succeed: a 4xx naming
/// it, not 503 "please retry". The leg's own voice webhook still gets spoken TwiML.
async fn errors_a_retry_cannot_fix_are_not_503(backend: Backend) {
    let app = spawn_app(backend).await;
    let call_sid = sid("CA");
    let leg = pairs(&[
        ("AccountSid", crate::helpers::ACCOUNT_SID),
        ("CallSid", &call_sid),
        ("CallStatus", "completed"),
        ("Direction", "outbound-api"),
        ("From", crate::helpers::HOTLINE_NUMBER),
        ("To", "+8613900000001"),
    ]);
    let status = post_signed(&app, "/twilio/callback/lawyer/status", &leg, &[]).await;
    assert_eq!(status.status, 422, "{}", status.body);
    assert!(status.body.contains("assignment"), "{}", status.body);
    let again = post_signed(&app, "/twilio/callback/lawyer/status", &leg, &[]).await;
    assert_eq!(again.status, 422, "the same on a retry");
    let answered = post_signed(&app, "/twilio/callback/lawyer", &leg, &[]).await;
    answered.assert_twiml();
    // An unsigned request is still refused before anything else.
    let forged = post_raw(
        &app,
        "/twilio/callback/lawyer/status",
        "CallSid=CA1",
        &[("X-Twilio-Signature", "forged")],
        "application/x-www-form-urlencoded",
    )
    .await;
    assert_eq!(forged.status, 403);
    app.stop().await;
}

/// A spoken answer whose recognition outlasts the webhook budget (remote recognition, no
/// worker): of two copies sent at once, the owner's caller hears the fallback when its budget
/// ends, the other copy "please hold" and a redirect. Coming back, the held caller gets the
/// current prompt while the owner still works, then the owner's own answer; the handler ran once.
async fn a_copy_whose_owner_is_slow_holds_and_comes_back_for_its_answer(backend: Backend) {
    let app = spawn_app_with(
        backend,
        Options {
            whisper_remote: true,
            budget_and_queue_wait_ms: Some((600, 2_500)),
            ..Options::default()
        },
    )
    .await;
    let phone = Phone::new(&app, &number());
    let start = post_signed(&app, "/twilio/voice", &phone.params(&[]), &[]).await;
    let spoken = record_action_of(start.assert_twiml());
    let url = app
        .provider
        .add_recording(std::fs::read("tests/data/call-speech/description-0-normal.wav").unwrap());
    let answer = phone.params(&[
        ("RecordingUrl", url),
        ("RecordingSid", &sid("RE")),
        ("RecordingDuration", "3"),
    ]);
    let replies = twice_at_once(&app, &spoken, &answer, true).await;
    let held: Vec<&Reply> = replies
        .iter()
        .filter(|r| r.assert_twiml().contains("正在为您办理"))
        .collect();
    assert_eq!(
        held.len(),
        1,
        "one copy holds: {:?}",
        replies.iter().map(|r| &r.body).collect::<Vec<_>>()
    );
    let other = replies.iter().find(|r| !r.body.contains("正在为您办理")).unwrap();
    assert!(
        other.body.contains("非常抱歉"),
        "the owner's budget ran out: {}",
        other.body
    );
    let redirect = {
        let doc = roxmltree::Document::parse(&held[0].body).unwrap();
        let url = doc
            .descendants()
            .find(|n| n.tag_name().name() == "Redirect")
            .and_then(|n| n.text())
            .expect("a redirect back")
            .to_owned();
        url[url.find("/twilio/").unwrap()..].to_owned()
    };
    assert!(redirect.starts_with("/twilio/voice/resume?d="), "{redirect}");
    // Back while the owner still works: the current prompt (the main menu again).
    let back = post_signed(&app, &redirect, &phone.params(&[]), &[]).await;
    assert!(back.assert_twiml().contains("<Gather"), "{}", back.body);
    // Once the owner is done, its answer: recognition was busy, keys please.
    tokio::time::sleep(std::time::Duration::from_millis(3_000)).await;
    let back = post_signed(&app, &redirect, &phone.params(&[]), &[]).await;
    assert!(back.assert_twiml().contains("语音识别繁忙"), "{}", back.body);
    let recognitions = app
        .count(&format!(
            "SELECT COUNT(*) FROM provider_events WHERE subject_sid = '{}' AND kind = 'voice_recording'",
            phone.call_sid
        ))
        .await;
    assert_eq!(recognitions, 1, "one delivery stored, handled once");
    app.stop().await;
}

/// Two different keys for the same turn at the same moment (a replay racing the real press):
/// one is acted on, and both callers hear its answer — never the question the call has left.
async fn two_keys_on_one_turn_at_once_both_hear_the_one_acted_on(backend: Backend, line: Line) {
    let app = spawn_on(backend, line).await;
    let mut differing = 0;
    for _ in 0..ROUNDS {
        let phone = Phone::new(&app, &number());
        let turn1 = phone.open().await.wait().expect("the menu waits");
        let first = phone.report(turn1.path(), Act::Press("1")).await;
        let turn2 = first.wait().expect("the matters wait");
        let barrier = Barrier::new(2);
        let press = |key: &'static str| {
            let (barrier, turn2, phone) = (&barrier, &turn2, &phone);
            async move {
                barrier.wait().await;
                phone.report(turn2.path(), Act::Press(key)).await
            }
        };
        let (a, b) = tokio::join!(press("1"), press("2"));
        if a != b {
            differing += 1;
        }
        assert!(a.asks_to_speak(), "the matter was taken: {}", a.body);
    }
    assert_eq!(
        differing, 0,
        "of {ROUNDS} rounds, the two callers heard different things"
    );
    app.stop().await;
}

/// A phone resends a person's first text under a new MessageSid at the same moment: the first
/// opens the case, the resend is not acted on again — and is still answered, with the
/// conversation's question, never with an empty reply.
async fn a_first_text_resent_at_once_is_never_answered_with_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut empty = 0;
    for _ in 0..20 {
        let from = number();
        let text = |message_sid: String| {
            pairs(&[
                ("AccountSid", crate::helpers::ACCOUNT_SID),
                ("MessageSid", &message_sid),
                ("SmsSid", &message_sid),
                ("From", &from),
                ("To", crate::helpers::HOTLINE_NUMBER),
                ("Body", "我被拖欠工资了，怎么办"),
                ("NumMedia", "0"),
            ])
        };
        let (first, resend) = (text(sid("SM")), text(sid("SM")));
        let barrier = Barrier::new(2);
        let send = |params: &Vec<(String, String)>| {
            let (barrier, app) = (&barrier, &app);
            let params = params.clone();
            async move {
                barrier.wait().await;
                post_signed(app, "/twilio/sms", &params, &[]).await
            }
        };
        let (a, b) = tokio::join!(send(&first), send(&resend));
        empty += [a, b].iter().filter(|r| !r.assert_twiml().contains("<Message")).count();
    }
    assert_eq!(empty, 0, "replies without a message, of 40");
    let cases = app.count("SELECT COUNT(*) FROM consultations").await;
    assert_eq!(cases, 20, "one case a person");
    app.stop().await;
}
