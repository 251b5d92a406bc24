//! The REST client's requests against an OpenAPI mock (Stoplight Prism) of Twilio's own
//! published API description (../shared/data/twilio): a request Twilio would refuse, the mock
//! refuses too (422 for a missing field, 401 without Basic auth).
//!
//! Needs Prism (`npm ci --prefix tests/openapi`) and the shared API description; without them
//! the test says so and skips, except under CI, where skipping would hide a regression.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use hotline::providers::twilio::{CallRequest, RestClient, SmsRequest, Twilio, Validator};
use hotline::providers::{Action, Leg, Messaging, OutboundCall, OutboundSms, ProviderError, Telephony};
use secrecy::SecretString;

const SID: &str = "AC00000000000000000000000000000001";

struct Prism(Child);

impl Drop for Prism {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn prerequisites() -> Option<(PathBuf, PathBuf)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let spec = std::env::var_os("HOTLINE_TWILIO_OPENAPI")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared/data/twilio/twilio_api_v2010.patched.json"));
    let prism = root.join("tests/openapi/node_modules/.bin/prism");
    let missing: Vec<String> = [
        (&spec, "Twilio's API description"),
        (&prism, "Prism (npm ci --prefix tests/openapi)"),
    ]
    .iter()
    .filter(|(p, _)| !p.exists())
    .map(|(p, what)| format!("{what} at {}", p.display()))
    .collect();
    if missing.is_empty() {
        return Some((prism, spec));
    }
    let notice = format!("openapi test skipped: missing {}", missing.join(", "));
    if std::env::var_os("CI").is_some() {
        panic!("{notice} (CI must run it)");
    }
    eprintln!("NOTICE: {notice}");
    None
}

async fn start_prism(prism: &PathBuf, spec: &PathBuf) -> (Prism, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(prism)
        .args(["mock", "-h", "127.0.0.1", "-p", &port.to_string()])
        .arg(spec)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("prism starts");
    let guard = Prism(child);
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    for _ in 0..240 {
        if http
            .get(format!("{base}/2010-04-01/Accounts.json"))
            .send()
            .await
            .is_ok()
        {
            return (guard, base);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("prism did not start within 60 s");
}

#[tokio::test]
async fn rest_requests_are_what_twilio_accepts() {
    let Some((prism, spec)) = prerequisites() else {
        return;
    };
    let (_guard, base) = start_prism(&prism, &spec).await;
    let client = RestClient::new(
        base.parse().unwrap(),
        SID,
        SecretString::from("test-token"),
        Duration::from_secs(20),
    );

    let call = client
        .create_call(&CallRequest {
            to: "+8613800138000".into(),
            from: "+862912348".into(),
            url: "https://hotline.example.org/twilio/voice/callback".into(),
            status_callback: Some("https://hotline.example.org/twilio/voice/status".into()),
            status_callback_events: vec![
                "initiated".into(),
                "ringing".into(),
                "answered".into(),
                "completed".into(),
            ],
            timeout_secs: Some(30),
            machine_detection: Some("Enable".into()),
        })
        .await;
    assert!(call.is_ok(), "create call refused: {call:?}");

    // Exactly the requests the service makes through the provider port: a callback's lawyer
    // leg, its caller leg (with answering-machine detection), the update that tells a waiting
    // lawyer the caller did not answer, an SMS, and recording retention's delete.
    let twilio = Twilio {
        rest: client.clone(),
        base: "https://hotline.example.org".parse().unwrap(),
        voice: "Polly.Zhiyu-Neural".into(),
        language: "cmn-CN".into(),
        validator: Validator::new("unused: this test sends, it receives nothing"),
    };
    let assignment = "0b7c1f4e-2a6d-4c3e-9f1a-5d2b8e7c6a90";
    for (leg, to) in [(Leg::Lawyer, "+8613800000001"), (Leg::Caller, "+8613900000009")] {
        let call = OutboundCall {
            to,
            from: "+862912348",
            leg,
            assignment,
            ring_secs: 30,
        };
        let placed = twilio.place_call(&call).await;
        assert!(placed.is_ok(), "{leg:?} leg refused: {placed:?}");
    }
    let told = [
        Action::Say {
            text: "来电人没有接听".into(),
            key: None,
            speed_percent: 100,
        },
        Action::Hangup,
    ];
    let update = twilio.update_call("CA0123456789abcdef0123456789abcdef", &told).await;
    assert!(update.is_ok(), "call update refused: {update:?}");

    let sms = twilio
        .send_sms(&OutboundSms {
            to: "+8613800138000",
            from: "+862912348",
            body: "【12348】您的法律咨询已登记，受理编号12345678。",
        })
        .await;
    assert!(sms.is_ok(), "send SMS refused: {sms:?}");

    let recording = "https://api.twilio.com/2010-04-01/Accounts/AC00000000000000000000000000000001/Recordings/RE0123456789abcdef0123456789abcdef";
    let deleted = twilio.delete_recording(recording).await;
    assert!(
        matches!(deleted, Ok(hotline::providers::Deleted::Gone)),
        "delete recording refused: {deleted:?}"
    );
    let malformed = client.delete_recording("RE-not-a-recording-sid").await;
    assert!(malformed.is_err(), "the mock checks the recording SID: {malformed:?}");

    // The mock does refuse what Twilio would refuse, so the two passes above mean something.
    let http = reqwest::Client::new();
    let url = format!("{base}/2010-04-01/Accounts/{SID}/Calls.json");
    let missing_to = http
        .post(&url)
        .basic_auth(SID, Some("test-token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("From=%2B862912348&Url=https%3A%2F%2Fh.example.org%2F")
        .send()
        .await
        .unwrap();
    assert_eq!(missing_to.status(), 422);
    let unauthenticated = http
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("To=%2B8613800138000&From=%2B862912348&Url=https%3A%2F%2Fh.example.org%2F")
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), 401);

    // And our client reports a refusal as one: an account SID outside Twilio's pattern.
    let refused = RestClient::new(
        base.parse().unwrap(),
        &format!("AC{}", "Z".repeat(32)),
        SecretString::from("test-token"),
        Duration::from_secs(20),
    )
    .send_sms(&SmsRequest {
        to: "+8613800138000".into(),
        from: "+862912348".into(),
        body: "x".into(),
        status_callback: None,
    })
    .await;
    assert!(
        matches!(refused, Err(ProviderError::Refused { status: 422, .. })),
        "{refused:?}"
    );
}
