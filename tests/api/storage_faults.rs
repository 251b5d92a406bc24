//! Storage faults against the real `hotline serve` process and its real SQLite files: losing the
//! WAL index file kills nothing (there is none: the index is in the process's memory), and when
//! the files cannot grow (a full disk) callers hear the spoken fallback, the process lives on
//! and `/readyz` says the database does not take writes.

use std::process::Command;
use std::time::Duration;

use crate::binary::{self, free_port};
use crate::helpers::{random_hex, ACCOUNT_SID, HOTLINE_NUMBER};
use crate::provider::{form_body, pairs, sid, twilio_signature};

const APOLOGY: &str = "非常抱歉";

/// A signed incoming call; (status, body).
async fn call(base: &str, token: &str) -> (u16, String) {
    let url = format!("{base}/twilio/voice");
    let params = pairs(&[
        ("AccountSid", ACCOUNT_SID),
        ("CallSid", &sid("CA")),
        ("CallStatus", "ringing"),
        ("Direction", "inbound"),
        ("From", "+8613800138011"),
        ("To", HOTLINE_NUMBER),
    ]);
    let response = reqwest::Client::new()
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-twilio-signature", twilio_signature(token, &url, &params))
        .body(form_body(&params))
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .expect("the server answers");
    (response.status().as_u16(), response.text().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_the_wal_index_file_kills_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (port, token) = (free_port(), random_hex(16));
    let base = format!("http://127.0.0.1:{port}");
    let child = binary::serve(
        Command::new(env!("CARGO_BIN_EXE_hotline")),
        dir.path(),
        port,
        &token,
        "http://127.0.0.1:9",
    )
    .spawn()
    .unwrap();
    let mut server = binary::Running(child);
    let child = &mut server.0;
    binary::wait_ready(child, &base).await;
    assert_eq!(call(&base, &token).await.0, 200);
    let maps = std::fs::read_to_string(format!("/proc/{}/maps", child.id())).unwrap();
    assert!(
        !maps.contains("hotline.db-shm"),
        "the WAL index is memory-mapped from a file, whose loss means SIGBUS"
    );
    // What killed the process before: the -shm file cut short under it.
    let shm = dir.path().join("hotline.db-shm");
    if shm.exists() {
        std::fs::File::options()
            .write(true)
            .open(&shm)
            .unwrap()
            .set_len(0)
            .unwrap();
    }
    for _ in 0..10 {
        let (status, body) = call(&base, &token).await;
        assert_eq!(status, 200);
        assert!(body.contains("<Gather") && !body.contains(APOLOGY), "{body}");
    }
    assert!(child.try_wait().unwrap().is_none(), "the process is alive");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_disk_is_full_callers_hear_the_fallback_and_readyz_is_503() {
    let dir = tempfile::tempdir().unwrap();
    let (port, token) = (free_port(), random_hex(16));
    let base = format!("http://127.0.0.1:{port}");
    // A file-size limit makes every write past it fail (EFBIG) as a full disk does (ENOSPC),
    // once the server ignores SIGXFSZ, whose default is to end the process.
    let mut wrapper = Command::new("prlimit");
    wrapper.args(["--fsize=1572864", "--", env!("CARGO_BIN_EXE_hotline")]);
    let child = binary::serve(wrapper, dir.path(), port, &token, "http://127.0.0.1:9")
        .spawn()
        .unwrap();
    let mut server = binary::Running(child);
    let child = &mut server.0;
    binary::wait_ready(child, &base).await;
    let mut calls = 0;
    let body = loop {
        let (status, body) = call(&base, &token).await;
        assert_eq!(status, 200, "a voice webhook always answers 200: {body}");
        calls += 1;
        if body.contains(APOLOGY) {
            break body;
        }
        assert!(calls < 5000, "the database never filled up");
    };
    assert!(
        body.starts_with("<?xml") && body.contains("<Say"),
        "spoken TwiML: {body}"
    );
    let readyz = reqwest::get(format!("{base}/readyz")).await.unwrap();
    assert_eq!(readyz.status(), 503, "not ready while writes fail");
    let detail: serde_json::Value = readyz.json().await.unwrap();
    assert_eq!(detail["database"]["ok"], false, "{detail}");
    // Later callers hear spoken TwiML whatever still fits (the menu, or the fallback again);
    // the process lives on.
    let mut fallbacks = 0;
    for _ in 0..20 {
        let (status, body) = call(&base, &token).await;
        assert_eq!(status, 200);
        assert!(body.starts_with("<?xml") && body.contains("<Say"), "{body}");
        fallbacks += usize::from(body.contains(APOLOGY));
    }
    eprintln!("the disk filled after {calls} calls; {fallbacks} of the next 20 heard the fallback");
    assert!(child.try_wait().unwrap().is_none(), "the process is alive");
    assert_eq!(reqwest::get(format!("{base}/healthz")).await.unwrap().status(), 200);
}
