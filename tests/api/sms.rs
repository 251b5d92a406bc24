//! SMS for deaf and speech-impaired users: a text opens a consultation and gets its ticket and
//! the menu; later texts join it; the whole apply flow by text; a lawyer's reply and its
//! delivery; opt-out; rate limit; duplicates.

use crate::backends;
use crate::helpers::{spawn_app, spawn_app_with, Backend, Options, ACCOUNT_SID, HOTLINE_NUMBER};
use crate::provider::{pairs, post_signed, sid};

backends!(
    texts_open_and_join_a_consultation,
    delivery_reports_update_messages,
    a_deaf_user_applies_for_legal_aid_by_text,
    a_lawyer_replies_and_the_delivery_is_tracked,
    stop_ends_automatic_texts_but_not_the_lawyers,
    a_flood_is_stored_but_not_answered,
    answering_the_menus_questions_is_never_a_flood,
    the_services_answers_are_in_the_thread_with_their_delivery,
    the_same_text_twice_is_acted_on_once,
    aliyun_pushes_feed_the_same_conversation,
    a_lawyer_replies_through_the_json_api,
    a_text_being_retried_at_shutdown_is_still_sent,
    a_text_a_stopped_process_never_sent_is_sent_once_later,
);

async fn a_lawyer_replies_through_the_json_api(backend: Backend) {
    let app = spawn_app(backend).await;
    let first = text(&app, "+8613700137010", "我被车撞了，对方不赔").await.join("");
    let ticket = ticket_in(&first);
    let api = |path: &str| app.url(&format!("/api/v1{path}"));
    let token = app.staff("admin", hotline::domain::Role::Admin, None).await;
    let auth = format!("Bearer {token}");
    // Without the token: refused, in the one error shape.
    let refused = app
        .http
        .get(api(&format!("/consultations/{ticket}/messages")))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let error: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(error["error"]["code"], "unauthorized");
    // The segment count before sending.
    let reply = "您好，我是值班律师。交通事故的赔偿，先要有交警出具的事故认定书。请把认定书和医院的病历拍照发给我，我帮您看看怎么索赔。对方不赔的话，可以起诉。";
    let counted: serde_json::Value = app
        .http
        .post(api("/sms/segments"))
        .header("authorization", &auth)
        .json(&serde_json::json!({ "text": reply }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(counted["encoding"], "ucs2");
    assert_eq!(counted["parts"], 2);
    // The reply itself.
    let sent = app
        .http
        .post(api(&format!("/consultations/{ticket}/messages")))
        .header("authorization", &auth)
        .json(&serde_json::json!({ "text": reply }))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 201);
    let sent: serde_json::Value = sent.json().await.unwrap();
    assert_eq!(sent["parts"], counted["parts"]);
    let requests = app.provider.wait_for(2).await;
    assert!(requests.iter().all(|r| r.get("To") == Some("+8613700137010")));
    // The thread: the texter's message and both parts, with their delivery states.
    let thread: serde_json::Value = app
        .http
        .get(api(&format!("/consultations/{ticket}/messages")))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let messages = thread.as_array().unwrap();
    // The texter's message, the service's answer (two parts), the lawyer's two parts.
    assert_eq!(messages.len(), 5, "{thread}");
    assert!(
        messages[3]["body"].as_str().unwrap().contains("我是值班律师"),
        "{thread}"
    );
    assert_eq!(
        (messages[0]["direction"].as_str(), messages[0]["status"].as_str()),
        (Some("in"), Some("received"))
    );
    assert!(messages[1]["body"].as_str().unwrap().starts_with("【12348】(1/2)"));
    assert_eq!(messages[1]["status"], "queued", "accepted by the provider");
    // Bad input: a clear error.
    let empty = app
        .http
        .post(api(&format!("/consultations/{ticket}/messages")))
        .header("authorization", &auth)
        .json(&serde_json::json!({ "text": " " }))
        .send()
        .await
        .unwrap();
    assert_eq!(empty.status(), 422);
    let unknown = app
        .http
        .get(api("/consultations/99999999/messages"))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    app.stop().await;
}

const ALIYUN_SECRET: &str = "5f2b9c1d7e3a4b6c8d0e1f2a3b4c5d6e";

async fn aliyun_push(app: &crate::helpers::TestApp, secret: &str, body: &str) -> (u16, String) {
    let resp = app
        .http
        .post(app.url(&format!("/aliyun/sms/{secret}")))
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

async fn aliyun_pushes_feed_the_same_conversation(backend: Backend) {
    let app = spawn_app_with(
        backend,
        Options {
            aliyun: Some((ALIYUN_SECRET.into(), String::new())),
            ..Options::default()
        },
    )
    .await;
    let push = |seq: i64, content: &str| {
        format!(
            r#"[{{"phone_number":"13700137009","send_time":"2026-11-29 10:00:00","content":"{content}","sign_name":"12348","dest_code":"1234","sequence_id":{seq}}}]"#
        )
    };
    // A wrong secret: as if there were no such route.
    assert_eq!(aliyun_push(&app, "guess", &push(1, "你好")).await.0, 404);
    let (status, body) = aliyun_push(&app, ALIYUN_SECRET, &push(1001, "老板拖欠工资")).await;
    assert_eq!((status, body.as_str()), (200, r#"{"code":0,"msg":"接收成功"}"#));
    // The answer (ticket and menu) goes out through the REST API, to the sender, in parts.
    let sent = app.provider.wait_for(1).await;
    assert_eq!(sent[0].get("To"), Some("+8613700137009"));
    let first: String = sent.iter().filter_map(|r| r.get("Body")).collect();
    assert!(first.contains("受理编号") && first.contains("法律咨询回复1"), "{first}");
    let before = app.provider.requests().len();
    // Aliyun delivers the same push again: nothing new.
    assert_eq!(
        aliyun_push(&app, ALIYUN_SECRET, &push(1001, "老板拖欠工资")).await.0,
        200
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(app.provider.requests().len(), before);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM sms_messages WHERE direction = 'in'")
            .await,
        1
    );
    // The menu works the same: 3 → progress.
    assert_eq!(aliyun_push(&app, ALIYUN_SECRET, &push(1002, "3")).await.0, 200);
    let after = app.provider.wait_for(before + 1).await;
    let progress: String = after[before..].iter().filter_map(|r| r.get("Body")).collect();
    assert!(progress.contains("正在等待律师回电"), "{progress}");
    // Not JSON: a clear 400.
    let (status, body) = aliyun_push(&app, ALIYUN_SECRET, "phone=1").await;
    assert_eq!(status, 400);
    assert!(body.contains("not an Aliyun upstream SMS push"), "{body}");
    app.stop().await;

    // From an address outside the allow-list: refused.
    let strict = spawn_app_with(
        backend,
        Options {
            aliyun: Some((ALIYUN_SECRET.into(), "10.0.0.0/8".into())),
            ..Options::default()
        },
    )
    .await;
    assert_eq!(aliyun_push(&strict, ALIYUN_SECRET, &push(2001, "你好")).await.0, 403);
    assert_eq!(strict.count("SELECT COUNT(*) FROM sms_messages").await, 0);
    strict.stop().await;
}

/// Sends a text from `from` and returns the reply messages' bodies.
pub async fn text(app: &crate::helpers::TestApp, from: &str, body: &str) -> Vec<String> {
    let reply = post_signed(app, "/twilio/sms", &sms(&sid("SM"), from, body), &[]).await;
    let xml = reply.assert_twiml().to_owned();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    doc.descendants()
        .filter(|n| n.has_tag_name("Message"))
        .map(|n| n.text().unwrap_or_default().to_owned())
        .collect()
}

/// The ticket number in a text.
pub fn ticket_in(text: &str) -> String {
    let at = text.find("受理编号").expect("a ticket") + "受理编号".len();
    text[at..].chars().filter(char::is_ascii_digit).take(8).collect()
}

async fn a_deaf_user_applies_for_legal_aid_by_text(backend: Backend) {
    // Answers follow each other within milliseconds here; a person takes longer than the
    // resend window, so it is off for this test.
    let app = spawn_app_with(
        backend,
        Options {
            sms_duplicate_window_secs: Some(0),
            ..Options::default()
        },
    )
    .await;
    let me = "+8613700137001";
    let first = text(&app, me, "你好，我想申请法律援助").await.join("");
    assert!(
        first.contains("受理编号") && first.contains("申请法律援助回复2"),
        "{first}"
    );
    assert!(!first.contains("请按"), "text wording, not phone wording: {first}");
    assert!(text(&app, me, "2").await.join("").contains("有残疾人证，请回复1"));
    assert!(text(&app, me, "1").await.join("").contains("请回复残疾人证号码"));
    // A wrong number says which part is wrong, as on the phone.
    let wrong = text(&app, me, "11010519491231002111").await.join("");
    assert!(wrong.contains("第18位校验码"), "{wrong}");
    let confirm = text(&app, me, "110105194912310 02x11").await.join("");
    assert!(
        confirm.contains("视力残疾一级") && confirm.contains("正确请回复1"),
        "{confirm}"
    );
    assert!(text(&app, me, "1").await.join("").contains("西安市，请回复1"));
    text(&app, me, "1").await; // 西安市
    text(&app, me, "1").await; // its first county
    text(&app, me, "1").await; // labour and wages
    let income = text(&app, me, "1").await.join(""); // no fixed income: yes
    assert!(income.contains("低保"), "{income}");
    // 返回: the question before again; answered differently this time.
    let back = text(&app, me, "返回").await.join("");
    assert!(back.contains("没有固定收入"), "{back}");
    text(&app, me, "1").await; // no fixed income: yes
    text(&app, me, "2").await; // assistance: no
    text(&app, me, "2").await; // migrant worker: no
    text(&app, me, "1").await; // deadline within 7 days: yes
    let describe = text(&app, me, "2").await.join(""); // evidence at risk: no
    assert!(describe.contains("请直接发文字"), "{describe}");
    let done = text(&app, me, "老板拖欠我三个月工资，下周就要仲裁开庭").await.join("");
    assert!(
        done.contains("预审结果：根据您的回答，您很可能符合法律援助条件"),
        "{done}"
    );
    assert!(
        done.contains("已为您登记，受理编号") && done.contains("排第1位"),
        "{done}"
    );
    let ticket = ticket_in(&first);
    let c = app.consultation(&ticket).await;
    assert_eq!((c.channel.as_str(), c.priority.as_str()), ("sms", "urgent"));
    let application = app
        .state
        .db
        .application_of(&c.id)
        .await
        .unwrap()
        .expect("an application");
    assert_eq!(application.answers, "no_fixed_income,deadline_within_7_days");
    // Every text is in the thread, the description included.
    let thread = app.state.db.messages_of(&c.id).await.unwrap();
    assert!(thread.iter().any(|m| m.body.contains("下周就要仲裁开庭")));
    // And the menu starts again afterwards.
    let progress = text(&app, me, "3").await.join("");
    assert!(
        progress.contains(&format!("受理编号{ticket}：正在等待律师回电")),
        "{progress}"
    );
    app.stop().await;
}

async fn a_lawyer_replies_and_the_delivery_is_tracked(backend: Backend) {
    let app = spawn_app(backend).await;
    let first = text(&app, "+8613700137002", "请问工伤怎么认定").await.join("");
    let ticket = ticket_in(&first);
    let c = app.consultation(&ticket).await;
    let long = "您好，我是值班律师。工伤认定要在事故发生之日起一年内，向用人单位所在地的社会保险行政部门提出申请。\
                请准备劳动关系证明、医疗诊断证明和工伤认定申请表。如果单位不配合，您可以自己申请。有问题请随时回复短信。";
    let sent = hotline::notify::lawyer_reply(&app.state, &c.id, long).await.unwrap();
    assert!(sent.parts >= 2, "{sent:?}");
    let requests = app.provider.wait_for(sent.parts).await;
    let bodies: Vec<&str> = requests.iter().filter_map(|r| r.get("Body")).collect();
    assert!(
        bodies[0].starts_with("【12348】(1/") && bodies.iter().all(|b| hotline::sms::count(b).segments == 1),
        "{bodies:?}"
    );
    assert!(requests
        .iter()
        .all(|r| r.get("From") == Some(HOTLINE_NUMBER) && r.get("To") == Some("+8613700137002")));
    // Delivery reports update each part.
    let thread = app.state.db.messages_of(&c.id).await.unwrap();
    let out: Vec<_> = thread.iter().filter(|m| m.direction == "out").collect();
    // The service's own answer is in the thread too, before the lawyer's parts.
    let out = &out[out.len() - sent.parts..];
    assert!(out[0].body.contains("我是值班律师"), "{:?}", out[0].body);
    let sid = out[0].provider_sid.clone().expect("accepted by the provider");
    let report = pairs(&[
        ("AccountSid", ACCOUNT_SID),
        ("MessageSid", &sid),
        ("MessageStatus", "delivered"),
    ]);
    assert_eq!(post_signed(&app, "/twilio/sms/status", &report, &[]).await.status, 200);
    assert_eq!(
        app.state.db.message_by_sid(&sid).await.unwrap().unwrap().status,
        "delivered"
    );
    app.stop().await;
}

async fn the_services_answers_are_in_the_thread_with_their_delivery(backend: Backend) {
    let app = spawn_app(backend).await;
    let me = "+8613700137015";
    let reply = post_signed(&app, "/twilio/sms", &sms(&sid("SM"), me, "我想咨询离婚"), &[]).await;
    let xml = reply.assert_twiml().to_owned();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let messages: Vec<_> = doc.descendants().filter(|n| n.has_tag_name("Message")).collect();
    assert!(!messages.is_empty(), "{xml}");
    let ticket = ticket_in(messages[0].text().unwrap());
    let c = app.consultation(&ticket).await;
    let thread = app.state.db.messages_of(&c.id).await.unwrap();
    let out: Vec<_> = thread.iter().filter(|m| m.direction == "out").collect();
    assert_eq!(out.len(), messages.len(), "every answer part is stored");
    for (stored, sent) in out.iter().zip(&messages) {
        assert_eq!(stored.body, sent.text().unwrap());
    }
    // Twilio reports each part to its action URL; an undelivered part shows as undelivered.
    let action = messages[0].attribute("action").expect("a delivery report URL");
    let path = action.strip_prefix(&app.public_url).unwrap();
    let report = pairs(&[
        ("AccountSid", ACCOUNT_SID),
        ("MessageSid", "SM0000000000000000000000000000abcd"),
        ("MessageStatus", "undelivered"),
        ("ErrorCode", "30003"),
    ]);
    assert_eq!(post_signed(&app, path, &report, &[]).await.status, 200);
    let thread = app.state.db.messages_of(&c.id).await.unwrap();
    let first = thread.iter().find(|m| m.id == out[0].id).unwrap();
    assert_eq!(first.status, "undelivered");
    assert_eq!(
        first.provider_sid.as_deref(),
        Some("SM0000000000000000000000000000abcd")
    );
    // The lawyer's console shows it, in words and marked (red).
    app.staff("admin", hotline::domain::Role::Admin, None).await;
    let cookie = app.sign_in("admin").await;
    let page = app.get_text(&format!("/console/cases/{ticket}"), Some(&cookie)).await;
    assert!(page.contains(r#"<span class="badge failed">未送达</span>"#), "{page}");
    assert!(page.contains("发送中"), "the other parts are on their way: {page}");
    app.stop().await;
}

async fn stop_ends_automatic_texts_but_not_the_lawyers(backend: Backend) {
    let app = spawn_app(backend).await;
    let me = "+8613700137003";
    let first = text(&app, me, "你好").await.join("");
    let ticket = ticket_in(&first);
    let ack = text(&app, me, "退订").await.join("");
    assert!(ack.contains("已退订"), "{ack}");
    let c = app.consultation(&ticket).await;
    // An automatic text is not sent...
    let caller = hotline::domain::PhoneNumber::parse(me).unwrap();
    let skipped = hotline::notify::send(
        &app.state,
        &c.caller_id,
        &c.id,
        &caller,
        "【12348】提醒",
        hotline::notify::Sender::Automatic,
    )
    .await;
    assert!(
        matches!(skipped, Err(hotline::notify::NotifyError::OptedOut)),
        "{skipped:?}"
    );
    // ...a lawyer's reply in the open case is.
    hotline::notify::lawyer_reply(&app.state, &c.id, "律师回复")
        .await
        .unwrap();
    assert_eq!(app.provider.wait_for(1).await.len(), 1);
    // 帮助 shows the menu and turns automatic texts back on.
    assert!(text(&app, me, "帮助").await.join("").contains("法律咨询回复1"));
    assert!(!app.state.db.is_opted_out(&c.caller_id).await.unwrap());
    app.stop().await;
}

async fn a_flood_is_stored_but_not_answered(backend: Backend) {
    let app = spawn_app(backend).await;
    let me = "+8613700137004";
    let mut replies = Vec::new();
    for i in 0..22 {
        replies.push(text(&app, me, &format!("第{i}条消息")).await);
    }
    assert!(replies[19].join("").contains("已收到"), "the 20th is answered");
    assert!(replies[20].join("").contains("发送得太快"), "the 21st is told once");
    assert!(replies[21].is_empty(), "the 22nd gets nothing");
    // Asking for the menu is still answered: the flood limit is for unsolicited texts.
    assert!(
        text(&app, me, "帮助").await.join("").contains("法律咨询"),
        "help after a flood"
    );
    // And so is each answer to the menu's questions.
    assert!(
        text(&app, me, "1").await.join("").contains("劳动和工资"),
        "an answer after a flood"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM sms_messages WHERE direction = 'in'")
            .await,
        24,
        "nothing lost"
    );
    app.stop().await;
}

async fn answering_the_menus_questions_is_never_a_flood(backend: Backend) {
    // Answers come faster than the resend window here; a person's come seconds apart.
    let app = crate::helpers::spawn_app_with(
        backend,
        crate::helpers::Options {
            sms_duplicate_window_secs: Some(0),
            ..Default::default()
        },
    )
    .await;
    let me = "+8613700137014";
    assert!(text(&app, me, "你好").await.join("").contains("受理编号"));
    // 30 answers in a row (as a long application by text takes): every one is answered.
    for i in 0..15 {
        let forward = text(&app, me, "1").await.join("");
        assert!(
            !forward.is_empty() && !forward.contains("发送得太快"),
            "answer {i}: {forward}"
        );
        let back = text(&app, me, "返回").await.join("");
        assert!(!back.is_empty() && !back.contains("发送得太快"), "back {i}: {back}");
    }
    app.stop().await;
}

async fn the_same_text_twice_is_acted_on_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let me = "+8613700137005";
    text(&app, me, "你好").await;
    assert!(!text(&app, me, "1").await.is_empty());
    // The phone resends the same text under a new id: kept, not acted on; the current question
    // is asked again (never an empty answer).
    let again = text(&app, me, "1").await.join("");
    assert!(again.contains("劳动和工资，请回复1"), "{again}");
    // 7 (a speech rate on the phone) is no option in a text.
    let seven = text(&app, me, "7").await.join("");
    assert!(
        seven.contains("您的回复不在选项中") && !seven.contains("语速"),
        "{seven}"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM sms_messages WHERE direction = 'in'")
            .await,
        4
    );
    // Still at the matter list (one step, not two).
    assert!(text(&app, me, "*").await.join("").contains("劳动和工资，请回复1"));
    app.stop().await;
}

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
    let ticket: String = message
        .split_once("受理编号")
        .unwrap()
        .1
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let consultation = app.consultation(&ticket).await;
    assert_eq!(consultation.channel.as_str(), "sms");

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
    assert!(
        second.assert_twiml().contains("已收到，律师会看到您的留言"),
        "{}",
        second.body
    );

    let thread = app.state.db.messages_of(&consultation.id).await.unwrap();
    let bodies: Vec<&str> = thread
        .iter()
        .filter(|m| m.direction == "in")
        .map(|m| m.body.as_str())
        .collect();
    assert_eq!(bodies, ["老板拖欠工资三个月", "公司在西安"]);
    // The service's answers are in the thread too.
    assert!(thread
        .iter()
        .any(|m| m.direction == "out" && m.body.contains("律师会看到您的留言")));
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

/// SIGTERM while an automatic text waits to be tried again (the provider answered 503): the
/// server stops only after the retry went out, so the text is not lost with the process.
async fn a_text_being_retried_at_shutdown_is_still_sent(backend: Backend) {
    let app = spawn_app(backend).await;
    let me = "+8613700137011";
    let ticket = ticket_in(&text(&app, me, "你好").await.join(""));
    let c = app.consultation(&ticket).await;
    let texts = |app: &crate::helpers::TestApp| {
        app.provider
            .requests()
            .into_iter()
            .filter(|r| r.path.ends_with("/Messages.json") && r.get("To") == Some(me))
            .count()
    };
    let before = texts(&app);
    app.provider.refuse_next(1);
    let caller = hotline::domain::PhoneNumber::parse(me).unwrap();
    hotline::notify::send_in_background(
        app.state.clone(),
        c.caller_id.clone(),
        c.id.clone(),
        caller,
        "【12348】提醒".into(),
    );
    // The first attempt is refused; the retry waits 0.5 s. The shutdown begins in between.
    for _ in 0..100 {
        if texts(&app) > before {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(texts(&app), before + 1, "the first attempt was made");
    let provider = app.provider.clone();
    app.stop().await;
    let sent = provider
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/Messages.json") && r.get("To") == Some(me))
        .count();
    assert_eq!(sent, before + 2, "the retry went out before the server stopped");
}

/// A process that stopped between storing a text and handing it to the provider leaves it
/// unsent; the jobs of a running process send it once it is clearly abandoned, and two
/// processes resuming at once send it once.
async fn a_text_a_stopped_process_never_sent_is_sent_once_later(backend: Backend) {
    use hotline::jobs::texts::resume as resume_unsent;
    let app = spawn_app(backend).await;
    let me = "+8613700137012";
    let ticket = ticket_in(&text(&app, me, "你好").await.join(""));
    let c = app.consultation(&ticket).await;
    let body = "【12348】您的咨询已登记";
    let id = app
        .state
        .db
        .insert_outbound(&c.caller_id, &c.id, body, hotline::providers::MessageStatus::Unknown)
        .await
        .unwrap();
    let sent = || {
        app.provider
            .requests()
            .into_iter()
            .filter(|r| r.path.ends_with("/Messages.json") && r.get("Body") == Some(body))
            .count()
    };
    let now = chrono::Utc::now();
    // Just stored: a live process may still be sending it.
    assert_eq!(resume_unsent(&app.state, now).await.unwrap(), 0);
    assert_eq!(sent(), 0);
    let later = now + chrono::Duration::minutes(6);
    let (a, b) = tokio::join!(resume_unsent(&app.state, later), resume_unsent(&app.state, later));
    assert_eq!(a.unwrap() + b.unwrap(), 1, "claimed by one of the two");
    assert_eq!(sent(), 1);
    let stored = app.state.db.messages_of(&c.id).await.unwrap();
    let row = stored.iter().find(|m| m.id == id).unwrap();
    assert!(
        row.provider_sid.is_some() && row.status == "queued",
        "handed to the provider: {row:?}"
    );
    assert_eq!(resume_unsent(&app.state, later).await.unwrap(), 0);
    assert_eq!(sent(), 1, "sent once");
    app.stop().await;
}
