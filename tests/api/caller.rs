//! A caller's call as real use runs it (issue: what breaks when real people use it): a key
//! pressed while a recording window is open is a normal turn, and a withheld number with a
//! person to talk to is put through rather than sent round the menu.

use crate::helpers::{spawn_app_with, spawn_on, Backend, Line, Options};
use crate::lines;
use crate::provider::{ticket_from_speech, Heard, Input, Phone};

lines!(
    a_key_at_once_while_describing_is_a_normal_turn,
    a_withheld_number_is_put_through_to_a_person,
    a_second_matter_is_a_new_consultation,
);

async fn a_key_at_once_while_describing_is_a_normal_turn(backend: Backend, line: Line) {
    let app = spawn_on(backend, line).await;
    // 1 consult, 1 the first matter, then # at the description with nothing said (Twilio posts
    // Digits and no recording): the callback is registered without a description.
    let mut phone = Phone::new(&app, "+8613800138011");
    let ended = phone
        .call(&[Input::Keys("1"), Input::Keys("1"), Input::KeyAtRecord("#")])
        .await;
    assert!(ended, "{}", phone.said());
    let said = phone.said();
    assert!(!said.contains("故障"), "{said}");
    let ticket = ticket_from_speech(&said);
    assert_eq!(app.consultation(&ticket).await.status.as_str(), "waiting_callback");
    assert_eq!(app.count("SELECT COUNT(*) FROM recordings").await, 0);

    // 0 pressed while describing, after a recording too short to keep: to a person (none is
    // configured here, so a callback), never the fallback.
    let mut phone = Phone::new(&app, "+8613800138012");
    let ended = phone
        .call(&[Input::Keys("1"), Input::Keys("2"), Input::KeyAfterEmptyRecording("0")])
        .await;
    assert!(ended, "{}", phone.said());
    let said = phone.said();
    assert!(!said.contains("故障"), "{said}");
    assert!(said.contains("现在没有律师可以接听"), "0 asks for a person: {said}");
    let ticket = ticket_from_speech(&said);
    assert_eq!(app.consultation(&ticket).await.status.as_str(), "waiting_callback");

    // 0 at once while describing: the same.
    let mut phone = Phone::new(&app, "+8613800138013");
    phone
        .call(&[Input::Keys("1"), Input::Keys("3"), Input::KeyAtRecord("0")])
        .await;
    assert!(phone.said().contains("受理编号是"), "{}", phone.said());
    assert_eq!(app.count("SELECT COUNT(*) FROM consultations").await, 3);
    app.stop().await;
}

async fn a_withheld_number_is_put_through_to_a_person(backend: Backend, line: Line) {
    let app = spawn_app_with(
        backend,
        Options {
            line,
            human_number: "+862912348000".into(),
            ..Options::default()
        },
    )
    .await;
    // Failing to choose three times leads to a callback, which a withheld number cannot have:
    // the caller is put through instead.
    let mut phone = Phone::new(&app, "anonymous");
    phone
        .call(&[
            Input::Silence,
            Input::Silence,
            Input::Silence,
            Input::DialResult("completed"),
        ])
        .await;
    let said = phone.said();
    assert!(said.contains("您的来电号码没有显示"), "{said}");
    assert!(
        phone.heard.contains(&Heard::Dial("+862912348000".into())),
        "{:?}",
        phone.heard
    );
    // A transfer nobody answered ends politely, not with the system-fault apology.
    let mut phone = Phone::new(&app, "anonymous");
    phone.call(&[Input::Keys("0"), Input::DialResult("no-answer")]).await;
    let said = phone.said();
    assert!(said.contains("发短信到本热线"), "{said}");
    assert!(!said.contains("故障"), "{said}");
    assert_eq!(phone.heard.last(), Some(&Heard::Hangup));
    app.stop().await;
}

async fn a_second_matter_is_a_new_consultation(backend: Backend, line: Line) {
    let app = spawn_on(backend, line).await;
    let number = "+8613800138021";
    let mut phone = Phone::new(&app, number);
    phone
        .call(&[Input::Keys("1"), Input::Keys("1"), Input::KeyAtRecord("#")])
        .await;
    let first = ticket_from_speech(&phone.said());
    // Back again: not continuing the open case ("2": something else), a second matter.
    let mut phone = Phone::new(&app, number);
    phone
        .call(&[
            Input::Keys("2"),
            Input::Keys("1"),
            Input::Keys("2"),
            Input::KeyAtRecord("#"),
        ])
        .await;
    let said = phone.said();
    assert!(said.contains("您有一个正在办理的咨询"), "{said}");
    let second = registered(&said);
    assert_ne!(first, second, "its own ticket: {said}");
    let (a, b) = (app.consultation(&first).await, app.consultation(&second).await);
    assert_eq!(a.caller_id, b.caller_id, "the same person");
    assert_ne!(a.matter, b.matter);
    assert!(a.matter.is_some() && b.matter.is_some());
    // Both wait for a callback, each in its own place.
    assert_eq!(
        (a.status.as_str(), b.status.as_str()),
        ("waiting_callback", "waiting_callback")
    );
    // The same matter again joins the open case of that matter.
    let mut phone = Phone::new(&app, number);
    phone
        .call(&[
            Input::Keys("2"),
            Input::Keys("1"),
            Input::Keys("1"),
            Input::KeyAtRecord("#"),
        ])
        .await;
    assert_eq!(registered(&phone.said()), first, "{}", phone.said());
    assert_eq!(app.count("SELECT COUNT(*) FROM consultations").await, 2);
    app.stop().await;
}

/// The ticket of the callback registered on this call (not the one a welcome back reads).
fn registered(said: &str) -> String {
    let at = said.rfind("已为您登记律师回电").expect("a callback was registered");
    ticket_from_speech(&said[at..])
}
