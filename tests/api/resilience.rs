//! A blind caller never hears "an application error has occurred": with Redis or the database
//! down, or the provider asking the fallback URL, every voice webhook answers 200 with a spoken
//! document, on either provider.

use hotline::routing::{reconcile, CallbackQueue};
use serde_json::json;

use crate::helpers::{spawn_app_with, Backend, Line, Options};
use crate::jambonz_line::{attributes, post_jambonz};
use crate::provider::{post_signed, ticket_from_speech, Heard, Input, Phone};
use crate::{backends, lines};

lines!(
    redis_down_the_call_still_works_and_the_queue_catches_up,
    database_down_the_caller_hears_an_apology_and_the_fallback,
);
backends!(fallback_route_apologises_and_puts_through_to_a_person);

/// Nothing listens on port 1.
const DEAD_REDIS: &str = "redis://127.0.0.1:1";

async fn redis_down_the_call_still_works_and_the_queue_catches_up(backend: Backend, line: Line) {
    let app = spawn_app_with(
        backend,
        Options {
            redis_url: Some(DEAD_REDIS.into()),
            line,
            ..Options::default()
        },
    )
    .await;
    let mut phone = Phone::new(&app, "+8613800138000");
    // A whole consult flow: the call's state lives in SQL while Redis is away.
    let message = "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE0002";
    phone
        .call(&[
            Input::Silence,
            Input::Keys("1"),
            Input::Keys("2"),
            Input::Speak(message),
        ])
        .await;
    // Every turn was a valid document (checked by the simulator), and the caller was served: SQL
    // is the record, Redis only a helper.
    let said = phone.said();
    assert!(said.contains("没有听到您的按键"), "{said}");
    let ticket = ticket_from_speech(&said);
    let consultation = app.consultation(&ticket).await;
    assert_eq!(
        consultation.matter.as_deref(),
        Some("work_injury"),
        "the choice survived"
    );

    // Operators still see it waiting, with no place in the (unreachable) queue.
    let waiting = hotline::routing::report::waiting(&app.state.db, &app.state.kv)
        .await
        .unwrap();
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].queue_position, None);

    let ready = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    let details: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(details["database"]["ok"], true);
    assert_eq!(details["redis"]["ok"], false);
    assert!(details["redis"]["error"].as_str().is_some());

    // Redis comes back: the reconciler queues what waited in SQL.
    let redis = hotline::kv::Kv::new(
        "redis://127.0.0.1:6379",
        &format!("hotline-test-{}", ticket),
        std::time::Duration::from_secs(1),
    )
    .unwrap();
    assert_eq!(reconcile(&app.state.db, &redis).await.unwrap(), 1);
    assert_eq!(
        reconcile(&app.state.db, &redis).await.unwrap(),
        0,
        "its place is kept, not duplicated"
    );
    assert_eq!(
        CallbackQueue::new(&redis).position(&consultation.id).await.unwrap(),
        Some(1)
    );
    assert!(CallbackQueue::new(&redis).remove(&consultation.id).await.unwrap());
    app.stop().await;
}

async fn database_down_the_caller_hears_an_apology_and_the_fallback(backend: Backend, line: Line) {
    let dir = tempfile::tempdir().unwrap();
    let dead_database = match backend {
        // A directory is not a database file: every query fails.
        Backend::Sqlite => format!("sqlite://{}", dir.path().display()),
        Backend::Postgres => "postgres://postgres@127.0.0.1:1/nowhere".to_owned(),
    };
    let app = spawn_app_with(
        backend,
        Options {
            database_url: Some(dead_database.clone()),
            line,
            ..Options::default()
        },
    )
    .await;
    let mut phone = Phone::new(&app, "+8613800138000");
    phone.call(&[]).await;
    let said = phone.said();
    assert!(said.contains("非常抱歉，系统暂时出现故障"), "{said}");
    assert!(said.contains("请在每天八点到二十点再次拨打本热线"), "{said}");
    assert_eq!(phone.heard.last(), Some(&Heard::Hangup));
    // A status report cannot be recorded: the provider is told to retry, not that it worked.
    assert_eq!(phone.status_reply, Some(503));
    // A menu choice arriving while the database is down gets the same.
    let answer = match line {
        Line::Twilio => post_signed(
            &app,
            "/twilio/voice/menu?turn=1",
            &phone.params(&[("Digits", "1")]),
            &[],
        )
        .await
        .assert_twiml()
        .to_owned(),
        Line::Jambonz => {
            // A menu URL as the service seals the ones it hands out.
            let seal = hotline::providers::jambonz::Seal::new(app.jambonz_secret.as_bytes());
            let menu = seal.seal(&format!("{}/jambonz/voice/menu?turn=1", app.public_url));
            let pressed = attributes(&phone, json!({"reason": "dtmfDetected", "digits": "1"}));
            let reply = post_jambonz(&app, &phone.path_of(&menu), &pressed).await;
            reply.assert_verbs();
            reply.body
        }
    };
    assert!(answer.contains("非常抱歉"), "{answer}");
    let ready = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    let details: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(details["database"]["ok"], false);
    app.stop().await;

    // With a staffed number configured, the caller is put through instead.
    let app = spawn_app_with(
        backend,
        Options {
            database_url: Some(dead_database),
            human_number: "+862987654321".into(),
            line,
            ..Options::default()
        },
    )
    .await;
    let mut phone = Phone::new(&app, "+8613800138000");
    phone.call(&[Input::DialResult("completed")]).await;
    assert!(phone.said().contains("非常抱歉"));
    assert_eq!(phone.heard.last(), Some(&Heard::Dial("+862987654321".into())));
    app.stop().await;
}

async fn fallback_route_apologises_and_puts_through_to_a_person(backend: Backend) {
    let app = spawn_app_with(
        backend,
        Options {
            human_number: "+862987654321".into(),
            ..Options::default()
        },
    )
    .await;
    let phone = Phone::new(&app, "+8613800138000");
    let reply = post_signed(
        &app,
        "/twilio/voice/fallback",
        &phone.params(&[
            ("ErrorCode", "11200"),
            ("ErrorUrl", "https://hotline.example.org/twilio/voice"),
        ]),
        &[],
    )
    .await;
    let xml = reply.assert_twiml();
    assert!(xml.contains("非常抱歉"), "{xml}");
    assert!(xml.contains("<Number>+862987654321</Number>"), "{xml}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_an_in_flight_call_turn_finish() {
    // A database that accepts connections and never answers: a turn then takes until the pool
    // gives up (2 s), long enough to stop the server in the middle of it.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = silent.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let app = spawn_app_with(
        Backend::Postgres,
        Options {
            database_url: Some(format!("postgres://postgres@{addr}/hotline")),
            ..Options::default()
        },
    )
    .await;
    let phone = Phone::new(&app, "+8613800138000");
    let params = phone.params(&[]);
    let started = std::time::Instant::now();
    let (reply, ()) = tokio::join!(post_signed(&app, "/twilio/voice", &params, &[]), async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        app.begin_shutdown();
    });
    assert!(
        started.elapsed() > std::time::Duration::from_secs(1),
        "the turn was in flight at shutdown"
    );
    assert!(
        reply.assert_twiml().contains("非常抱歉"),
        "and it was answered: {}",
        reply.body
    );
    app.stop().await; // the server task ends cleanly
}

/// Separate worker processes share the database with the server: PostgreSQL (SQLite serves one
/// process, which runs the jobs itself).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_process_puts_back_what_redis_lost() {
    let app = crate::helpers::spawn_app(Backend::Postgres).await;
    let mut phone = Phone::new(&app, "+8613800138000");
    phone.call(&[Input::Keys("0")]).await;
    let consultation = app.consultation(&ticket_from_speech(&phone.said())).await;
    let queue = CallbackQueue::new(&app.state.kv);
    assert!(queue.remove(&consultation.id).await.unwrap(), "Redis loses the entry");

    // `hotline worker` against the same database and Redis.
    let mut settings = (*app.state.settings).clone();
    settings.jobs.reconcile_interval_secs = 1;
    let worker = hotline::app::AppState::new(settings).unwrap();
    let stop = std::sync::Arc::new(tokio::sync::Notify::new());
    let signal = stop.clone();
    let running = tokio::spawn(hotline::server::work(worker, async move { signal.notified().await }));
    let mut position = None;
    for _ in 0..50 {
        position = queue.position(&consultation.id).await.unwrap();
        if position.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(position, Some(1), "the worker's reconciler queued it again");
    stop.notify_one();
    running.await.unwrap();
    app.stop().await;
}
