//! The settings as an operator meets them (issue 20): `hotline config check` reports every
//! problem at once and hides secrets, `serve` refuses to start on the same problems, the
//! shipped example environment starts the service, a SQLite file is created when missing, and
//! an unreachable PostgreSQL is named with the reason.

use std::process::{Command, Output, Stdio};

use crate::binary::{free_port, wait_ready, Running};
use crate::helpers::{random_hex, redis_url};

/// The binary with only these variables (none inherited, so a developer's own settings do
/// not leak in), run to the end.
fn hotline<K: AsRef<std::ffi::OsStr>>(args: &[&str], vars: &[(K, String)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hotline"));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in vars {
        command.env(k, v);
    }
    command.output().expect("hotline runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The example file's variables, with the one placeholder that must have a shape filled in.
fn example() -> Vec<(String, String)> {
    include_str!("../../deploy/hotline.env.example")
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| {
            let v = if k == "HOTLINE_DATA_KEY" {
                "ab".repeat(32)
            } else {
                v.to_owned()
            };
            (k.to_owned(), v)
        })
        .collect()
}

#[test]
fn config_check_reports_every_problem_at_once_and_serve_refuses_them() {
    let dir = tempfile::tempdir().unwrap();
    let bad = vec![
        ("HOTLINE_DATA_DIR", dir.path().display().to_string()),
        ("HOTLINE_BIND", "localhost-8080".to_owned()),
        ("HOTLINE_CALLBACK_MAX_ATTEMPTS", "three".to_owned()),
        ("HOTLINE_PUBLIC_URL", "hotline.example.org".to_owned()),
        ("HOTLINE_REDIS_PREFIX", "two words".to_owned()),
        ("HOTLINE_TWILIO_AUTH_TOKEN", "do-not-print-me".to_owned()),
        ("HOTLINE_JOBS_INSERVE", "false".to_owned()),
    ];
    let check = hotline(&["config", "check"], &bad);
    let said = text(&check);
    assert_eq!(check.status.code(), Some(1), "{said}");
    for variable in [
        "HOTLINE_BIND",
        "HOTLINE_CALLBACK_MAX_ATTEMPTS",
        "HOTLINE_PUBLIC_URL",
        "HOTLINE_REDIS_PREFIX",
    ] {
        assert!(said.contains(&format!("- {variable} (")), "{variable} named: {said}");
    }
    assert!(said.contains("# 4 problem(s)"), "{said}");
    assert!(
        said.contains("for example HOTLINE_PUBLIC_URL=https://hotline.example.org"),
        "{said}"
    );
    assert!(said.contains("twilio.auth_token = (set, hidden)"), "{said}");
    assert!(!said.contains("do-not-print-me"), "a secret printed: {said}");
    assert!(
        said.contains("# ignored: HOTLINE_JOBS_INSERVE is not a setting"),
        "{said}"
    );
    // serve runs the same check and starts nothing.
    let serve = hotline(&["serve"], &bad);
    let said = text(&serve);
    assert!(!serve.status.success());
    assert!(said.contains("4 problem(s) with the settings"), "{said}");
    assert!(!said.contains("do-not-print-me"), "{said}");
}

#[tokio::test]
async fn the_shipped_example_environment_starts_the_service() {
    let mut vars = example();
    let check = hotline(&["config", "check"], &vars);
    assert!(check.status.success(), "the example checks clean: {}", text(&check));
    // A file a setting names and nobody made is a warning (the service still starts).
    let mut without_model = vars.clone();
    without_model.push(("HOTLINE_WHISPER_MODEL".into(), "/nowhere/ggml.bin".into()));
    let check = hotline(&["config", "check"], &without_model);
    let said = text(&check);
    assert!(check.status.success(), "{said}");
    assert!(
        said.contains("# warning: HOTLINE_WHISPER_MODEL /nowhere/ggml.bin is not there"),
        "{said}"
    );
    // Where this machine differs from the example's host: the port, the data, Redis.
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    vars.retain(|(k, _)| !["HOTLINE_BIND", "HOTLINE_DATABASE_URL", "HOTLINE_REDIS_URL"].contains(&k.as_str()));
    vars.extend([
        ("HOTLINE_BIND".into(), format!("127.0.0.1:{port}")),
        // No `?mode=rwc`: a missing file is created.
        (
            "HOTLINE_DATABASE_URL".into(),
            format!("sqlite://{}", dir.path().join("new.db").display()),
        ),
        ("HOTLINE_DATA_DIR".into(), dir.path().display().to_string()),
        ("HOTLINE_REDIS_URL".into(), redis_url()),
        (
            "HOTLINE_REDIS_PREFIX".into(),
            format!("hotline-example-{}", random_hex(6)),
        ),
        ("HOTLINE_SPEECH_ENGINE".into(), "none".into()),
        ("HOTLINE_WHISPER_MODEL".into(), String::new()),
    ]);
    let mut command = Command::new(env!("CARGO_BIN_EXE_hotline"));
    command
        .arg("serve")
        .env_clear()
        .envs(vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut running = Running(command.spawn().unwrap());
    wait_ready(&mut running.0, &format!("http://127.0.0.1:{port}")).await;
    assert!(dir.path().join("new.db").exists(), "the SQLite file was created");
}

#[test]
fn an_unreachable_postgres_is_named_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let vars = vec![
        ("HOTLINE_DATA_DIR", dir.path().display().to_string()),
        (
            "HOTLINE_DATABASE_URL",
            format!("postgres://hotline:pw@127.0.0.1:{port}/hotline"),
        ),
        ("HOTLINE_DATABASE_ACQUIRE_TIMEOUT_MS", "500".to_owned()),
    ];
    let migrate = hotline(&["migrate"], &vars);
    let said = text(&migrate);
    assert!(!migrate.status.success());
    assert!(
        said.contains(&format!("the database at 127.0.0.1:{port} cannot be reached")),
        "{said}"
    );
    assert!(said.to_lowercase().contains("refused"), "the reason: {said}");
    assert!(!said.contains("pw@"), "no password: {said}");
}
