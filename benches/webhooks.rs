//! Webhook load (issue 15): the real `hotline serve` beside a durable floor, in one run.
//!
//! The floor is a bare axum server in this process that commits every POST durably before it
//! answers a fixed small TwiML: on SQLite one INSERT per request (its own transaction) through
//! one writer connection, WAL, synchronous=FULL; on PostgreSQL one INSERT per request through a
//! pool. Both get the same load: N keep-alive connections, each looping over fresh calls — a
//! signed `POST /twilio/voice` with a new CallSid, then the first menu answer (Digits=1) to the
//! `<Gather action>` of the TwiML that came back. Both requests are counted. Errors are a
//! non-200, a body that is not TwiML, or an answer without a menu (the fallback apology). The
//! two servers take turns under the load (`--rounds`), and one markdown table compares them.
//!
//! Run (needs Redis; PostgreSQL for `--backend postgres`):
//! `cargo bench --bench webhooks -- --connections 64,16,4 --seconds 20 --backend sqlite`
//! Results: docs/benchmarks.md.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::str::FromStr;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{anyhow, bail, Context, Result};
use clap::{Parser, ValueEnum};
use hotline::providers::twilio::{Validator, SIGNATURE_HEADER};
use rand::Rng;
use sqlx::Connection;

const ACCOUNT_SID: &str = "AC00000000000000000000000000000015";
const HOTLINE_NUMBER: &str = "+862912348";
/// What the caller hears when the service cannot help (prompts/zh-CN/prompts.toml, `apology`).
const APOLOGY: &str = "非常抱歉";
/// Twilio gives up on a webhook after 15 s.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Parser)]
#[command(about = "hotline's webhook path under load, beside a durable floor")]
struct Args {
    /// Concurrent keep-alive connections; a list (64,16,4) measures each in turn.
    #[arg(long, value_delimiter = ',', default_value = "64")]
    connections: Vec<usize>,
    /// Measured seconds per server and connection count.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// The servers take turns this many times per connection count, seconds/rounds each, so
    /// whatever else runs on the machine falls on both alike.
    #[arg(long, default_value_t = 4)]
    rounds: u32,
    /// Unmeasured seconds of load before each turn.
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    #[arg(long, value_enum, default_value_t = Backend::Sqlite)]
    backend: Backend,
    /// The server's speech engine (HOTLINE_SPEECH_ENGINE): espeak as in production (cached
    /// prompts, served as <Play>), or none (<Say>).
    #[arg(long, default_value = "espeak")]
    speech: String,
    /// The server binary (default: the release build of this tree).
    #[arg(long)]
    binary: Option<PathBuf>,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

#[derive(Clone, Copy, PartialEq, ValueEnum)]
enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

fn main() -> Result<()> {
    let args = Args::parse();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let binary = args
        .binary
        .clone()
        .unwrap_or_else(|| root.join("target/release/hotline"));
    if !binary.is_file() {
        bail!(
            "no server binary at {}: build it with `cargo build --locked --release`",
            binary.display()
        );
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(&args, root, &binary))
}

async fn run(args: &Args, root: &Path, binary: &Path) -> Result<()> {
    let dir = tempfile::Builder::new().prefix("hotline-bench-").tempdir()?;
    let tag = random_hex(6);
    let redis_url = env_or("HOTLINE_TEST_REDIS_URL", "redis://127.0.0.1:6379");
    let prefix = format!("hotline-bench-{tag}");
    let pg = Postgres::new(&env_or(
        "HOTLINE_TEST_POSTGRES_URL",
        "postgres://postgres@127.0.0.1:5432/postgres",
    ))?;
    let (hotline_db, floor_db) = match args.backend {
        Backend::Sqlite => (
            format!("sqlite://{}?mode=rwc", dir.path().join("hotline.db").display()),
            format!("sqlite://{}", dir.path().join("floor.db").display()),
        ),
        Backend::Postgres => (
            pg.create(&format!("hotline_bench_{tag}")).await?,
            pg.create(&format!("hotline_floor_{tag}")).await?,
        ),
    };
    let result = async {
        let mut server = Hotline::start(binary, root, dir.path(), &hotline_db, &redis_url, &prefix, &args.speech)?;
        // Ctrl-C ends the run early but still cleans up (the server, Redis keys, databases).
        let outcome = tokio::select! {
            outcome = compare(args, &mut server, &floor_db) => outcome,
            _ = tokio::signal::ctrl_c() => Err(anyhow!("interrupted")),
        };
        let log = server.stop();
        outcome.map(|report| report + &log_summary(&log))
    }
    .await;
    if let Err(e) = clear_redis(&redis_url, &prefix).await {
        eprintln!("could not remove the Redis keys {prefix}:*: {e:#}");
    }
    if args.backend == Backend::Postgres {
        for db in [&hotline_db, &floor_db] {
            if let Err(e) = pg.drop(db).await {
                eprintln!("could not drop {db}: {e:#}");
            }
        }
    }
    // Printed only now, after the clean-up: a closed stdout cannot stop it.
    println!("{}", result?);
    Ok(())
}

/// Waits for the server, starts the floor, and measures both at each connection count; returns
/// the report.
async fn compare(args: &Args, server: &mut Hotline, floor_db: &str) -> Result<String> {
    let ready = server.wait_ready(args.speech == "espeak").await?;
    let floor = Floor::start(args.backend, floor_db).await?;
    let commit = Command::new("git")
        .args(["describe", "--always", "--dirty"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let built = std::fs::metadata(&server.binary)
        .and_then(|m| m.modified())
        .map(|t| {
            chrono::DateTime::<chrono::Utc>::from(t)
                .format("%Y-%m-%d %H:%M UTC")
                .to_string()
        })
        .unwrap_or_default();
    let load_average = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let header = format!(
        "tree {commit}; server {} built {built}; {} cores, load average {} at the start; {}, \
         speech engine {}, speech input {}; {} s measured per row in {} turns, each after {} s \
         of warm-up\n\n",
        server.binary.display(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average.split(' ').next().unwrap_or("?"),
        args.backend.name(),
        args.speech,
        if ready.contains(r#""speech_input":{"enabled":true"#) {
            "on"
        } else {
            "off"
        },
        args.seconds,
        args.rounds,
        args.warmup,
    );
    let floor_name = match args.backend {
        Backend::Sqlite => "floor: SQLite WAL, synchronous=FULL, 1 writer",
        Backend::Postgres => "floor: PostgreSQL, 1 INSERT per request, pool of 10",
    };
    let mut table = vec![
        "| backend | connections | server | req/s | p50 ms | p99 ms | max ms | errors |".to_owned(),
        "|---|---|---|---|---|---|---|---|".to_owned(),
    ];
    let mut notes = Vec::new();
    for &n in &args.connections {
        let rounds = args.rounds.max(1);
        let (warmup, turn) = (
            Duration::from_secs(args.warmup),
            Duration::from_secs_f64(args.seconds as f64 / f64::from(rounds)),
        );
        let (mut hotline, mut floor_stats) = (Stats::default(), Stats::default());
        let (mut ticks, mut busy) = (0, Duration::ZERO);
        for round in 1..=rounds {
            eprintln!("{n} connections, turn {round} of {rounds}: hotline, then the floor");
            let (before, started) = (cpu_ticks(server.child.id()), Instant::now());
            load(&server.base, &server.signer, n, warmup, turn, &mut hotline).await?;
            (ticks, busy) = (ticks + cpu_ticks(server.child.id()) - before, busy + started.elapsed());
            load(&floor.base, &floor.signer, n, warmup, turn, &mut floor_stats).await?;
        }
        hotline.latencies.sort_unstable();
        floor_stats.latencies.sort_unstable();
        let cores = ticks as f64 / 100.0 / busy.as_secs_f64();
        let b = args.backend.name();
        table.push(hotline.row(b, n, "hotline"));
        table.push(floor_stats.row(b, n, floor_name));
        let (rps, p99) = (
            hotline.rps() / floor_stats.rps(),
            hotline.p99().as_secs_f64() / floor_stats.p99().as_secs_f64(),
        );
        table.push(format!("| {b} | {n} | hotline ÷ floor | {rps:.2}× | | {p99:.2}× | | |"));
        let met = rps >= 0.5 && p99 <= 2.0 && hotline.errors() == 0;
        notes.push(format!(
            "{n} connections: req/s {rps:.2}× the floor (needs ≥ 0.5×), p99 {p99:.2}× (needs ≤ 2×): {}",
            if met { "met" } else { "not met" }
        ));
        notes.push(format!(
            "{n} connections: the hotline process used {cores:.2} cores under load"
        ));
        for (who, s) in [("hotline", &hotline), ("floor", &floor_stats)] {
            for (kind, (count, example)) in &s.failures {
                notes.push(format!("{n} connections, {who}: {count} × {kind}, e.g. {example}"));
            }
        }
    }
    floor.stop();
    Ok(format!("{header}{}\n\n{}\n", table.join("\n"), notes.join("\n")))
}

// --- the real server ----------------------------------------------------------------------------

struct Hotline {
    child: Child,
    base: String,
    signer: Validator,
    binary: PathBuf,
    log: PathBuf,
}

impl Hotline {
    fn start(
        binary: &Path,
        root: &Path,
        dir: &Path,
        database: &str,
        redis: &str,
        prefix: &str,
        speech: &str,
    ) -> Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let base = format!("http://127.0.0.1:{port}");
        let token = random_hex(16);
        let log = dir.join("hotline.log");
        let out = std::fs::File::create(&log)?;
        // Production settings (deploy/hotline.env.example), jobs in the process as by default;
        // run from the tree so the Whisper model and recorded prompts are found where they are
        // in production. Nothing is sent out: no step of this walk calls the REST API.
        let child = Command::new(binary)
            .arg("serve")
            .current_dir(root)
            .env("HOTLINE_MODE", "production")
            .env("HOTLINE_BIND", format!("127.0.0.1:{port}"))
            .env("HOTLINE_PUBLIC_URL", &base)
            .env("HOTLINE_DATA_DIR", dir)
            .env("HOTLINE_DATABASE_URL", database)
            .env("HOTLINE_REDIS_URL", redis)
            .env("HOTLINE_REDIS_PREFIX", prefix)
            .env("HOTLINE_DATA_KEY", random_hex(32))
            .env("HOTLINE_TWILIO_ACCOUNT_SID", ACCOUNT_SID)
            .env("HOTLINE_TWILIO_AUTH_TOKEN", &token)
            .env("HOTLINE_TWILIO_API_BASE", "http://127.0.0.1:9")
            .env("HOTLINE_HOTLINE_NUMBER", HOTLINE_NUMBER)
            .env("HOTLINE_SPEECH_ENGINE", speech)
            .env("HOTLINE_SPEECH_CACHE_DIR", dir.join("prompt-cache"))
            .env_remove("RUST_LOG")
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        Ok(Self {
            child,
            base,
            signer: Validator::new(&token),
            binary: binary.to_owned(),
            log,
        })
    }

    /// Waits for /readyz (and, with synthesised speech, for the prompts to be pre-rendered, so
    /// that work is not measured); returns the readiness report.
    async fn wait_ready(&mut self, prompts: bool) -> Result<String> {
        let client = reqwest::Client::new();
        let started = Instant::now();
        let mut report = None;
        while started.elapsed() < Duration::from_secs(120) {
            if let Some(status) = self.child.try_wait()? {
                bail!("the server exited ({status}):\n{}", tail(&self.log, 20));
            }
            if report.is_none() {
                if let Ok(r) = client.get(format!("{}/readyz", self.base)).send().await {
                    if r.status().is_success() {
                        report = Some(r.text().await.unwrap_or_default());
                    }
                }
            }
            let rendered =
                !prompts || std::fs::read_to_string(&self.log).is_ok_and(|l| l.contains("prompts pre-rendered"));
            if let (Some(report), true) = (&report, rendered) {
                return Ok(report.clone());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        bail!("the server was not ready within 120 s:\n{}", tail(&self.log, 20))
    }

    /// Stops the server; returns its log.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Hotline {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Warnings and errors the server logged during the run.
fn log_summary(log: &str) -> String {
    let bad: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(r#""level":"WARN""#) || l.contains(r#""level":"ERROR""#))
        .collect();
    let mut summary = format!("\nserver log: {} warnings or errors", bad.len());
    for line in bad.iter().take(5) {
        summary += &format!("\n  {line}");
    }
    summary
}

/// CPU time a process has used, in clock ticks (utime + stime from /proc; 0 elsewhere).
fn cpu_ticks(pid: u32) -> i64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // utime and stime are fields 14 and 15 of stat: 12 and 13 after the name and state. Ticks
    // are USER_HZ, 100 on Linux.
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    after_name
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|v| v.parse::<i64>().ok())
        .sum()
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

// --- the floor ----------------------------------------------------------------------------------

struct Floor {
    base: String,
    signer: Validator,
    stop: tokio::sync::oneshot::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

#[derive(Clone)]
struct FloorState {
    store: Store,
    answer: axum::body::Bytes,
}

#[derive(Clone)]
enum Store {
    /// The one writer, behind a FIFO lock: requests take their turn in order of arrival.
    Sqlite(std::sync::Arc<tokio::sync::Mutex<sqlx::SqliteConnection>>),
    Postgres(sqlx::PgPool),
}

impl Floor {
    /// Serves on its own two-thread runtime, as a separate server process would.
    async fn start(backend: Backend, url: &str) -> Result<Self> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let base = format!("http://{}", listener.local_addr()?);
        let answer = axum::body::Bytes::from(format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Gather input="dtmf" action="{base}/twilio/voice/menu?turn=1" method="POST" timeout="10" numDigits="1"><Say language="zh-CN">法律咨询请按1</Say></Gather></Response>"#
        ));
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<Result<()>>();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let url = url.to_owned();
        let thread = std::thread::spawn(move || {
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    let _ = ready_tx.send(Err(e.into()));
                    return;
                }
            };
            runtime.block_on(async move {
                let setup = async {
                    let store = open_store(backend, &url).await?;
                    let listener = tokio::net::TcpListener::from_std(listener)?;
                    anyhow::Ok((store, listener))
                };
                let (store, listener) = match setup.await {
                    Ok(v) => v,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let app = axum::Router::new()
                    .fallback(axum::routing::post(floor_hook))
                    .with_state(FloorState { store, answer });
                let _ = ready_tx.send(Ok(()));
                let served = axum::serve(listener, app).with_graceful_shutdown(async {
                    let _ = stopped.await;
                });
                if let Err(e) = served.await {
                    eprintln!("floor server: {e}");
                }
            });
        });
        ready_rx.await.map_err(|_| anyhow!("the floor thread ended"))??;
        Ok(Self {
            base,
            signer: Validator::new("floor"),
            stop,
            thread,
        })
    }

    fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.thread.join();
    }
}

async fn open_store(backend: Backend, url: &str) -> Result<Store> {
    Ok(match backend {
        Backend::Sqlite => {
            use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full);
            let mut writer = sqlx::SqliteConnection::connect_with(&options).await?;
            sqlx::query("CREATE TABLE events (id INTEGER PRIMARY KEY, received_at INTEGER NOT NULL, path TEXT NOT NULL, body BLOB NOT NULL)")
                .execute(&mut writer)
                .await?;
            Store::Sqlite(std::sync::Arc::new(tokio::sync::Mutex::new(writer)))
        }
        Backend::Postgres => {
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(10)
                .connect(url)
                .await?;
            sqlx::query("CREATE TABLE events (id BIGSERIAL PRIMARY KEY, received_at BIGINT NOT NULL, path TEXT NOT NULL, body BYTEA NOT NULL)")
                .execute(&pool)
                .await?;
            Store::Postgres(pool)
        }
    })
}

/// Every POST: one INSERT, committed (autocommit: the statement is its own transaction), then
/// the fixed TwiML.
async fn floor_hook(
    axum::extract::State(state): axum::extract::State<FloorState>,
    uri: axum::http::Uri,
    body: axum::body::Bytes,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let sql = "INSERT INTO events (received_at, path, body) VALUES ($1, $2, $3)";
    let stored = match &state.store {
        Store::Sqlite(writer) => sqlx::query(sql)
            .bind(now)
            .bind(uri.to_string())
            .bind(&body[..])
            .execute(&mut *writer.lock().await)
            .await
            .map(drop),
        Store::Postgres(pool) => sqlx::query(sql)
            .bind(now)
            .bind(uri.to_string())
            .bind(&body[..])
            .execute(pool)
            .await
            .map(drop),
    };
    match stored {
        Ok(_) => ([(axum::http::header::CONTENT_TYPE, "text/xml")], state.answer.clone()).into_response(),
        Err(e) => (axum::http::StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
    }
}

// --- the load -----------------------------------------------------------------------------------

struct Sample {
    done: Instant,
    latency: Duration,
    failure: Option<(&'static str, String)>,
}

#[derive(Default)]
struct Stats {
    latencies: Vec<Duration>,
    ok: usize,
    seconds: f64,
    /// Failures by kind: how many, and the first one seen.
    failures: std::collections::BTreeMap<&'static str, (usize, String)>,
}

impl Stats {
    fn rps(&self) -> f64 {
        self.ok as f64 / self.seconds
    }
    fn errors(&self) -> usize {
        self.failures.values().map(|(n, _)| n).sum()
    }
    fn at(&self, p: f64) -> Duration {
        let i = ((self.latencies.len() as f64 * p) as usize).min(self.latencies.len().saturating_sub(1));
        self.latencies.get(i).copied().unwrap_or_default()
    }
    fn p99(&self) -> Duration {
        self.at(0.99)
    }
    fn row(&self, backend: &str, connections: usize, server: &str) -> String {
        let ms = |d: Duration| format!("{:.1}", d.as_secs_f64() * 1000.0);
        format!(
            "| {backend} | {connections} | {server} | {:.0} | {} | {} | {} | {} |",
            self.rps(),
            ms(self.at(0.5)),
            ms(self.p99()),
            ms(self.latencies.last().copied().unwrap_or_default()),
            self.errors()
        )
    }
}

/// `connections` workers, each with one keep-alive connection, walking fresh calls for the
/// warm-up and then the measured time; adds to `stats` what completes inside the measured window.
async fn load(
    base: &str,
    signer: &Validator,
    connections: usize,
    warmup: Duration,
    measured: Duration,
    stats: &mut Stats,
) -> Result<()> {
    let start = Instant::now() + warmup;
    let end = start + measured;
    let mut workers = Vec::new();
    for _ in 0..connections {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .timeout(REQUEST_TIMEOUT)
            .build()?;
        let (base, signer) = (base.to_owned(), signer.clone());
        workers.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            while Instant::now() < end {
                walk(&client, &base, &signer, &mut samples).await;
            }
            samples
        }));
    }
    stats.seconds += measured.as_secs_f64();
    for worker in workers {
        for s in worker.await? {
            if s.done < start || s.done > end {
                continue;
            }
            stats.latencies.push(s.latency);
            match s.failure {
                None => stats.ok += 1,
                Some((kind, example)) => stats.failures.entry(kind).or_insert((0, example)).0 += 1,
            }
        }
    }
    Ok(())
}

/// One call: the incoming webhook, then the first menu answer to its Gather's action.
async fn walk(client: &reqwest::Client, base: &str, signer: &Validator, samples: &mut Vec<Sample>) {
    let call_sid = format!("CA{}", random_hex(16));
    let caller = format!("+86138{:08}", rand::thread_rng().gen_range(0..100_000_000));
    let mut params = call_params(&call_sid, &caller, "ringing");
    let incoming = format!("{base}/twilio/voice");
    let Some(action) = post(client, signer, &incoming, &params, samples).await else {
        return;
    };
    params = call_params(&call_sid, &caller, "in-progress");
    params.extend(pairs(&[("Digits", "1"), ("FinishedOnKey", ""), ("msg", "Gather End")]));
    post(client, signer, &action, &params, samples).await;
}

/// A signed form POST, recorded as a sample; returns the action URL of the answer's first
/// `<Gather>` when the answer is a real menu.
async fn post(
    client: &reqwest::Client,
    signer: &Validator,
    url: &str,
    params: &[(String, String)],
    samples: &mut Vec<Sample>,
) -> Option<String> {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    let sent = Instant::now();
    let response = client
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .header(SIGNATURE_HEADER, signer.sign_form(url, params))
        .body(body)
        .send()
        .await;
    let answer = match response {
        Ok(r) => {
            let status = r.status();
            r.text().await.map(|t| (status, t))
        }
        Err(e) => Err(e),
    };
    let latency = sent.elapsed();
    let (action, failure) = match answer {
        Err(e) if e.is_timeout() => (None, Some(("timeout", e.to_string()))),
        Err(e) => (None, Some(("connection error", e.to_string()))),
        Ok((status, text)) if status != 200 => (None, Some(("non-200", format!("{status} {}", clip(&text))))),
        Ok((_, text)) => match menu_action(&text) {
            Ok(action) => (Some(action), None),
            Err(kind) => (None, Some((kind, clip(&text)))),
        },
    };
    samples.push(Sample {
        done: Instant::now(),
        latency,
        failure,
    });
    action
}

/// The first Gather's action, or why the answer does not count.
fn menu_action(twiml: &str) -> Result<String, &'static str> {
    let doc = roxmltree::Document::parse(twiml).map_err(|_| "not TwiML")?;
    if !doc.root_element().has_tag_name("Response") {
        return Err("not TwiML");
    }
    if twiml.contains(APOLOGY) {
        return Err("fallback apology");
    }
    doc.descendants()
        .find(|n| n.has_tag_name("Gather"))
        .and_then(|n| n.attribute("action"))
        .map(str::to_owned)
        .ok_or("no menu (fallback)")
}

/// The fields Twilio sends with a voice webhook (a mainland number shows no city or state).
fn call_params(call_sid: &str, caller: &str, status: &str) -> Vec<(String, String)> {
    pairs(&[
        ("AccountSid", ACCOUNT_SID),
        ("ApiVersion", "2010-04-01"),
        ("CallSid", call_sid),
        ("CallStatus", status),
        ("Called", HOTLINE_NUMBER),
        ("CalledCity", ""),
        ("CalledCountry", "CN"),
        ("CalledState", ""),
        ("CalledZip", ""),
        ("Caller", caller),
        ("CallerCity", ""),
        ("CallerCountry", "CN"),
        ("CallerState", ""),
        ("CallerZip", ""),
        ("Direction", "inbound"),
        ("From", caller),
        ("FromCity", ""),
        ("FromCountry", "CN"),
        ("FromState", ""),
        ("FromZip", ""),
        ("To", HOTLINE_NUMBER),
        ("ToCity", ""),
        ("ToCountry", "CN"),
        ("ToState", ""),
        ("ToZip", ""),
    ])
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn clip(text: &str) -> String {
    text.chars().take(160).collect()
}

// --- set-up and clean-up ------------------------------------------------------------------------

/// Creates and drops throw-away databases on the PostgreSQL server of `admin`.
struct Postgres {
    admin: url::Url,
}

impl Postgres {
    fn new(admin: &str) -> Result<Self> {
        Ok(Self {
            admin: url::Url::parse(admin).context("HOTLINE_TEST_POSTGRES_URL")?,
        })
    }

    async fn create(&self, name: &str) -> Result<String> {
        let mut admin = sqlx::PgConnection::connect(self.admin.as_str())
            .await
            .with_context(|| format!("connecting to {} (is PostgreSQL running?)", self.admin))?;
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await?;
        let mut url = self.admin.clone();
        url.set_path(name);
        Ok(url.to_string())
    }

    async fn drop(&self, database_url: &str) -> Result<()> {
        let name = url::Url::parse(database_url)?.path().trim_start_matches('/').to_owned();
        let mut admin = sqlx::PgConnection::connect(self.admin.as_str()).await?;
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut admin)
            .await?;
        Ok(())
    }
}

/// Removes every key the server made under its prefix.
async fn clear_redis(url: &str, prefix: &str) -> Result<()> {
    let mut redis = redis::Client::open(url)?.get_multiplexed_async_connection().await?;
    let mut cursor = 0u64;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}:*"))
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut redis)
            .await?;
        if !keys.is_empty() {
            let _: i64 = redis::cmd("DEL").arg(&keys).query_async(&mut redis).await?;
        }
        if next == 0 {
            return Ok(());
        }
        cursor = next;
    }
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rand::thread_rng().fill(&mut b[..]);
    b.iter().map(|x| format!("{x:02x}")).collect()
}
