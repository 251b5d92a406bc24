//! The real `hotline serve` process (the binary cargo built for these tests), for what only a
//! separate process shows: its threads and memory, signals, and faults in its own files.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::helpers::{random_hex, redis_url, ACCOUNT_SID, HOTLINE_NUMBER};

/// `hotline serve` configured for a test: its own SQLite file in `dir`, its own Redis prefix,
/// speech output off, the provider's REST API at `provider`. `program` runs it (the binary, or
/// a wrapper such as `prlimit` with the binary as its first argument).
pub fn serve(program: Command, dir: &Path, port: u16, token: &str, provider: &str) -> Command {
    let mut command = program;
    command
        .arg("serve")
        .env("HOTLINE_BIND", format!("127.0.0.1:{port}"))
        .env("HOTLINE_PUBLIC_URL", format!("http://127.0.0.1:{port}"))
        .env("HOTLINE_DATA_DIR", dir)
        .env(
            "HOTLINE_DATABASE_URL",
            format!("sqlite://{}?mode=rwc", dir.join("hotline.db").display()),
        )
        .env("HOTLINE_REDIS_URL", redis_url())
        .env("HOTLINE_REDIS_PREFIX", format!("hotline-process-{}", random_hex(6)))
        .env("HOTLINE_HOTLINE_NUMBER", HOTLINE_NUMBER)
        .env("HOTLINE_TWILIO_ACCOUNT_SID", ACCOUNT_SID)
        .env("HOTLINE_TWILIO_AUTH_TOKEN", token)
        .env("HOTLINE_TWILIO_API_BASE", provider)
        .env("HOTLINE_SPEECH_ENGINE", "none")
        .env("HOTLINE_JOBS_IN_SERVE", "false")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

/// A started server, stopped when dropped (also when a test fails half-way).
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until `/readyz` says ready; panics after 30 s.
pub async fn wait_ready(child: &mut Child, base: &str) {
    for _ in 0..300 {
        if let Ok(r) = reqwest::get(format!("{base}/readyz")).await {
            if r.status() == 200 {
                return;
            }
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("hotline serve exited before it was ready: {status}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("hotline serve did not become ready");
}
