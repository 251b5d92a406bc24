//! A randomised check of the whole pipeline: random calls are delivered once, in order, to one
//! number and again to another with most turns duplicated (two copies at once, with and
//! without tokens), with stale copies of earlier turns carrying other keys and late retries of
//! earlier deliveries mixed in. The invariants: the caller hears the same thing, the call ends in the
//! same state, and what it registered (one consultation at most, its description) is the same.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::backends;
use crate::exactly_once::twice_at_once;
use crate::helpers::{random_hex, spawn_app, Backend, TestApp};
use crate::provider::{post_signed, sid, Phone, Reply};

backends!(interleaved_duplicate_stale_and_late_deliveries_change_nothing);

const CALLS: usize = 24;
const KEYS: [&str; 8] = ["1", "2", "3", "0", "*", "9", "5", "#"];

/// One delivery of a call: where it goes and what it says.
#[derive(Clone)]
struct Delivery {
    path: String,
    extra: Vec<(String, String)>,
}

/// What the caller hears, without what differs from call to call (ticket and phone digits,
/// the place in line and the wait: the reference call is ahead in the same queue).
fn heard(twiml: &str) -> String {
    twiml
        .split("<Say")
        .filter(|say| !say.contains("您前面还有") && !say.contains("您是下一位") && !say.contains("预计等待"))
        .collect::<Vec<_>>()
        .join("<Say")
        .chars()
        .filter(|c| !"零一二三四五六七八九十幺0123456789、，".contains(*c))
        .collect()
}

fn next_input(twiml: &str, rng: &mut StdRng) -> Option<Delivery> {
    let doc = roxmltree::Document::parse(twiml).expect("TwiML");
    let action = |verb: &str| {
        doc.descendants()
            .find(|n| n.tag_name().name() == verb)
            .and_then(|n| n.attribute("action"))
            .and_then(|url| url.find("/twilio/").map(|i| url[i..].to_owned()))
    };
    let keys = action("Gather");
    let record = action("Record");
    match (keys, record) {
        (_, Some(path)) if rng.gen_bool(0.7) => Some(Delivery {
            path,
            extra: vec![
                (
                    "RecordingUrl".into(),
                    "https://api.twilio.com/2010-04-01/Recordings/RE1".into(),
                ),
                ("RecordingSid".into(), sid("RE")),
                ("RecordingDuration".into(), rng.gen_range(2..30).to_string()),
            ],
        }),
        (Some(path), _) => Some(Delivery {
            path,
            extra: vec![("Digits".into(), KEYS[rng.gen_range(0..KEYS.len())].into())],
        }),
        (None, Some(path)) => Some(Delivery {
            path,
            extra: vec![("Digits".into(), "hangup".into())],
        }),
        (None, None) => None,
    }
}

fn params(phone: &Phone<'_>, d: &Delivery) -> Vec<(String, String)> {
    let extra: Vec<(&str, &str)> = d.extra.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    phone.params(&extra)
}

/// The call's end: its IVR state, and what it registered.
async fn outcome(app: &TestApp, call_sid: &str) -> (serde_json::Value, i64, i64) {
    let state = app
        .state
        .db
        .ivr_state("twilio", call_sid)
        .await
        .unwrap()
        .map(|b| serde_json::from_slice(&b).unwrap())
        .unwrap_or_default();
    let consultations = app
        .count(&format!(
            "SELECT COUNT(*) FROM consultations WHERE call_sid = '{call_sid}'"
        ))
        .await;
    let recordings = app
        .count(&format!(
            "SELECT COUNT(*) FROM recordings r JOIN consultations c ON c.id = r.consultation_id \
             WHERE c.call_sid = '{call_sid}'"
        ))
        .await;
    (state, consultations, recordings)
}

fn number(rng: &mut StdRng) -> String {
    format!("+86137{:08}", rng.gen_range(0..100_000_000u32))
}

async fn interleaved_duplicate_stale_and_late_deliveries_change_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let seed: u64 = std::env::var("HOTLINE_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| u64::from_str_radix(&random_hex(4), 16).unwrap());
    eprintln!("interleaved deliveries: seed {seed} (HOTLINE_TEST_SEED repeats it)");
    let mut rng = StdRng::seed_from_u64(seed);
    let (mut registered, mut turns) = (0, 0);
    for call in 0..CALLS {
        // Once, in order: the script and what was heard.
        let reference = Phone::new(&app, &number(&mut rng));
        let first = post_signed(&app, "/twilio/voice", &reference.params(&[]), &[]).await;
        let mut answers = vec![heard(first.assert_twiml())];
        let mut script = Vec::new();
        let mut twiml = first.body.clone();
        while script.len() < 6 {
            let Some(d) = next_input(&twiml, &mut rng) else { break };
            twiml = post_signed(&app, &d.path, &params(&reference, &d), &[]).await.body;
            answers.push(heard(&twiml));
            script.push(d);
        }
        let expected = outcome(&app, &reference.call_sid).await;
        registered += expected.1;
        turns += script.len();

        // Again, from another number, with copies, stale turns and late retries.
        let chaos = Phone::new(&app, &number(&mut rng));
        let first = post_signed(&app, "/twilio/voice", &chaos.params(&[]), &[]).await;
        assert_eq!(
            heard(first.assert_twiml()),
            answers[0],
            "call {call} (seed {seed}): the greeting"
        );
        let mut sent: Vec<Delivery> = Vec::new();
        for (i, d) in script.iter().enumerate() {
            let p = params(&chaos, d);
            let replies: Vec<Reply> = if rng.gen_bool(0.75) {
                twice_at_once(&app, &d.path, &p, rng.gen_bool(0.5)).await.into()
            } else {
                vec![post_signed(&app, &d.path, &p, &[]).await]
            };
            for r in &replies {
                assert_eq!(
                    heard(r.assert_twiml()),
                    answers[i + 1],
                    "call {call} step {i} (seed {seed}): every copy hears the once-delivered answer"
                );
            }
            sent.push(d.clone());
            // A stale copy of an earlier turn with another key, and a late retry of an
            // earlier delivery: neither changes the call.
            if rng.gen_bool(0.6) {
                let old = &sent[rng.gen_range(0..sent.len())];
                if old.path.contains("/menu") {
                    let other = Delivery {
                        path: old.path.clone(),
                        extra: vec![("Digits".into(), KEYS[rng.gen_range(0..KEYS.len())].into())],
                    };
                    post_signed(&app, &other.path, &params(&chaos, &other), &[])
                        .await
                        .assert_twiml();
                }
            }
            if rng.gen_bool(0.6) {
                let old = &sent[rng.gen_range(0..sent.len())];
                post_signed(&app, &old.path, &params(&chaos, old), &[])
                    .await
                    .assert_twiml();
            }
        }
        let got = outcome(&app, &chaos.call_sid).await;
        assert_eq!(got.1, expected.1, "call {call} (seed {seed}): consultations");
        assert!(got.1 <= 1, "call {call}: one consultation per call at most");
        assert_eq!(got.2, expected.2, "call {call} (seed {seed}): descriptions kept");
        assert_eq!(
            got.0["node"], expected.0["node"],
            "call {call} (seed {seed}): where the call ended"
        );
        assert_eq!(
            got.0["answers"], expected.0["answers"],
            "call {call} (seed {seed}): what the caller answered"
        );
    }
    eprintln!("{CALLS} calls, {turns} turns, {registered} consultations registered");
    assert!(
        registered > 0,
        "no random call registered anything: the check would be vacuous"
    );
    app.stop().await;
}
