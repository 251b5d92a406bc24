//! Speech recognition under overload, against the real `hotline serve` process: a burst of
//! spoken turns far above the recognisers' capacity is answered (by voice or, when busy, by
//! asking for keys) with valid TwiML every time; afterwards the process is idle again — no
//! abandoned recognition keeps burning CPU, threads and memory come back — and SIGTERM during a
//! second burst exits within the configured grace.

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use crate::binary::{self, free_port};
use crate::helpers::{random_hex, FakeProvider, ACCOUNT_SID, HOTLINE_NUMBER};
use crate::listen::{model, WHISPER};
use crate::provider::{form_body, pairs, sid, twilio_signature};

const BURST: usize = 16;
const GRACE_SECS: u64 = 5;

struct Server {
    child: Child,
    client: Client,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Signed webhooks to the server, as the provider sends them.
#[derive(Clone)]
struct Client {
    base: String,
    token: String,
}

impl Client {
    async fn post(&self, path: &str, params: &[(String, String)]) -> reqwest::Result<(u16, String)> {
        let url = format!("{}{path}", self.base);
        let signature = twilio_signature(&self.token, &url, params);
        let response = reqwest::Client::new()
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-twilio-signature", signature)
            .body(form_body(params))
            .timeout(Duration::from_secs(60))
            .send()
            .await?;
        let status = response.status().as_u16();
        Ok((status, response.text().await.unwrap_or_default()))
    }

    /// A new call: its sid and the path of the main menu's speech window (the Record action).
    async fn call(&self) -> (String, String) {
        let call_sid = sid("CA");
        let (status, twiml) = self
            .post("/twilio/voice", &call_params(&call_sid, &[]))
            .await
            .expect("the server answers");
        assert_eq!(status, 200, "{twiml}");
        let doc = roxmltree::Document::parse(&twiml).expect("TwiML");
        let action = doc
            .descendants()
            .find(|n| n.has_tag_name("Record"))
            .and_then(|n| n.attribute("action"))
            .unwrap_or_else(|| panic!("the main menu opens a speech window: {twiml}"));
        (call_sid, action.strip_prefix(&self.base).unwrap().to_owned())
    }

    /// One spoken menu answer; asserts valid TwiML came back (unless the server is gone: a
    /// burst may still be in flight when it is told to stop).
    async fn answer(&self, call_sid: &str, path: &str, recording: &str) {
        let extra = [
            ("RecordingUrl", recording),
            ("RecordingDuration", "2"),
            ("RecordingSid", "RE00000000000000000000000000000001"),
        ];
        let Ok((status, twiml)) = self.post(path, &call_params(call_sid, &extra)).await else {
            return;
        };
        assert_eq!(status, 200, "{twiml}");
        assert!(twiml.starts_with("<?xml"), "{twiml}");
        roxmltree::Document::parse(&twiml).expect("valid TwiML");
    }

    /// BURST calls reach the speech window, then answer one after another, faster than one
    /// recogniser can hear them (each turn's time runs out while recognising).
    async fn burst(&self, recording: &'static str) -> Vec<tokio::task::JoinHandle<()>> {
        let mut calls = Vec::new();
        for _ in 0..BURST {
            calls.push(self.call().await);
        }
        let mut answers = Vec::new();
        for (call_sid, path) in calls {
            let this = self.clone();
            answers.push(tokio::spawn(
                async move { this.answer(&call_sid, &path, recording).await },
            ));
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
        answers
    }
}

fn call_params(call_sid: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut p = pairs(&[
        ("AccountSid", ACCOUNT_SID),
        ("CallSid", call_sid),
        ("CallStatus", "in-progress"),
        ("Direction", "inbound"),
        ("From", "+8613800138077"),
        ("To", HOTLINE_NUMBER),
    ]);
    p.extend(pairs(extra));
    p
}

/// (threads, resident KiB, CPU ticks used so far) of a process, from /proc. SQLite's
/// connection threads (one per pooled connection, up to `database.max_connections`) are not
/// counted: the pool keeps them while they are idle, whatever speech does.
fn usage(pid: u32) -> (usize, u64, u64) {
    let threads = thread_names(pid)
        .split(',')
        .filter(|n| !n.is_empty() && !n.starts_with("sqlx-sqlite"))
        .count();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    // utime and stime are fields 14 and 15 of stat; 12 and 13 after the name and state.
    (threads, rss, ticks(11) + ticks(12))
}

fn thread_names(pid: u32) -> String {
    let mut names: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|d| {
            d.filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
                .map(|n| n.trim().to_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names.join(",")
}

/// CPU used over `window`, as a share of one core.
async fn cpu_share(pid: u32, window: Duration) -> f64 {
    let (_, _, before) = usage(pid);
    tokio::time::sleep(window).await;
    let (_, _, after) = usage(pid);
    (after - before) as f64 / 100.0 / window.as_secs_f64()
}

async fn start(model: &std::path::Path, provider: &FakeProvider, token: &str) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = binary::serve(
        Command::new(env!("CARGO_BIN_EXE_hotline")),
        dir.path(),
        port,
        token,
        &provider.base,
    )
    .env("HOTLINE_WHISPER_MODEL", model)
    .env("HOTLINE_WHISPER_RECORDING_HOSTS", "127.0.0.1")
    .env("HOTLINE_WHISPER_WORKERS", "1")
    .env("HOTLINE_WHISPER_QUEUE_WAIT_MS", "1500")
    // 0.5 s for a spoken answer: less than recognising the clip takes.
    .env("HOTLINE_IVR_WEBHOOK_BUDGET_MS", "2000")
    .env("HOTLINE_SHUTDOWN_GRACE_SECS", GRACE_SECS.to_string())
    .spawn()
    .expect("the hotline binary starts");
    binary::wait_ready(&mut child, &base).await;
    Server {
        child,
        client: Client {
            base,
            token: token.to_owned(),
        },
        _dir: dir,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overload_of_spoken_turns_leaves_the_process_idle_and_stoppable() {
    let Some(model) = model() else { return };
    let _turn = WHISPER.lock().await;
    let token = random_hex(16);
    let provider = FakeProvider::start(&token).await;
    let clip = std::fs::read("tests/data/call-speech/description-0-normal.wav").unwrap();
    let recording = provider.add_recording(clip);
    let mut server = start(&model, &provider, &token).await;
    let pid = server.child.id();
    let client = server.client.clone();

    // Warm: one spoken turn, then the idle figures.
    let (call_sid, path) = client.call().await;
    client.answer(&call_sid, &path, recording).await;
    tokio::time::sleep(Duration::from_secs(11)).await;
    let (idle_threads, idle_rss, _) = usage(pid);
    let idle_cpu = cpu_share(pid, Duration::from_secs(1)).await;
    eprintln!(
        "idle: {idle_threads} threads, {} MiB, {idle_cpu:.2} of a core",
        idle_rss / 1024
    );

    // A burst far above one recogniser: every turn is answered with TwiML.
    let started = Instant::now();
    for answer in client.burst(recording).await {
        answer.await.expect("the turn was answered");
    }
    let (peak_threads, peak_rss, _) = usage(pid);
    eprintln!(
        "burst of {BURST} answered in {:.1} s; then {peak_threads} threads, {} MiB",
        started.elapsed().as_secs_f64(),
        peak_rss / 1024
    );
    // Nobody waits any more: no recognition may go on burning CPU.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let after_cpu = cpu_share(pid, Duration::from_secs(2)).await;
    eprintln!("after the burst: {after_cpu:.2} of a core");
    assert!(
        after_cpu < 0.25,
        "abandoned recognitions still run: {after_cpu:.2} of a core"
    );
    // Idle blocking threads leave after 10 s; memory of the finished recognitions is freed.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let (threads, rss, _) = usage(pid);
    eprintln!("settled: {threads} threads, {} MiB: {}", rss / 1024, thread_names(pid));
    assert!(threads <= idle_threads + 4, "threads {threads}, idle {idle_threads}");
    assert!(
        rss <= idle_rss + 200 * 1024,
        "memory {} MiB, idle {} MiB",
        rss / 1024,
        idle_rss / 1024
    );
    // The same again: what the allocator kept the first time is reused, nothing piles up.
    for answer in client.burst(recording).await {
        answer.await.expect("the turn was answered");
    }
    tokio::time::sleep(Duration::from_secs(12)).await;
    let (threads2, rss2, _) = usage(pid);
    eprintln!("after a second burst: {threads2} threads, {} MiB", rss2 / 1024);
    assert!(threads2 <= idle_threads + 4, "threads {threads2}, idle {idle_threads}");
    assert!(
        rss2 <= rss + 32 * 1024,
        "memory grew from {} to {} MiB",
        rss / 1024,
        rss2 / 1024
    );

    // SIGTERM in the middle of a second burst: the process is gone within the grace.
    let burst = client.burst(recording).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stopping = Instant::now();
    let killed = Command::new("kill").arg("-TERM").arg(pid.to_string()).status().unwrap();
    assert!(killed.success());
    let exited = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break Some(status);
        }
        if stopping.elapsed() > Duration::from_secs(GRACE_SECS + 5) {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    eprintln!("SIGTERM to exit: {:.2} s", stopping.elapsed().as_secs_f64());
    assert!(exited.is_some(), "still running {GRACE_SECS} s + 5 s after SIGTERM");
    for answer in burst {
        let _ = answer.await;
    }
}

/// A caller's spoken answer comes before a description being transcribed in the background:
/// with one recogniser busy on a transcript, the answer is heard (not "busy"), and the
/// transcript is taken up again and finished afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callers_answer_goes_before_a_background_transcript() {
    use hotline::asr::{audio, Mode, Pool, Recogniser};
    use hotline::ivr::listen::{choices, prompt_words};
    use hotline::ivr::{CallState, Flow};
    use hotline::prompts::Prompts;

    let Some(model) = model() else { return };
    let _turn = WHISPER.lock().await;
    let pool = Pool {
        workers: 1,
        threads: 2,
        // Long enough for a transcript to finish first, as it did before answers came first.
        queue_wait: Duration::from_secs(60),
        transcript_threads: 1,
        ..Pool::from_settings(&hotline::config::Settings::defaults().whisper)
    };
    let r = Recogniser::load(&model, pool).unwrap();
    let clip = |name: &str| {
        let wav = std::fs::read(format!("tests/data/call-speech/{name}-0-normal.wav")).unwrap();
        audio::wav_to_16k(&wav, 130).unwrap()
    };
    let description = clip("description");
    let transcript = {
        let r = r.clone();
        tokio::spawn(async move {
            let result = r.recognise(description, Mode::Free).await;
            (result, Instant::now())
        })
    };
    // The transcript is under way when the caller answers.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let flow = Flow::main(&Prompts::zh_cn());
    let at = CallState {
        node: "main".into(),
        ..CallState::default()
    };
    let choices = choices(&flow, &at).unwrap();
    let menu = Mode::Menu {
        words: prompt_words(&choices),
        choices,
    };
    let started = Instant::now();
    let answer = r.recognise(clip("consult"), menu).await;
    let answered = Instant::now();
    eprintln!("the answer took {:.2} s: {answer:?}", started.elapsed().as_secs_f64());
    let heard = answer.expect("heard, not busy").heard.expect("an option");
    assert_eq!(heard.intent, "consult");
    let (transcript, transcribed) = transcript.await.unwrap();
    let transcript = transcript.expect("the transcript is finished after all");
    assert!(transcript.text.contains("工资"), "{}", transcript.text);
    assert!(answered < transcribed, "the caller's answer came first");
}
