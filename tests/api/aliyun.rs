//! Aliyun as the SMS provider beside jambonz for the calls (the mixed set-up of a mainland
//! office): texts go out through `SendSms`, signed as Aliyun's official client signs
//! (`@alicloud/pop-core`, tests/aliyun/check.js, computes the signature of the very
//! parameters the service sent); delivery reports and people's texts come as Aliyun's pushes.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::routing::post;
use serde_json::{json, Value};

use crate::backends;
use crate::helpers::{spawn_app_with, Backend, Line, Options, TestApp, ALIYUN_KEY};
use crate::provider::{ticket_from_speech, Input, Phone};

backends!(a_jambonz_call_and_aliyun_texts_work_together);

const SECRET: &str = "aliyun-push-secret-0123456789abcdef";

type Sent = Arc<Mutex<Vec<HashMap<String, String>>>>;

/// Aliyun's SendSms: records the form, answers OK with a BizId.
async fn fake_aliyun() -> (String, Sent) {
    let sent: Sent = Arc::default();
    let app = axum::Router::new()
        .route(
            "/",
            post(|State(sent): State<Sent>, body: String| async move {
                let form: HashMap<String, String> = form_urlencoded::parse(body.as_bytes()).into_owned().collect();
                let mut sent = sent.lock().unwrap();
                sent.push(form);
                axum::Json(json!({"Code": "OK", "Message": "OK", "RequestId": "8906582E", "BizId": format!("9327023040804{:05}^0", sent.len())}))
            }),
        )
        .with_state(sent.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, sent)
}

async fn wait_for(sent: &Sent, n: usize) -> Vec<HashMap<String, String>> {
    for _ in 0..100 {
        if sent.lock().unwrap().len() >= n {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    sent.lock().unwrap().clone()
}

/// The signature Aliyun's own client gives these parameters; None (with a notice) without it.
fn official_signature(form: &HashMap<String, String>) -> Option<String> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/aliyun/check.js");
    if !script
        .with_file_name("node_modules")
        .join("@alicloud/pop-core")
        .exists()
    {
        let notice = "Aliyun signature check skipped: run `npm ci --prefix tests/aliyun` (scripts/test does)";
        if std::env::var_os("CI").is_some() {
            panic!("{notice} (CI must run it)");
        }
        eprintln!("NOTICE: {notice}");
        return None;
    }
    let mut params = form.clone();
    params.remove("Signature");
    let mut child = Command::new("node")
        .arg(script)
        .args(["sign", ALIYUN_KEY.0, ALIYUN_KEY.1])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("node runs");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(&params).unwrap().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "pop-core signed");
    Some(String::from_utf8(out.stdout).unwrap().trim().to_owned())
}

async fn push(app: &TestApp, path: &str, body: &Value) -> u16 {
    app.http
        .post(app.url(&format!("{path}/{SECRET}")))
        .json(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn a_jambonz_call_and_aliyun_texts_work_together(backend: Backend) {
    let (endpoint, sent) = fake_aliyun().await;
    let app = spawn_app_with(
        backend,
        Options {
            line: Line::Jambonz,
            aliyun_sms: Some(endpoint),
            aliyun: Some((SECRET.into(), String::new())),
            ..Options::default()
        },
    )
    .await;
    // A caller on jambonz asks for a callback; the ticket goes out by Aliyun.
    let mut phone = Phone::new(&app, "+8613800138000");
    phone.call(&[Input::Keys("0")]).await;
    let ticket = ticket_from_speech(&phone.said());
    let texts = wait_for(&sent, 1).await;
    assert_eq!(texts.len(), 1, "{texts:?}");
    let text = &texts[0];
    assert_eq!(text["Action"], "SendSms");
    assert_eq!(text["PhoneNumbers"], "13800138000", "a mainland number without +86");
    assert_eq!(
        (text["SignName"].as_str(), text["TemplateCode"].as_str()),
        ("12348法律服务", "SMS_123456789")
    );
    let content: Value = serde_json::from_str(&text["TemplateParam"]).unwrap();
    let said = content["content"].as_str().unwrap();
    assert!(said.contains(&ticket), "{content}");
    assert!(!said.starts_with('【'), "Aliyun adds the signature itself: {said}");
    assert_eq!(app.provider.requests().len(), 0, "nothing through Twilio");
    if let Some(official) = official_signature(text) {
        assert_eq!(text["Signature"], official, "signed as Aliyun's own client signs");
    }

    // Aliyun reports it delivered (twice: a push is at least once).
    let report = json!([{"phone_number": "13800138000", "send_time": "2026-12-01 10:00:00", "report_time": "2026-12-01 10:00:05",
        "success": true, "err_code": "DELIVERED", "err_msg": "用户接收成功", "sms_size": "1", "biz_id": "932702304080400001^0", "out_id": ""}]);
    assert_eq!(push(&app, "/aliyun/sms/report", &report).await, 200);
    assert_eq!(push(&app, "/aliyun/sms/report", &report).await, 200);
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM sms_messages WHERE provider_sid = '932702304080400001^0' AND status = 'delivered'"
        )
        .await,
        1
    );
    assert_eq!(
        app.http
            .post(app.url("/aliyun/sms/report/guess"))
            .json(&report)
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    // A deaf person texts the hotline: the answer goes out by Aliyun too.
    let upstream = json!([{"phone_number": "13700137000", "send_time": "2026-12-01 10:01:00", "content": "你好，我想咨询工资问题",
        "sign_name": "12348法律服务", "dest_code": "1234", "sequence_id": 7001}]);
    assert_eq!(push(&app, "/aliyun/sms", &upstream).await, 200);
    // The menu is longer than one SMS: the service sends it as two parts, each a SendSms.
    let texts = wait_for(&sent, 3).await;
    assert_eq!(texts.len(), 3, "{texts:?}");
    for text in &texts[1..] {
        assert_eq!(text["PhoneNumbers"], "13700137000");
        if let Some(official) = official_signature(text) {
            assert_eq!(text["Signature"], official);
        }
    }

    // Ten copies of the next text at once (pushes are at least once): all acknowledged, one
    // acted on.
    let next = json!([{"phone_number": "13700137000", "send_time": "2026-12-01 10:02:00", "content": "1",
        "sign_name": "12348法律服务", "dest_code": "1234", "sequence_id": 7002}]);
    let copies = futures_util::future::join_all((0..10).map(|_| push(&app, "/aliyun/sms", &next))).await;
    assert!(copies.iter().all(|s| *s == 200), "{copies:?}");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM sms_messages WHERE direction = 'in'")
            .await,
        2
    );
    app.stop().await;
}
