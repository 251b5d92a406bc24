//! Health, readiness and metrics.

use crate::backends;
use crate::helpers::{spawn_app, Backend};
use crate::provider::{post_signed, Phone};

backends!(health_readiness_and_metrics);

async fn health_readiness_and_metrics(backend: Backend) {
    let app = spawn_app(backend).await;
    let health = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);

    let ready = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let details: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(details["ready"], true);
    assert_eq!(details["database"]["ok"], true);
    assert_eq!(details["redis"]["ok"], true);

    // Before any webhook: every metric is there, described, with the build's version.
    let text = app.get_text("/metrics", None).await;
    for name in [
        "hotline_webhooks_total",
        "hotline_webhooks_rejected_total",
        "hotline_signature_failures_total",
        "hotline_speech_answers_total",
        "hotline_speech_answer_seconds",
        "hotline_build_info",
    ] {
        assert!(text.contains(&format!("# HELP {name} ")), "{name}: {text}");
        assert!(text.contains(&format!("# TYPE {name} ")), "{name}: {text}");
    }
    assert!(
        text.contains(&format!(
            "hotline_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        )),
        "{text}"
    );
    assert!(
        text.contains("hotline_webhooks_total{kind=\"sms_incoming\",outcome=\"ok\"}"),
        "{text}"
    );

    let phone = Phone::new(&app, "+8613800138000");
    post_signed(&app, "/twilio/voice", &phone.params(&[]), &[])
        .await
        .assert_twiml();
    let metrics = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert!(metrics.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = metrics.text().await.unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("hotline_webhooks_total{") && l.contains("kind=\"voice_incoming\"")),
        "{text}"
    );
    app.stop().await;
}
