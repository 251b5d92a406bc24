//! The first SMS path: a text opens a consultation and gets its ticket; later texts join it.

use crate::backends;
use crate::helpers::{spawn_app, Backend, ACCOUNT_SID, HOTLINE_NUMBER};
use crate::provider::{pairs, post_signed, sid};

backends!(texts_open_and_join_a_consultation, delivery_reports_update_messages);

fn sms(message_sid: &str, from: &str, body: &str) -> Vec<(String, String)> {
    pairs(&[
        ("AccountSid", ACCOUNT_SID),
        ("MessageSid", message_sid),
        ("SmsSid", message_sid),
        ("From", from),
        ("To", HOTLINE_NUMBER),
        ("Body", body),
        ("NumSegments", "1"),
        ("ApiVersion", "2010-04-01"),
    ])
}

async fn texts_open_and_join_a_consultation(backend: Backend) {
    let app = spawn_app(backend).await;
    let first = sid("SM");
    let reply = post_signed(
        &app,
        "/twilio/sms",
        &sms(&first, "+8613700137000", "老板拖欠工资三个月"),
        &[],
    )
    .await;
    let xml = reply.assert_twiml().to_owned();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let message = doc
        .descendants()
        .find(|n| n.has_tag_name("Message"))
        .expect("a reply text")
        .text()
        .unwrap();
    assert!(message.contains("受理编号"), "{message}");
    let ticket: String = message.chars().filter(char::is_ascii_digit).collect();
    let consultation = app.consultation(&ticket[ticket.len() - 8..]).await;
    assert_eq!(consultation.channel, "sms");

    // The same delivery again: same answer, nothing new stored.
    let again = post_signed(
        &app,
        "/twilio/sms",
        &sms(&first, "+8613700137000", "老板拖欠工资三个月"),
        &[],
    )
    .await;
    assert_eq!(again.body, xml);
    // A second text joins the thread quietly.
    let second = post_signed(
        &app,
        "/twilio/sms",
        &sms(&sid("SM"), "+8613700137000", "公司在西安"),
        &[],
    )
    .await;
    assert!(second.assert_twiml().contains("<Response/>"), "{}", second.body);

    let thread = app.state.db.messages_of(&consultation.id).await.unwrap();
    let bodies: Vec<&str> = thread.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies, ["老板拖欠工资三个月", "公司在西安"]);
    assert_eq!(app.count("SELECT COUNT(*) FROM consultations").await, 1);
    // The text is stored encrypted.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM sms_messages WHERE body_enc LIKE '%工资%'")
            .await,
        0
    );
    app.stop().await;
}

async fn delivery_reports_update_messages(backend: Backend) {
    let app = spawn_app(backend).await;
    // A caller asks for a callback, which texts the ticket out.
    let mut phone = crate::provider::Phone::new(&app, "+8613800138000");
    phone.call(&[crate::provider::Input::Keys("0")]).await;
    app.provider.wait_for(1).await;
    let message_sid = loop {
        let sid: Option<String> = {
            use sqlx::Row;
            sqlx::query("SELECT provider_sid FROM sms_messages WHERE direction = 'out'")
                .fetch_optional(app.state.db.pool())
                .await
                .unwrap()
                .and_then(|r| r.try_get("provider_sid").ok())
                .flatten()
        };
        if let Some(sid) = sid {
            break sid;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let report = |status: &str| {
        pairs(&[
            ("AccountSid", ACCOUNT_SID),
            ("MessageSid", &message_sid),
            ("MessageStatus", status),
            ("To", "+8613800138000"),
        ])
    };
    for status in ["sent", "delivered", "sent"] {
        let reply = post_signed(&app, "/twilio/sms/status", &report(status), &[]).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    let stored = app.state.db.message_by_sid(&message_sid).await.unwrap().unwrap();
    assert_eq!(stored.status, "delivered", "a late 'sent' does not undo 'delivered'");
    app.stop().await;
}
