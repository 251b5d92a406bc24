//! Prompts as synthesised telephone audio: every prompt a Play of µ-law WAV served from
//! /audio, the caller's rate changing the audio and remembered, Say only as the fallback (on
//! either provider).

use hotline::config::SpeechEngine;
use hotline::speech::telephone::{decode_wav, parse_wav, to_telephone_wav};

use serde_json::Value;

use crate::helpers::{spawn_app_with, tone_wav, Backend, Line, Options, TestApp};
use crate::lines;
use crate::provider::{Heard, Input, Phone};

lines!(
    every_prompt_plays_our_audio_and_the_rate_choice_changes_and_sticks,
    a_failing_engine_falls_back_to_say,
);

fn espeak() -> Options {
    Options {
        speech: Some(SpeechEngine::Espeak),
        ..Options::default()
    }
}

fn espeak_on(line: Line) -> Options {
    Options { line, ..espeak() }
}

/// Fetches a played URL as the provider would and checks it is telephone audio.
async fn fetch_audio(app: &TestApp, url: &str) -> (Vec<u8>, f64) {
    let path = url.strip_prefix(&app.public_url).expect("served by us");
    let resp = app.http.get(app.url(path)).send().await.unwrap();
    assert_eq!(resp.status(), 200, "{url}");
    assert_eq!(resp.headers()["content-type"], "audio/wav");
    let len: usize = resp.headers()["content-length"].to_str().unwrap().parse().unwrap();
    let bytes = resp.bytes().await.unwrap().to_vec();
    assert_eq!(bytes.len(), len);
    let info = parse_wav(&bytes).expect("a WAV file");
    assert_eq!(
        (info.format_tag, info.channels, info.sample_rate, info.bits_per_sample),
        (7, 1, 8000, 8)
    );
    let secs = info.duration_secs();
    assert!(secs > 0.3 && secs < 60.0, "plausible prompt length: {secs}");
    (bytes, secs)
}

/// The played URLs of a TwiML or jambonz verb document, in order.
pub fn plays(document: &str) -> Vec<String> {
    if document.starts_with('[') {
        return verbs(document, "play")
            .into_iter()
            .flat_map(|play| match &play["url"] {
                Value::String(url) => vec![url.clone()],
                Value::Array(urls) => urls.iter().filter_map(|u| u.as_str().map(str::to_owned)).collect(),
                _ => Vec::new(),
            })
            .collect();
    }
    let doc = roxmltree::Document::parse(document).unwrap();
    doc.descendants()
        .filter(|n| n.has_tag_name("Play"))
        .map(|n| n.text().unwrap().to_owned())
        .collect()
}

/// Whether a TwiML or jambonz document has the provider say anything.
fn says(document: &str) -> bool {
    if document.starts_with('[') {
        !verbs(document, "say").is_empty()
    } else {
        document.contains("<Say")
    }
}

/// The verbs called `name` of a jambonz document, also those nested in a gather.
fn verbs(document: &str, name: &str) -> Vec<Value> {
    let verbs: Vec<Value> = serde_json::from_str(document).expect("a verb document");
    verbs
        .into_iter()
        .flat_map(|verb| {
            let nested = verb.get(name).cloned();
            let own = (verb["verb"] == name).then_some(verb);
            own.into_iter().chain(nested)
        })
        .collect()
}

async fn every_prompt_plays_our_audio_and_the_rate_choice_changes_and_sticks(backend: Backend, line: Line) {
    let app = spawn_app_with(backend, espeak_on(line)).await;
    // As `hotline serve` does at start-up (here before the call, so the answers' time budget
    // is not spent on prompts a test running in parallel is also rendering).
    app.state.voice.render_all(&app.state.prompts).await.unwrap();
    let mut phone = Phone::new(&app, "+8613800138000");
    phone.call(&[Input::Keys("7"), Input::Keys("0")]).await;
    for doc in &phone.documents {
        assert!(!says(doc), "every prompt is our audio: {doc}");
    }
    assert!(
        phone.heard.iter().all(|h| matches!(h, Heard::Play(_) | Heard::Hangup)),
        "{:?}",
        phone.heard
    );

    // First answer: welcome + menu (+ the keys' rules) at normal rate. After 7: "slower" notice
    // + the menu, slower. The menu is the second thing said in each.
    let menu = |doc: &str| plays(doc)[1].clone();
    let normal_menu = menu(&phone.documents[0]);
    let slower_menu = menu(&phone.documents[1]);
    assert_ne!(normal_menu, slower_menu, "a different rendering");
    let (_, normal_secs) = fetch_audio(&app, &normal_menu).await;
    let (_, slower_secs) = fetch_audio(&app, &slower_menu).await;
    assert!(
        slower_secs > normal_secs * 1.15,
        "slower {slower_secs:.2}s vs normal {normal_secs:.2}s"
    );
    // The ticket (a text made for this call) is rendered on demand too.
    for url in plays(&phone.documents[2]) {
        fetch_audio(&app, &url).await;
    }

    // R4: the next call from a number that chose 7 starts at the slower rate.
    let mut chooser = Phone::new(&app, "+8613800138111");
    chooser.call(&[Input::Keys("7")]).await;
    let mut again = Phone::new(&app, "+8613800138111");
    again.call(&[]).await;
    assert_eq!(menu(&again.documents[0]), slower_menu);

    // After a silent turn the menu is said again more slowly, without changing the profile.
    let mut quiet = Phone::new(&app, "+8613900139009");
    quiet.call(&[Input::Silence]).await;
    assert_eq!(menu(&quiet.documents[0]), normal_menu);
    // (no_input, the menu, the keys' rules)
    assert_eq!(menu(&quiet.documents[1]), slower_menu);

    // Caching headers, HEAD, conditional GET, unknown keys.
    let path = slower_menu.strip_prefix(&app.public_url).unwrap();
    let head = app.http.head(app.url(path)).send().await.unwrap();
    assert_eq!(head.status(), 200);
    let etag = head.headers()["etag"].to_str().unwrap().to_owned();
    assert!(head.headers()["cache-control"].to_str().unwrap().contains("max-age"));
    assert!(
        head.headers()["content-length"]
            .to_str()
            .unwrap()
            .parse::<usize>()
            .unwrap()
            > 1000
    );
    assert!(head.bytes().await.unwrap().is_empty());
    let cached = app
        .http
        .get(app.url(path))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), 304);
    for bad in [
        "/audio/0123456789abcdef0123456789abcdef.wav",
        "/audio/..%2F..%2Fetc%2Fpasswd.wav",
        "/audio/x",
    ] {
        assert_eq!(app.http.get(app.url(bad)).send().await.unwrap().status(), 404, "{bad}");
    }
    app.stop().await;
}

async fn a_failing_engine_falls_back_to_say(backend: Backend, line: Line) {
    // A TTS server that is not there: every prompt is said by the provider instead.
    let app = spawn_app_with(
        backend,
        Options {
            speech: Some(SpeechEngine::Http),
            tts_url: Some("http://127.0.0.1:1/v1/audio/speech".into()),
            line,
            ..Options::default()
        },
    )
    .await;
    let mut phone = Phone::new(&app, "+8613800138000");
    phone.call(&[Input::Keys("0")]).await;
    assert!(phone.said().contains("法律咨询，请按1"), "{}", phone.said());
    assert!(phone.documents.iter().all(|d| plays(d).is_empty()));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_prompt_replaces_synthesis() {
    let recorded = tempfile::tempdir().unwrap();
    let wav = tone_wav(16000, 2.0, 440.0);
    std::fs::write(recorded.path().join("welcome.wav"), &wav).unwrap();

    let app = spawn_app_with(
        Backend::Sqlite,
        Options {
            recorded_dir: Some(recorded.path().to_owned()),
            ..espeak()
        },
    )
    .await;
    let mut phone = Phone::new(&app, "+8613800138000");
    phone.call(&[]).await;
    let welcome = plays(&phone.documents[0]).first().unwrap().clone();
    let (bytes, secs) = fetch_audio(&app, &welcome).await;
    assert!(
        (secs - 2.0).abs() < 0.05,
        "the recording's length, not a synthesised one: {secs}"
    );
    let expected = to_telephone_wav(&decode_wav(&wav).unwrap()).unwrap();
    assert_eq!(bytes, expected, "the recording, converted to telephone audio");
    app.stop().await;
}

#[tokio::test]
async fn an_openai_compatible_tts_server_is_used() {
    use axum::routing::post;
    use axum::Json;
    // A local stand-in for a neural TTS server: checks the request shape, answers a 24 kHz WAV
    // whose length depends on the requested speed.
    async fn speech(Json(req): Json<serde_json::Value>) -> Vec<u8> {
        assert_eq!(req["model"], "tts-1");
        assert_eq!(req["response_format"], "wav");
        assert!(req["input"].as_str().unwrap().contains("律师"));
        let speed = req["speed"].as_f64().unwrap() as f32;
        tone_wav(24000, 1.0 / speed, 300.0)
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1/audio/speech", listener.local_addr().unwrap());
    tokio::spawn(
        async move { axum::serve(listener, axum::Router::new().route("/v1/audio/speech", post(speech))).await },
    );

    let dir = tempfile::tempdir().unwrap();
    let mut settings = hotline::config::Settings::defaults().speech;
    settings.engine = SpeechEngine::Http;
    settings.http_url = url;
    settings.cache_dir = dir.path().join("cache");
    let voice = hotline::speech::Voice::from_settings(&settings).unwrap();
    let mut durations = Vec::new();
    for rate in hotline::speech::SpeechRate::ALL {
        let key = voice.render(None, "请稍候，律师马上接听", rate).await.unwrap();
        let wav = voice.audio(&key).await.unwrap();
        durations.push(parse_wav(&wav).unwrap().duration_secs());
    }
    assert!(
        durations[0] > durations[1] && durations[1] > durations[2],
        "{durations:?}"
    );
}
