//! The first call flow, end to end: greeting → menu → callback request → ticket.

use hotline::domain::Ticket;
use hotline::routing::CallbackQueue;

use crate::helpers::{spawn_app, spawn_app_with, spawn_on, Backend, Line, Options, HOTLINE_NUMBER};
use crate::provider::{post_signed, ticket_from_speech, Heard, Input, Phone};
use crate::{backends, lines};

lines!(
    callback_request_reads_the_ticket_and_queues_it,
    a_caller_already_waiting_hears_their_ticket_and_keeps_their_place,
    three_silent_turns_lead_to_a_callback,
    star_repeats_and_wrong_keys_are_explained,
    zero_reaches_a_person_and_an_unanswered_transfer_becomes_a_callback,
    withheld_number_cannot_get_a_callback_but_is_not_dropped,
    the_keys_rules_are_not_in_every_menu_and_a_caller_who_has_called_before_is_greeted_briefly,
    star_at_the_closing_says_it_all_again_and_silence_hangs_up,
);
// Twilio's own wire: its status callback form and its <Say> voice's SSML.
backends!(
    status_callback_ends_the_call_and_its_session,
    the_providers_voice_keeps_the_callers_rate,
);

async fn callback_request_reads_the_ticket_and_queues_it(backend: Backend, line: Line) {
    let app = spawn_on(backend, line).await;
    let mut phone = Phone::new(&app, "+8613800138000");
    let ended = phone.call(&[Input::Keys("0")]).await;
    assert!(ended, "the service ends the call politely");
    assert_eq!(phone.status_reply, Some(200));

    let said = phone.said();
    assert!(said.contains("12348公共法律服务热线"), "greeting: {said}");
    assert!(said.contains("法律咨询，请按1"), "menu: {said}");
    assert!(said.contains("现在没有律师可以接听"), "no person free: {said}");
    assert!(said.contains("受理编号也会用短信发给您"), "{said}");
    assert!(
        said.contains("律师会打您现在的号码：幺三八，零零幺三，八零零零"),
        "{said}"
    );
    assert!(said.contains("您是下一位"), "{said}");
    assert!(said.contains("再见"), "{said}");
    assert_eq!(phone.heard.last(), Some(&Heard::Hangup));

    // The ticket was read digit by digit, and is the consultation's.
    let ticket = ticket_from_speech(&said);
    let consultation = app.consultation(&ticket).await;
    assert_eq!(consultation.status.as_str(), "waiting_callback");
    assert_eq!(consultation.channel.as_str(), "voice");

    // ...and it waits in the Redis queue, as operators see it.
    let queue = CallbackQueue::new(&app.state.kv);
    assert_eq!(queue.position(&consultation.id).await.unwrap(), Some(1));
    let waiting = hotline::routing::report::waiting(&app.state.db, &app.state.kv)
        .await
        .unwrap();
    assert_eq!(waiting.len(), 1);
    assert_eq!(
        (waiting[0].ticket.as_str(), waiting[0].queue_position),
        (ticket.as_str(), Some(1))
    );
    assert!(waiting[0].waiting_secs < 60);

    // The caller and call are stored, the number only as ciphertext.
    assert_eq!(app.count("SELECT COUNT(*) FROM callers").await, 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM calls WHERE status = 'completed'").await,
        1
    );
    let phone_in_clear = app
        .count("SELECT COUNT(*) FROM callers WHERE phone_enc LIKE '%13800138000%'")
        .await;
    assert_eq!(phone_in_clear, 0);
    assert_eq!(
        app.state
            .db
            .caller_phone(&consultation.caller_id)
            .await
            .unwrap()
            .as_deref(),
        Some("+8613800138000")
    );
    // Every delivery's raw form is kept (decryptable), unknown fields included.
    let payloads = app.state.db.event_payloads(&phone.call_sid).await.unwrap();
    assert_eq!(payloads.len(), 3, "incoming, menu choice, status");
    match line {
        Line::Twilio => assert_eq!(payloads[0]["CallerCountry"], "CN"),
        Line::Jambonz => assert_eq!(payloads[0]["originating_sip_ip"], "192.0.2.10"),
    }

    // R6: the ticket also goes out as a text, from the hotline number, with a status callback.
    let sent = app.provider.wait_for(1).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    let sms = &sent[0];
    assert!(sms.path.ends_with("/Messages.json"));
    assert!(sms.basic_auth_ok, "Basic auth with account SID and token");
    assert_eq!(sms.get("To"), Some("+8613800138000"));
    assert_eq!(sms.get("From"), Some(HOTLINE_NUMBER));
    let body = sms.get("Body").unwrap();
    assert!(body.contains(&ticket) && body.contains("排第1位"), "{body}");
    assert_eq!(
        sms.get("StatusCallback"),
        Some(format!("{}/twilio/sms/status", app.public_url).as_str())
    );

    app.stop().await;
}

async fn a_caller_already_waiting_hears_their_ticket_and_keeps_their_place(backend: Backend, line: Line) {
    let app = spawn_on(backend, line).await;
    let mut first = Phone::new(&app, "+8613800138000");
    first.call(&[Input::Keys("0")]).await;
    let ticket = ticket_from_speech(&first.said());
    let spoken: String = hotline::domain::spoken::digits(&ticket);

    let mut again = Phone::new(&app, "+8613800138000");
    again.call(&[Input::Keys("0")]).await;
    let said = again.said();
    assert!(
        said.contains(&format!("您有一个正在办理的咨询，受理编号是：{spoken}")),
        "greeted with the open ticket: {said}"
    );
    assert_eq!(ticket_from_speech(&said), ticket, "the same ticket, not a new one");
    assert_eq!(app.count("SELECT COUNT(*) FROM consultations").await, 1);
    let queue = CallbackQueue::new(&app.state.kv);
    assert_eq!(
        queue.position(&app.consultation(&ticket).await.id).await.unwrap(),
        Some(1)
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(app.provider.requests().len(), 1, "the ticket is texted once");
    app.stop().await;
}

async fn three_silent_turns_lead_to_a_callback(backend: Backend, line: Line) {
    let app = spawn_on(backend, line).await;
    let mut phone = Phone::new(&app, "+8613900139000");
    phone.call(&[Input::Silence, Input::Silence, Input::Silence]).await;
    let said = phone.said();
    assert_eq!(said.matches("没有听到您的按键").count(), 2, "{said}");
    assert!(said.contains("我们将为您安排律师回电"), "{said}");
    app.consultation(&ticket_from_speech(&said)).await;
    app.stop().await;
}

async fn star_repeats_and_wrong_keys_are_explained(backend: Backend, line: Line) {
    let app = spawn_on(backend, line).await;
    let mut phone = Phone::new(&app, "+8613900139001");
    // Caller hangs up after these turns without choosing.
    phone
        .call(&[Input::Keys("*"), Input::Keys("5"), Input::Keys("*")])
        .await;
    let said = phone.said();
    assert_eq!(said.matches("法律咨询，请按1").count(), 4, "{said}");
    assert_eq!(said.matches("您按的键不在选项中").count(), 1, "{said}");
    assert_eq!(app.count("SELECT COUNT(*) FROM consultations").await, 0);
    // Each turn has its own action URL, so equal keys on different turns are not duplicates.
    let actions: Vec<&String> = phone.documents.iter().collect();
    assert!(
        actions[1].contains("turn=2") && actions[3].contains("turn=4"),
        "{actions:?}"
    );
    app.stop().await;
}

async fn zero_reaches_a_person_and_an_unanswered_transfer_becomes_a_callback(backend: Backend, line: Line) {
    let app = spawn_app_with(
        backend,
        Options {
            line,
            human_number: "+862987654321".into(),
            ..Options::default()
        },
    )
    .await;
    let mut phone = Phone::new(&app, "+8613900139002");
    phone.call(&[Input::Keys("0"), Input::DialResult("no-answer")]).await;
    assert!(
        phone.heard.contains(&Heard::Dial("+862987654321".into())),
        "{:?}",
        phone.heard
    );
    let said = phone.said();
    assert!(said.contains("人工服务暂时无法接通"), "{said}");
    assert!(Ticket::parse(&ticket_from_speech(&said)).is_ok(), "{said}");

    let mut answered = Phone::new(&app, "+8613900139003");
    answered.call(&[Input::Keys("0"), Input::DialResult("completed")]).await;
    assert_eq!(answered.heard.last(), Some(&Heard::Hangup));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM consultations").await,
        1,
        "only the unanswered transfer"
    );
    app.stop().await;
}

async fn withheld_number_cannot_get_a_callback_but_is_not_dropped(backend: Backend, line: Line) {
    let app = spawn_on(backend, line).await;
    // 0 at once: no person configured, no number to call back. The caller is told how to
    // reach us and the call ends politely — not the menu again, where 0 led back here.
    let mut phone = Phone::new(&app, "anonymous");
    let ended = phone
        .call(&[Input::Keys("0"), Input::Keys("0"), Input::Keys("0")])
        .await;
    assert!(ended, "the service ends the call");
    let said = phone.said();
    assert_eq!(said.matches("您的来电号码没有显示").count(), 1, "{said}");
    assert!(said.contains("发短信到本热线"), "{said}");
    assert!(said.contains("再见"), "{said}");
    assert!(!said.contains("登记律师回电"), "no callback is promised: {said}");
    assert_eq!(phone.heard.last(), Some(&Heard::Hangup));
    // The same after failing to choose.
    let mut phone = Phone::new(&app, "anonymous");
    assert!(phone.call(&[Input::Silence, Input::Silence, Input::Silence]).await);
    assert!(phone.said().contains("您的来电号码没有显示"), "{}", phone.said());
    assert_eq!(app.count("SELECT COUNT(*) FROM consultations").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM callers").await, 0);
    app.stop().await;
}

async fn status_callback_ends_the_call_and_its_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let phone = Phone::new(&app, "+8613900139004");
    post_signed(&app, "/twilio/voice", &phone.params(&[]), &[])
        .await
        .assert_twiml();
    let session: Option<String> = app.state.kv.load_session(&phone.call_sid).await.unwrap();
    assert!(session.is_some(), "session kept in Redis during the call");

    let reply = post_signed(
        &app,
        "/twilio/voice/status",
        &phone.params(&[("CallStatus", "completed"), ("CallDuration", "17")]),
        &[],
    )
    .await;
    assert_eq!(reply.status, 200);
    // A late "ringing" report must not reopen the call.
    post_signed(
        &app,
        "/twilio/voice/status",
        &phone.params(&[("CallStatus", "ringing")]),
        &[],
    )
    .await;
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM calls WHERE status = 'completed' AND duration_secs = 17 AND ended_at IS NOT NULL"
        )
        .await,
        1
    );
    let session: Option<String> = app.state.kv.load_session(&phone.call_sid).await.unwrap();
    assert!(session.is_none(), "session dropped at the end of the call");
    app.stop().await;
}

async fn the_keys_rules_are_not_in_every_menu_and_a_caller_who_has_called_before_is_greeted_briefly(
    backend: Backend,
    line: Line,
) {
    let app = spawn_on(backend, line).await;
    let mut phone = Phone::new(&app, "+8613900139011");
    phone.call(&[Input::Keys("5"), Input::Keys("*")]).await;
    let said = phone.said();
    assert!(said.starts_with("您好，这里是12348公共法律服务热线。"), "{said}");
    // After the first menu, and again at the first wrong key (it may have cut them off), but
    // not at every menu.
    assert_eq!(said.matches("找人工请按0").count(), 2, "{said}");
    assert_eq!(said.matches("法律咨询，请按1").count(), 3, "{said}");
    assert!(!app.state.prompts.get("menu_main").unwrap().contains("请按0"));

    // The next call from the number: a short greeting, the menu at once, and the rules only
    // when a turn goes wrong.
    let mut again = Phone::new(&app, "+8613900139011");
    again.call(&[Input::Keys("*"), Input::Keys("5")]).await;
    let said = again.said();
    assert!(said.starts_with("您好，欢迎再次来电。 | 法律咨询，请按1"), "{said}");
    let wrong = said.find("您按的键不在选项中").expect(&said);
    assert_eq!(said.find("找人工请按0").map(|at| at > wrong), Some(true), "{said}");
    assert_eq!(said.matches("找人工请按0").count(), 1, "{said}");

    // Hanging up during the welcome does not make a caller known: they heard nothing yet.
    let mut dropped = Phone::new(&app, "+8613900139014");
    dropped.call(&[]).await;
    let mut back = Phone::new(&app, "+8613900139014");
    back.call(&[]).await;
    assert!(back.said().starts_with("您好，这里是12348"), "{}", back.said());
    app.stop().await;
}

async fn star_at_the_closing_says_it_all_again_and_silence_hangs_up(backend: Backend, line: Line) {
    let app = spawn_on(backend, line).await;
    let mut phone = Phone::new(&app, "+8613900139012");
    let ended = phone.call(&[Input::Keys("0"), Input::Keys("*")]).await;
    assert!(ended, "silence after the closing hangs up");
    let said = phone.said();
    let ticket = ticket_from_speech(&said);
    let spoken = hotline::domain::spoken::digits(&ticket);
    // Twice in each closing, and the closing twice; one consultation, one SMS.
    assert_eq!(said.matches(spoken.as_str()).count(), 4, "{said}");
    assert_eq!(said.matches("重听请按星号键").count(), 2, "{said}");
    assert_eq!(phone.heard.last(), Some(&Heard::Hangup));
    assert_eq!(app.count("SELECT COUNT(*) FROM consultations").await, 1);
    let closing = phone.documents.last().unwrap();
    match line {
        Line::Twilio => assert!(
            closing.contains(r#"<Gather input="dtmf""#)
                && !closing.contains("actionOnEmptyResult")
                && closing.ends_with("<Hangup/></Response>"),
            "{closing}"
        ),
        // The closing's gather carries the hang-up, which a timeout there is answered with.
        Line::Jambonz => {
            let gather = &phone.documents[phone.documents.len() - 2];
            assert!(
                gather.contains(r#""verb":"gather""#) && gather.contains("&rest="),
                "{gather}"
            );
            assert_eq!(closing, r#"[{"verb":"hangup"}]"#);
        }
    }
    app.stop().await;
}

async fn the_providers_voice_keeps_the_callers_rate(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut phone = Phone::new(&app, "+8613900139013");
    phone
        .call(&[Input::Keys("7"), Input::Keys("9"), Input::Keys("9")])
        .await;
    let open = r#"<Say voice="Polly.Zhiyu-Neural" language="cmn-CN">"#;
    let [normal, slower, back, faster] = &phone.documents[..] else {
        panic!("{:?}", phone.documents);
    };
    assert!(normal.contains(&format!("{open}法律咨询，请按1")), "{normal}");
    assert!(
        slower.contains(&format!(r#"{open}<prosody rate="75%">已为您调慢语速"#)),
        "{slower}"
    );
    assert!(!back.contains("<prosody"), "{back}");
    assert!(faster.contains(r#"<prosody rate="130%">法律咨询，请按1"#), "{faster}");
    app.stop().await;
}
