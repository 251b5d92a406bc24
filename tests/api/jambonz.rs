//! jambonz's wire, beyond the journeys (which run on it through `lines!`): its signatures and
//! our URL seals, refused forgeries, the callback bridge through its REST API, call updates as
//! continuation documents, and concurrent copies of a delivery. jambonz's own packages check
//! the harness: `@jambonz/node-client` accepts the harness's signatures and checks the REST
//! requests with its request validators; `@jambonz/verb-specifications` every document.

use std::process::{Child, Command, Stdio};

use chrono::Utc;
use hotline::domain::roster::parse_csv;
use hotline::providers::{Action, Leg, OutboundCall};
use hotline::routing::{callback, dispatch::dispatch};
use serde_json::{json, Value};

use crate::backends;
use crate::helpers::{
    spawn_app_with, spawn_on, Backend, Line, Options, TestApp, HOTLINE_NUMBER, JAMBONZ_ACCOUNT, JAMBONZ_API_KEY,
};
use crate::jambonz_line::{attributes, check, checker, jambonz_signature, now, post_jambonz, validate_documents};
use crate::provider::{post_raw, ticket_from_speech, Input, Phone};

backends!(
    forged_stale_and_replayed_webhooks_are_refused_and_store_nothing,
    a_listen_stream_is_kept_only_for_the_call_its_url_was_sealed_to,
    the_callback_bridge_rings_the_lawyer_then_the_caller_into_a_conference_and_ends_it_for_both,
    concurrent_copies_of_a_jambonz_turn_are_handled_once,
    the_rest_requests_pass_the_node_clients_validators,
);

async fn jambonz(backend: Backend) -> TestApp {
    spawn_on(backend, Line::Jambonz).await
}

async fn forged_stale_and_replayed_webhooks_are_refused_and_store_nothing(backend: Backend) {
    let app = jambonz(backend).await;
    let phone = Phone::new(&app, "+8613800138000");
    let body = attributes(&phone, json!({})).to_string();
    let t = now();
    let good = jambonz_signature(&app.jambonz_secret, t, &body);
    // The harness signs exactly as jambonz does: jambonz's own verifier accepts it, and refuses
    // it for another body or secret.
    let verify = |secret: &str, header: &str, body: &str| {
        check(
            &["verify", secret],
            &json!({"header": header, "body": body}).to_string(),
        )
    };
    if let Some((accepted, said)) = verify(&app.jambonz_secret, &good, &body) {
        assert!(accepted, "{said}");
        assert!(!verify("another secret", &good, &body).unwrap().0);
        assert!(
            !verify(&app.jambonz_secret, &good, &body.replace("13800138000", "13800138001"))
                .unwrap()
                .0
        );
    }
    let post = |path: &'static str, body: String, signature: Option<String>, content_type: &'static str| {
        let app = &app;
        async move {
            let headers: Vec<(&str, &str)> = signature.iter().map(|s| ("Jambonz-Signature", s.as_str())).collect();
            post_raw(app, path, &body, &headers, content_type).await
        }
    };
    let json = "application/json";
    let refused = [
        ("no signature", post("/jambonz/voice", body.clone(), None, json).await),
        (
            "another secret",
            post(
                "/jambonz/voice",
                body.clone(),
                Some(jambonz_signature("guess", t, &body)),
                json,
            )
            .await,
        ),
        (
            "six minutes old",
            post(
                "/jambonz/voice",
                body.clone(),
                Some(jambonz_signature(&app.jambonz_secret, t - 360, &body)),
                json,
            )
            .await,
        ),
        (
            "an altered body",
            post(
                "/jambonz/voice",
                body.replace("13800138000", "13800138001"),
                Some(good.clone()),
                json,
            )
            .await,
        ),
        (
            // A signed body posted to a turn's URL the service never gave out.
            "an unsealed turn",
            post("/jambonz/voice/menu?turn=2", body.clone(), Some(good.clone()), json).await,
        ),
        (
            "a turn's seal on another turn",
            post(
                "/jambonz/voice/menu?turn=3&k=00112233445566778899aabbccddeeff",
                body.clone(),
                Some(good.clone()),
                json,
            )
            .await,
        ),
    ];
    for (what, reply) in &refused {
        assert_eq!(reply.status, 403, "{what}: {}", reply.body);
    }
    let form = post(
        "/jambonz/voice",
        body.clone(),
        Some(good.clone()),
        "application/x-www-form-urlencoded",
    )
    .await;
    assert_eq!(form.status, 415, "{}", form.body);
    let broken = "{\"call_sid\":";
    let malformed = post(
        "/jambonz/voice",
        broken.into(),
        Some(jambonz_signature(&app.jambonz_secret, t, broken)),
        json,
    )
    .await;
    assert_eq!(malformed.status, 400, "{}", malformed.body);
    assert!(malformed.body.contains("JSON"), "{}", malformed.body);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM provider_events").await,
        0,
        "nothing refused is stored"
    );

    // The real delivery, then jambonz's retry of it (a new timestamp, the same body): one call.
    let first = post("/jambonz/voice", body.clone(), Some(good), json).await;
    let verbs = first.assert_verbs();
    let retry = post(
        "/jambonz/voice",
        body.clone(),
        Some(jambonz_signature(&app.jambonz_secret, t + 2, &body)),
        json,
    )
    .await;
    assert_eq!(retry.body, first.body, "a retry gets the same answer");
    assert_eq!(app.count("SELECT COUNT(*) FROM calls").await, 1);
    validate_documents(std::slice::from_ref(&first.body));
    // The first menu's hook is sealed: its turn cannot be changed.
    let hook = verbs
        .iter()
        .find_map(|v| v["actionHook"].as_str())
        .expect("the menu waits");
    let path = hook.strip_prefix(&app.public_url).unwrap();
    assert!(
        path.starts_with("/jambonz/voice/menu?turn=1&") && path.contains("&k="),
        "{path}"
    );
    let other_turn = path.replacen("turn=1", "turn=9", 1);
    let pressed = attributes(&phone, json!({"reason": "dtmfDetected", "digits": "1"}));
    assert_eq!(post_jambonz(&app, &other_turn, &pressed).await.status, 403);
    assert_eq!(post_jambonz(&app, path, &pressed).await.status, 200);
    // A SIP phone's A key is a wrong key, said so, not a refused webhook.
    let other = Phone::new(&app, "+8613800138001");
    let menu = post_jambonz(&app, "/jambonz/voice", &attributes(&other, json!({}))).await;
    let hook = menu
        .assert_verbs()
        .iter()
        .find_map(|v| v["actionHook"].as_str().map(str::to_owned))
        .unwrap();
    let a = post_jambonz(
        &app,
        hook.strip_prefix(&app.public_url).unwrap(),
        &attributes(&other, json!({"reason": "dtmfDetected", "digits": "A"})),
    )
    .await;
    a.assert_verbs();
    assert!(a.body.contains("您按的键不在选项中"), "{}", a.body);
    app.stop().await;
}

/// Someone who has seen a listen URL cannot stream into another caller's recording with it.
async fn a_listen_stream_is_kept_only_for_the_call_its_url_was_sealed_to(backend: Backend) {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let app = jambonz(backend).await;
    // Consult, a matter: the description prompt, then its listen.
    let mut phone = Phone::new(&app, "+8613800138003");
    phone.call(&[Input::Keys("1"), Input::Keys("1")]).await;
    let listen = phone
        .documents
        .iter()
        .flat_map(|d| serde_json::from_str::<Vec<Value>>(d).unwrap())
        .find(|v| v["verb"] == "listen")
        .expect("the description is a listen");
    let url = listen["url"].as_str().unwrap();
    assert!(url.contains(&format!("&call={}&k=", phone.call_sid)), "{url}");
    let local = url.replacen(
        &app.public_url.replacen("http", "ws", 1),
        &format!("ws://{}", app.addr),
        1,
    );
    let other = uuid::Uuid::new_v4().to_string();
    let mut request = local.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", "audio.jambonz.org".parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let meta = json!({"callSid": other, "sampleRate": 8000});
    ws.send(tokio_tungstenite::tungstenite::Message::Text(meta.to_string().into()))
        .await
        .unwrap();
    let _ = ws
        .send(tokio_tungstenite::tungstenite::Message::Binary(vec![0u8; 3200].into()))
        .await;
    let _ = ws.send(tokio_tungstenite::tungstenite::Message::Close(None)).await;
    while let Some(Ok(_)) = ws.next().await {}
    let kept: Vec<String> = std::fs::read_dir(app.state.settings.data_dir.join("recordings"))
        .map(|dir| {
            dir.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    assert!(!kept.iter().any(|f| f.starts_with(&other)), "{kept:?}");
    // The URL with its seal changed to name the other call is refused before the upgrade.
    let forged = url.replacen(&phone.call_sid, &other, 1);
    let forged = forged.replacen(
        &app.public_url.replacen("http", "ws", 1),
        &format!("ws://{}", app.addr),
        1,
    );
    assert!(
        tokio_tungstenite::connect_async(forged).await.is_err(),
        "a changed URL is refused"
    );
    app.stop().await;
}

const ROSTER: &str = "name,phone,skills,regions,max_cases,shifts,exceptions
张明,+8613800000001,labour_wages;work_injury,610100,3,mon-sun 00:00-24:00,
";

/// What jambonz does with a call the service placed: posts to its call_hook once answered.
async fn answered_leg(app: &TestApp, request: &Value, call_sid: &str) -> Vec<Value> {
    let hook = request["call_hook"]["url"].as_str().expect("a call_hook");
    let body = json!({
        "call_sid": call_sid, "account_sid": JAMBONZ_ACCOUNT, "direction": "outbound",
        "from": request["from"], "to": request["to"]["number"], "call_status": "in-progress", "sip_status": 200,
    });
    let reply = post_jambonz(app, hook.strip_prefix(&app.public_url).unwrap(), &body).await;
    validate_documents(std::slice::from_ref(&reply.body));
    reply.assert_verbs()
}

async fn leg_status(app: &TestApp, request: &Value, call_sid: &str, status: &str) -> u16 {
    let hook = request["call_status_hook"]["url"].as_str().expect("a call_status_hook");
    let body = json!({"call_sid": call_sid, "account_sid": JAMBONZ_ACCOUNT, "direction": "outbound", "call_status": status, "duration": 0});
    post_jambonz(app, hook.strip_prefix(&app.public_url).unwrap(), &body)
        .await
        .status
}

async fn the_callback_bridge_rings_the_lawyer_then_the_caller_into_a_conference_and_ends_it_for_both(backend: Backend) {
    let app = jambonz(backend).await;
    app.state.db.import_roster(&parse_csv(ROSTER).unwrap()).await.unwrap();
    let zhang = app.state.db.lawyers().await.unwrap().remove(0).id;
    app.state
        .db
        .set_presence(&zhang, hotline::domain::callback::Presence::Available)
        .await
        .unwrap();
    let mut phone = Phone::new(&app, "+8613900000009");
    phone.call(&[Input::Keys("0")]).await;
    app.consultation(&ticket_from_speech(&phone.said())).await;
    app.provider.wait_for(1).await; // the ticket, texted through Twilio

    let offer = dispatch(&app.state, Utc::now()).await.unwrap().remove(0);
    callback::accept(&app.state, &offer.id, &zhang).await.unwrap();
    let sent = app.provider.wait_for(2).await;
    let lawyer = &sent[1];
    assert_eq!(lawyer.path, format!("/v1/Accounts/{JAMBONZ_ACCOUNT}/Calls"));
    assert!(lawyer.basic_auth_ok, "Bearer {JAMBONZ_API_KEY}");
    let lawyer = lawyer.json.clone().expect("a JSON body");
    assert_eq!(lawyer["from"], HOTLINE_NUMBER);
    assert_eq!(lawyer["to"], json!({"type": "phone", "number": "+8613800000001"}));
    assert_eq!(lawyer["timeout"], app.state.settings.callback.ring_secs);
    let a = app.state.db.assignment(&offer.id).await.unwrap().unwrap();
    let lawyer_sid = a.lawyer_call_sid.expect("the lawyer's call is known by jambonz's sid");

    // The lawyer answers: the case is whispered, then the conference waits for the caller.
    let verbs = answered_leg(&app, &lawyer, &lawyer_sid).await;
    let said: String = verbs
        .iter()
        .filter(|v| v["verb"] == "say")
        .map(|v| v["text"].to_string())
        .collect();
    assert!(said.contains("律师回电"), "{verbs:?}");
    let room = format!("callback-{}", offer.id);
    let conference = verbs.iter().find(|v| v["verb"] == "conference").expect("a conference");
    assert_eq!(
        (&conference["name"], &conference["endConferenceOnExit"]),
        (&json!(room), &json!(false))
    );

    // Then the caller's phone rings; they answer and join the same room, which ends with them.
    let sent = app.provider.wait_for(3).await;
    let caller = sent[2].json.clone().expect("a JSON body");
    assert_eq!(caller["to"]["number"], "+8613900000009");
    let caller_sid = loop {
        if let Some(sid) = app
            .state
            .db
            .assignment(&offer.id)
            .await
            .unwrap()
            .unwrap()
            .caller_call_sid
        {
            break sid;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let verbs = answered_leg(&app, &caller, &caller_sid).await;
    let conference = verbs.iter().find(|v| v["verb"] == "conference").expect("a conference");
    assert_eq!(
        (&conference["name"], &conference["endConferenceOnExit"]),
        (&json!(room), &json!(true))
    );
    // The lawyer hangs up first: the caller is told, not left alone in a silent conference.
    assert_eq!(leg_status(&app, &lawyer, &lawyer_sid, "completed").await, 200);
    let sent = app.provider.wait_for(4).await;
    let update = &sent[3];
    assert_eq!(
        update.path,
        format!("/v1/Accounts/{JAMBONZ_ACCOUNT}/Calls/{caller_sid}")
    );
    let hook = update.json.as_ref().unwrap()["call_hook"]["url"]
        .as_str()
        .expect("a redirect")
        .to_owned();
    let told = post_jambonz(
        &app,
        hook.strip_prefix(&app.public_url).unwrap(),
        &json!({"call_sid": caller_sid, "call_status": "in-progress"}),
    )
    .await;
    validate_documents(std::slice::from_ref(&told.body));
    assert!(told.body.contains("律师已经结束通话"), "{}", told.body);
    assert_eq!(told.assert_verbs().last(), Some(&json!({"verb": "hangup"})));
    let done = app.state.db.assignment(&offer.id).await.unwrap().unwrap();
    assert_eq!(done.state.as_str(), "completed");
    assert_eq!(leg_status(&app, &caller, &caller_sid, "completed").await, 200);
    let done = app.state.db.assignment(&offer.id).await.unwrap().unwrap();
    assert_eq!(done.state.as_str(), "completed");
    app.stop().await;
}

/// Ten copies of one key press at once: one is acted on, every copy hears its answer.
async fn concurrent_copies_of_a_jambonz_turn_are_handled_once(backend: Backend) {
    let app = jambonz(backend).await;
    let phone = Phone::new(&app, "+8613800138002");
    let first = post_jambonz(&app, "/jambonz/voice", &attributes(&phone, json!({}))).await;
    let verbs = first.assert_verbs();
    let hook = verbs.iter().find_map(|v| v["actionHook"].as_str()).unwrap().to_owned();
    let path = hook.strip_prefix(&app.public_url).unwrap().to_owned();
    let pressed = attributes(&phone, json!({"reason": "dtmfDetected", "digits": "0"}));
    for round in 0..5 {
        let copies = (0..10).map(|_| post_jambonz(&app, &path, &pressed));
        let replies = futures_util::future::join_all(copies).await;
        for r in &replies {
            assert_eq!(
                r.body, replies[0].body,
                "round {round}: every copy hears the one answer"
            );
        }
        validate_documents(std::slice::from_ref(&replies[0].body));
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM consultations").await,
        1,
        "one callback, not ten"
    );
    app.stop().await;
}

struct Mock(Child);

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// jambonz's REST API as node-client calls it (tests/jambonz/check.js serve).
async fn the_rest_requests_pass_the_node_clients_validators(backend: Backend) {
    let Some(script) = checker() else { return };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _mock = Mock(
        Command::new("node")
            .arg(script)
            .args(["serve", &port.to_string(), JAMBONZ_ACCOUNT, JAMBONZ_API_KEY])
            .stdout(Stdio::null())
            .spawn()
            .expect("node runs"),
    );
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    for _ in 0..100 {
        if http.get(format!("{base}/requests")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let app = spawn_app_with(
        backend,
        Options {
            line: Line::Jambonz,
            jambonz_api: Some(base.clone()),
            ..Options::default()
        },
    )
    .await;
    let telephony = &app.state.telephony;
    let assignment = "0b7c1f4e-2a6d-4c3e-9f1a-5d2b8e7c6a90";
    for (leg, to) in [(Leg::Lawyer, "+8613800000001"), (Leg::Caller, "+8613900000009")] {
        let call = OutboundCall {
            to,
            from: HOTLINE_NUMBER,
            leg,
            assignment,
            ring_secs: 30,
        };
        let placed = telephony.place_call(&call).await;
        assert!(
            placed.as_ref().is_ok_and(|sid| sid.len() == 36),
            "{leg:?} leg: {placed:?}"
        );
    }
    let told = [
        Action::Say {
            text: "对不起，来电人没有接听。".into(),
            key: None,
            speed_percent: 100,
        },
        Action::Hangup,
    ];
    telephony
        .update_call("2b4c6d8e-1111-2222-3333-444455556666", &told)
        .await
        .unwrap();
    telephony
        .update_call("2b4c6d8e-1111-2222-3333-444455556666", &[Action::Hangup])
        .await
        .unwrap();
    let requests: Vec<Value> = http
        .get(format!("{base}/requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(requests.len(), 4, "{requests:?}");
    for r in &requests {
        assert_eq!(r["error"], Value::Null, "node-client's validator refused {r}");
    }
    assert_eq!(requests[3]["body"], json!({"call_status": "completed"}));
    // jambonz fetches the update's document from its call_hook: the words, then the hang-up.
    let hook = requests[2]["body"]["call_hook"]["url"].as_str().unwrap();
    let path = hook.strip_prefix(&app.public_url).expect("under the public URL");
    assert!(path.starts_with("/jambonz/voice/continue?"), "{path}");
    let body = json!({"call_sid": "2b4c6d8e-1111-2222-3333-444455556666", "call_status": "in-progress"});
    let reply = post_jambonz(&app, path, &body).await;
    let verbs = reply.assert_verbs();
    assert_eq!(verbs.last(), Some(&json!({"verb": "hangup"})));
    assert!(reply.body.contains("来电人没有接听"), "{}", reply.body);
    validate_documents(std::slice::from_ref(&reply.body));
    // A changed document is not one the service wrote.
    let forged = path.replacen("doc=", "doc=W3sidmVyYiI6Imhhbmd1cCJ9XQ", 1);
    assert_eq!(post_jambonz(&app, &forged, &body).await.status, 403);
    // The API refusing a call is an error the caller of the port sees.
    http.post(format!("{base}/refuse?n=1")).send().await.unwrap();
    let call = OutboundCall {
        to: "+8613800000001",
        from: HOTLINE_NUMBER,
        leg: Leg::Lawyer,
        assignment,
        ring_secs: 30,
    };
    let refused = telephony.place_call(&call).await.unwrap_err();
    assert!(refused.is_transient(), "{refused}");
    app.stop().await;
}
