//! Signatures, malformed requests and duplicate deliveries.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::backends;
use crate::helpers::{spawn_app, spawn_app_with, Backend, Options};
use crate::provider::{form_body, post_raw, post_signed, twilio_signature, Phone};

backends!(
    forged_or_missing_signatures_get_403_and_store_nothing,
    signature_is_over_the_public_url_not_the_host,
    malformed_forms_get_a_clear_4xx,
    the_same_delivery_twice_changes_nothing,
    the_same_delivery_with_an_idempotency_token_changes_nothing,
    a_json_webhook_signed_by_twilios_library_is_accepted,
);

async fn forged_or_missing_signatures_get_403_and_store_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let phone = Phone::new(&app, "+8613800138000");
    let params = phone.params(&[]);
    let body = form_body(&params);
    let form = "application/x-www-form-urlencoded";

    let wrong_token = twilio_signature("not-the-token", &format!("{}/twilio/voice", app.public_url), &params);
    let mut tampered = params.clone();
    tampered.push(("Digits".into(), "1".into()));
    let right_for_other_params =
        twilio_signature(&app.auth_token, &format!("{}/twilio/voice", app.public_url), &tampered);
    for (what, headers) in [
        ("no signature", vec![]),
        ("wrong token", vec![("X-Twilio-Signature", wrong_token.as_str())]),
        (
            "signed other params",
            vec![("X-Twilio-Signature", right_for_other_params.as_str())],
        ),
        ("garbage", vec![("X-Twilio-Signature", "%%%")]),
    ] {
        let reply = post_raw(&app, "/twilio/voice", &body, &headers, form).await;
        assert_eq!(reply.status, 403, "{what}: {}", reply.body);
    }
    for path in [
        "/twilio/voice/menu?turn=1",
        "/twilio/voice/status",
        "/twilio/sms",
        "/twilio/sms/status",
        "/twilio/voice/fallback",
    ] {
        let reply = post_raw(&app, path, &body, &[], form).await;
        assert_eq!(reply.status, 403, "{path}");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM provider_events").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM calls").await, 0);
    app.stop().await;
}

async fn signature_is_over_the_public_url_not_the_host(backend: Backend) {
    // Behind a proxy: the provider calls https://hotline.example.org/..., we listen on 127.0.0.1.
    let app = spawn_app_with(
        backend,
        Options {
            public_url: Some("https://hotline.example.org".into()),
            ..Options::default()
        },
    )
    .await;
    let phone = Phone::new(&app, "+8613800138000");
    let reply = post_signed(&app, "/twilio/voice", &phone.params(&[]), &[]).await;
    let xml = reply.assert_twiml();
    assert!(
        xml.contains("https://hotline.example.org/twilio/voice/menu?turn=1"),
        "{xml}"
    );

    // Signed over the local address instead: refused.
    let local = format!("http://{}/twilio/voice", app.addr);
    let sig = twilio_signature(&app.auth_token, &local, &phone.params(&[]));
    let reply = post_raw(
        &app,
        "/twilio/voice",
        &form_body(&phone.params(&[])),
        &[("X-Twilio-Signature", &sig)],
        "application/x-www-form-urlencoded",
    )
    .await;
    assert_eq!(reply.status, 403);
    app.stop().await;
}

async fn malformed_forms_get_a_clear_4xx(backend: Backend) {
    let app = spawn_app(backend).await;
    let signed = |body: &str, path: &str| {
        // Sign what the lenient decoder sees, as a provider bug would still sign correctly.
        let params: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes()).into_owned().collect();
        twilio_signature(&app.auth_token, &format!("{}{path}", app.public_url), &params)
    };
    let form = "application/x-www-form-urlencoded";
    let cases = [
        ("/twilio/voice", "From=%2B8613800138000", form, 400, "CallSid"),
        ("/twilio/voice", "CallSid=CA1&From=%FF%FE", form, 400, "UTF-8"),
        ("/twilio/voice", "CallSid=CA%3Cx%3E", form, 400, "CallSid"),
        (
            "/twilio/voice/menu?turn=1",
            "CallSid=CA1&Digits=abc",
            form,
            400,
            "Digits",
        ),
        ("/twilio/voice/status", "CallSid=CA1", form, 400, "CallStatus"),
        ("/twilio/sms", "MessageSid=SM1&Body=x", form, 400, "From"),
        // A media type that only begins like the form's is not the form.
        (
            "/twilio/voice",
            "CallSid=CA1&From=%2B8613800138000",
            "application/x-www-form-urlencoded-evil",
            415,
            "x-www-form-urlencoded",
        ),
    ];
    for (path, body, content_type, status, mentions) in cases {
        let sig = signed(body, path);
        let reply = post_raw(&app, path, body, &[("X-Twilio-Signature", &sig)], content_type).await;
        assert_eq!(reply.status, status, "{path} {body}: {}", reply.body);
        assert!(
            reply.body.contains(mentions),
            "{path} {body}: message {:?} should mention {mentions}",
            reply.body
        );
    }
    // Oversized bodies are refused before they are read, and counted.
    // Each read on a new connection: the refused upload's connection is closed by the server,
    // and a pooled client could pick it up.
    let too_large = || async {
        let text = reqwest::get(app.url("/metrics")).await.unwrap().text().await.unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix("hotline_webhooks_rejected_total{status=\"413\"} "))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .expect("the 413 counter is registered")
    };
    let before = too_large().await;
    let huge = format!("CallSid=CA1&Body={}", "x".repeat(100 * 1024));
    let reply = post_raw(&app, "/twilio/sms", &huge, &[("X-Twilio-Signature", "x")], form).await;
    assert_eq!(reply.status, 413);
    assert!(too_large().await >= before + 1.0, "the refusal is counted");
    // The service is still up.
    // (On a new connection: the refused upload's connection is closed by the server.)
    let fresh = reqwest::Client::new();
    assert_eq!(fresh.get(app.url("/healthz")).send().await.unwrap().status(), 200);
    app.stop().await;
}

async fn the_same_delivery_twice_changes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let phone = Phone::new(&app, "+8613800138000");
    let first = post_signed(&app, "/twilio/voice", &phone.params(&[]), &[]).await;
    let again = post_signed(&app, "/twilio/voice", &phone.params(&[]), &[]).await;
    assert_eq!(first.assert_twiml(), again.assert_twiml());

    let choose = phone.params(&[("Digits", "0")]);
    let first = post_signed(&app, "/twilio/voice/menu?turn=1", &choose, &[]).await;
    // The provider retries; meanwhile the Redis copy of the answer has expired or been lost.
    let remembered: Vec<String> = app
        .state
        .kv
        .run(redis::cmd("KEYS").arg(app.state.kv.key("dedup", "*")))
        .await
        .unwrap();
    assert!(!remembered.is_empty());
    let _: i64 = app.state.kv.run(redis::cmd("DEL").arg(&remembered)).await.unwrap();
    let again = post_signed(&app, "/twilio/voice/menu?turn=1", &choose, &[]).await;
    assert_eq!(first.assert_twiml(), again.assert_twiml(), "the same ticket both times");

    assert_eq!(app.count("SELECT COUNT(*) FROM calls").await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM callers").await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM consultations").await, 1);
    assert_eq!(app.state.db.count_events(&phone.call_sid).await.unwrap(), 2);
    assert_eq!(app.provider.wait_for(1).await.len(), 1, "one ticket text");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(app.provider.requests().len(), 1, "and no second one");
    app.stop().await;
}

async fn the_same_delivery_with_an_idempotency_token_changes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let phone = Phone::new(&app, "+8613800138000");
    post_signed(&app, "/twilio/voice", &phone.params(&[]), &[])
        .await
        .assert_twiml();
    let choose = phone.params(&[("Digits", "0")]);
    let token = [("I-Twilio-Idempotency-Token", "5f0a1c1e-retry-token")];
    let first = post_signed(&app, "/twilio/voice/menu?turn=1", &choose, &token).await;
    let again = post_signed(&app, "/twilio/voice/menu?turn=1", &choose, &token).await;
    assert_eq!(first.assert_twiml(), again.assert_twiml());
    assert_eq!(app.count("SELECT COUNT(*) FROM consultations").await, 1);
    assert_eq!(app.state.db.count_events(&phone.call_sid).await.unwrap(), 2);
    app.stop().await;
}

/// Twilio's own library's `bodySHA256` URL and signature for a JSON `body` posted to `url`;
/// None (with a notice) without the library.
fn twilio_json_signature(token: &str, url: &str, body: &str) -> Option<(String, String)> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/twilio/check.js");
    if !script.with_file_name("node_modules").join("twilio").exists() {
        let notice = "Twilio JSON signature check skipped: run `npm ci --prefix tests/twilio` (scripts/test does)";
        if std::env::var_os("CI").is_some() {
            panic!("{notice} (CI must run it)");
        }
        eprintln!("NOTICE: {notice}");
        return None;
    }
    let mut child = Command::new("node")
        .arg(script)
        .args(["sign-json", token, url])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("node runs");
    use std::io::Write;
    child.stdin.take().unwrap().write_all(body.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "Twilio's library signs");
    let signed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    Some((
        signed["url"].as_str().unwrap().to_owned(),
        signed["signature"].as_str().unwrap().to_owned(),
    ))
}

/// A webhook with a JSON body, signed as Twilio signs those (the body's SHA-256 in the URL's
/// `bodySHA256`, the URL alone signed), is a delivery like a form; a changed body or a JSON
/// body without `bodySHA256` is forged.
async fn a_json_webhook_signed_by_twilios_library_is_accepted(backend: Backend) {
    let app = spawn_app(backend).await;
    let phone = Phone::new(&app, "+8613800138000");
    let fields: serde_json::Map<String, serde_json::Value> = phone
        .params(&[])
        .into_iter()
        .map(|(k, v)| (k, serde_json::Value::String(v)))
        .collect();
    let body = serde_json::Value::Object(fields).to_string();
    let Some((url, signature)) =
        twilio_json_signature(&app.auth_token, &format!("{}/twilio/voice", app.public_url), &body)
    else {
        app.stop().await;
        return;
    };
    let path = url.strip_prefix(&app.public_url).unwrap().to_owned();
    let json = "application/json";
    let reply = post_raw(&app, &path, &body, &[("X-Twilio-Signature", &signature)], json).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.assert_twiml().contains("法律咨询"), "the menu: {}", reply.body);
    assert_eq!(app.count("SELECT COUNT(*) FROM calls").await, 1);

    let changed = body.replace("13800138000", "13800138001");
    let forged = post_raw(&app, &path, &changed, &[("X-Twilio-Signature", &signature)], json).await;
    assert_eq!(forged.status, 403, "another body: {}", forged.body);
    // Signed as a form would be, without bodySHA256: the JSON body is not covered.
    let form_signature = twilio_signature(
        &app.auth_token,
        &format!("{}/twilio/voice", app.public_url),
        &phone.params(&[]),
    );
    let unsigned_body = post_raw(
        &app,
        "/twilio/voice",
        &body,
        &[("X-Twilio-Signature", &form_signature)],
        json,
    )
    .await;
    assert_eq!(unsigned_body.status, 403, "{}", unsigned_body.body);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM calls").await,
        1,
        "nothing stored for them"
    );
    app.stop().await;
}
