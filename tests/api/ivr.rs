//! The four sub-flows of the main menu, end to end through signed webhooks, with their records
//! in SQL and their queue entries in Redis (issue: accessible IVR).

use hotline::routing::CallbackQueue;

use crate::helpers::{spawn_on, Backend, Line};
use crate::lines;
use crate::provider::{ticket_from_speech, Heard, Input, Phone};

lines!(
    consult_by_keys_records_the_matter_and_the_message,
    apply_by_keys_assesses_and_queues_with_priority,
    a_wrong_certificate_number_says_which_part_is_wrong,
    progress_reads_the_callers_cases_and_a_typed_ticket,
    settings_are_remembered_for_the_next_call,
    a_known_caller_adds_a_note_to_their_open_case,
);

const MESSAGE: &str = "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE0001";

async fn consult_by_keys_records_the_matter_and_the_message(backend: Backend, line: Line) {
    let app = spawn_on(backend, line).await;
    let mut phone = Phone::new(&app, "+8613800138001");
    // 1 consult → page 2 (4) → 1 housing and property → a spoken message.
    let ended = phone
        .call(&[
            Input::Keys("1"),
            Input::Keys("4"),
            Input::Keys("1"),
            Input::Speak(MESSAGE),
        ])
        .await;
    assert!(ended);
    let said = phone.said();
    assert!(
        said.contains("劳动和工资，请按1。") && said.contains("听更多选项，请按4"),
        "{said}"
    );
    assert!(said.contains("房产和财产，请按1。"), "{said}");
    assert!(said.contains("请在嘀声后"), "{said}");
    assert!(
        said.contains("有权向法律援助机构申请法律援助"),
        "the Art. 23 notice: {said}"
    );
    assert_eq!(phone.heard.last(), Some(&Heard::Hangup));
    let ticket = ticket_from_speech(&said);
    let c = app.consultation(&ticket).await;
    assert_eq!(c.matter.as_deref(), Some("housing_property"));
    let recordings = app.state.db.recordings_of(&c.id).await.unwrap();
    assert_eq!(recordings.len(), 1);
    assert_eq!(recordings[0].purpose, "description");
    match line {
        Line::Twilio => assert_eq!(recordings[0].url, MESSAGE),
        // jambonz keeps no recordings: the stream the listen sent is the service's own.
        Line::Jambonz => {
            let url = &recordings[0].url;
            assert!(
                url.starts_with(&format!("{}/jambonz/recordings/", app.public_url)),
                "{url}"
            );
            let w = &app.state.settings.whisper;
            let audio = app
                .state
                .telephony
                .fetch_recording(url, &w.recording_hosts(), w.max_recording_bytes)
                .await
                .unwrap();
            assert!(
                audio.bytes.starts_with(b"RIFF") && audio.bytes.len() > 8000,
                "a WAV of the caller's second"
            );
        }
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM consultations WHERE art23_notice_at IS NOT NULL")
            .await,
        1
    );
    let queue = CallbackQueue::new(&app.state.kv);
    assert_eq!(queue.position(&c.id).await.unwrap(), Some(1));
    app.stop().await;
}

async fn apply_by_keys_assesses_and_queues_with_priority(backend: Backend, line: Line) {
    let app = spawn_on(backend, line).await;
    // A normal caller comes first...
    let mut earlier = Phone::new(&app, "+8613800138003");
    earlier.call(&[Input::Keys("0")]).await;
    let mut phone = Phone::new(&app, "+8613800138002");
    phone
        .call(&[
            Input::Keys("2"),                    // apply
            Input::Keys("1"),                    // has a certificate
            Input::Keys("11010519491231002*11"), // vision, level 1 (* = X)
            Input::Keys("1"),                    // confirmed
            Input::Keys("1"),                    // 西安市
            Input::Keys("2"),                    // its second county
            Input::Keys("1"),                    // labour and wages
            Input::Keys("1"),                    // no fixed income: yes
            Input::Keys("2"),                    // assistance: no
            Input::Keys("2"),                    // migrant worker: no
            Input::Keys("1"),                    // deadline within 7 days: yes
            Input::Keys("2"),                    // evidence at risk: no
            Input::Silence,                      // says nothing at the beep...
            Input::Speak(MESSAGE),               // ...then speaks
        ])
        .await;
    let said = phone.said();
    assert!(said.contains("您的残疾人证是：视力残疾一级"), "read back: {said}");
    assert!(said.contains("没有听到您说话"), "{said}");
    assert!(
        said.contains("预审结果：根据您的回答，您很可能符合法律援助条件"),
        "{said}"
    );
    assert!(said.contains("有权向法律援助机构申请法律援助"), "Art. 23: {said}");
    let c = app.consultation(&ticket_from_speech(&said)).await;
    assert_eq!(c.priority.as_str(), "urgent", "Art. 44: a deadline within 7 days");
    assert!(c.urgent);
    assert_eq!(c.prefecture.as_deref(), Some("610100"));
    assert!(c.county.as_deref().is_some_and(|county| county.starts_with("6101")));
    let application = app
        .state
        .db
        .application_of(&c.id)
        .await
        .unwrap()
        .expect("an application");
    assert_eq!(application.outcome.as_str(), "likely_eligible");
    assert_eq!(application.answers, "no_fixed_income,deadline_within_7_days");
    assert_eq!(
        (application.disability_category, application.disability_level),
        (Some(1), Some(1))
    );
    // The certificate number is kept, encrypted.
    assert_eq!(
        app.state
            .db
            .application_certificate(&application.id)
            .await
            .unwrap()
            .as_deref(),
        Some("11010519491231002X11")
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM applications WHERE certificate_enc LIKE '%110105%'")
            .await,
        0
    );
    // ...but the urgent application is called back first.
    let queue = CallbackQueue::new(&app.state.kv);
    assert_eq!(queue.position(&c.id).await.unwrap(), Some(1));
    // As operators see it (`hotline queue show`).
    let shown = hotline::routing::report::waiting(&app.state.db, &app.state.kv)
        .await
        .unwrap();
    let entry = shown.iter().find(|e| e.id == c.id).unwrap();
    assert_eq!(
        (entry.priority.as_str(), entry.matter.as_deref()),
        ("urgent", Some("labour_wages"))
    );
    assert_eq!(entry.queue_state.as_deref(), Some("waiting"));
    assert!(
        entry.effective_priority.unwrap() >= 240,
        "a 4-hour head start: {:?}",
        entry.effective_priority
    );
    app.stop().await;
}

async fn a_wrong_certificate_number_says_which_part_is_wrong(backend: Backend, line: Line) {
    let app = spawn_on(backend, line).await;
    let mut phone = Phone::new(&app, "+8613800138004");
    phone
        .call(&[
            Input::Keys("2"),
            Input::Keys("1"),
            Input::Keys("1101051949123100211"),
            Input::Keys("11010519491231002111"),
            Input::Keys("11010519491231002*81"),
        ])
        .await;
    let said = phone.said();
    assert!(said.contains("残疾人证号应为20位，您输入了19位"), "{said}");
    assert!(said.contains("第18位校验码与前17位不符"), "{said}");
    // Each wrong number is read back, and skipping is offered.
    assert!(said.contains("您输入的是：一、一、零、一"), "{said}");
    assert!(said.contains("没有证号或者不想提供，只按2"), "{said}");
    // The third wrong number: the application goes on without it, not a generic callback.
    assert!(said.contains("先不记录证号，继续为您办理申请"), "{said}");
    assert!(!said.contains("我们将为您安排律师回电"), "{said}");
    assert!(
        said.ends_with("请选择您所在的地区。") || said.contains("西安"),
        "on to the place: {said}"
    );
    assert!(
        said.contains("残疾人证号码就是您的身份证号码"),
        "the hint after a failure: {said}"
    );
    app.stop().await;
}

async fn progress_reads_the_callers_cases_and_a_typed_ticket(backend: Backend, line: Line) {
    let app = spawn_on(backend, line).await;
    let mut first = Phone::new(&app, "+8613800138005");
    first.call(&[Input::Keys("0")]).await;
    let ticket = ticket_from_speech(&first.said());
    let spoken = hotline::domain::spoken::digits(&ticket);

    // Someone else asks about that ticket from another phone, then about a wrong one: nothing
    // of the first caller's case is read out to them.
    let mut other = Phone::new(&app, "+8613800138006");
    other
        .call(&[
            Input::Keys("3"),
            Input::Keys("1"),
            Input::Keys(Box::leak(ticket.clone().into_boxed_str())),
            Input::Keys("1"),
            Input::Keys("12345678"),
            Input::Keys("2"),
        ])
        .await;
    let said = other.said();
    assert!(
        said.contains("没有查到您正在办理的事项"),
        "their own number has none: {said}"
    );
    assert!(
        !said.contains(&spoken),
        "another caller's ticket is not read out: {said}"
    );
    assert!(!said.contains("正在等待律师回电"), "{said}");
    assert_eq!(said.matches("没有查到这个受理编号").count(), 2, "{said}");
    assert!(said.ends_with("无障碍设置，请按4。"), "back at the main menu: {said}");

    // The first caller asks by their own number: welcomed back, then 2 → main menu → 3; and
    // by typing their own ticket.
    let mut again = Phone::new(&app, "+8613800138005");
    let typed: &'static str = Box::leak(ticket.clone().into_boxed_str());
    again
        .call(&[Input::Keys("2"), Input::Keys("3"), Input::Keys("1"), Input::Keys(typed)])
        .await;
    let said = again.said();
    assert_eq!(
        said.matches(&format!("受理编号{spoken}，正在等待律师回电")).count(),
        2,
        "{said}"
    );

    // Guessing is limited: after five tickets that were not theirs, even a right one is not
    // read out for an hour.
    let mut guesser = Phone::new(&app, "+8613800138006");
    let mut script = vec![Input::Keys("3")];
    for guess in ["11111111", "22222222", "33333333", "44444444"] {
        script.extend([Input::Keys("1"), Input::Keys(guess)]);
    }
    guesser.call(&script).await;
    let mut again = Phone::new(&app, "+8613800138005");
    again.call(&[Input::Keys("2"), Input::Keys("3")]).await;
    assert!(again.said().contains("正在等待律师回电"), "the owner is not locked out");
    app.stop().await;
}

async fn settings_are_remembered_for_the_next_call(backend: Backend, line: Line) {
    let app = spawn_on(backend, line).await;
    let mut phone = Phone::new(&app, "+8613800138007");
    phone
        .call(&[Input::Keys("4"), Input::Keys("1"), Input::Keys("2"), Input::Keys("7")])
        .await;
    let said = phone.said();
    assert!(said.contains("已开启较长的按键等待时间"), "{said}");
    assert!(said.contains("已开启短信跟进"), "{said}");
    assert!(said.contains("已为您调慢语速"), "{said}");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM callers WHERE long_timeouts = 1 AND sms_follow_up = 1 AND keypad_only = 0 AND speech_rate = 'slower'")
            .await,
        1
    );
    // From the first prompt of the next call: timeouts three times as long.
    let mut next = Phone::new(&app, "+8613800138007");
    next.call(&[]).await;
    let thirty = match line {
        Line::Twilio => r#"timeout="30""#,
        Line::Jambonz => r#""timeout":30"#,
    };
    assert!(next.documents[0].contains(thirty), "{}", next.documents[0]);
    app.stop().await;
}

async fn a_known_caller_adds_a_note_to_their_open_case(backend: Backend, line: Line) {
    let app = spawn_on(backend, line).await;
    let mut first = Phone::new(&app, "+8613800138008");
    first.call(&[Input::Keys("0")]).await;
    let ticket = ticket_from_speech(&first.said());

    let mut again = Phone::new(&app, "+8613800138008");
    again.call(&[Input::Keys("1"), Input::Speak(MESSAGE)]).await;
    let said = again.said();
    assert!(said.contains("继续这个咨询"), "{said}");
    assert_eq!(ticket_from_speech(&said), ticket, "the same case");
    let c = app.consultation(&ticket).await;
    let recordings = app.state.db.recordings_of(&c.id).await.unwrap();
    assert_eq!(
        recordings.iter().map(|r| r.purpose.as_str()).collect::<Vec<_>>(),
        ["note"]
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM consultations").await, 1);
    app.stop().await;
}
