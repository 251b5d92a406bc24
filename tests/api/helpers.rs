//! `spawn_app`: the real service on port 0 against real SQLite/PostgreSQL and Redis, plus a
//! fake provider REST API on another port.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use hotline::app::AppState;
use hotline::config::{Settings, SpeechEngine};
use rand::RngCore;
use secrecy::SecretString;
use sqlx::Connection;
use tokio::net::TcpListener;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs each named `async fn name(backend: Backend)` as two tests, `name::sqlite` and
/// `name::postgres`.
#[macro_export]
macro_rules! backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::helpers::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::helpers::Backend::Postgres).await
            }
        }
    )*};
}

/// Runs each named `async fn name(backend: Backend, line: Line)` on both providers and both
/// databases: `name::sqlite`, `name::postgres` (Twilio), `name::jambonz_sqlite`,
/// `name::jambonz_postgres`.
#[macro_export]
macro_rules! lines {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use $crate::helpers::{Backend, Line};
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(Backend::Sqlite, Line::Twilio).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(Backend::Postgres, Line::Twilio).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn jambonz_sqlite() {
                super::$name(Backend::Sqlite, Line::Jambonz).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn jambonz_postgres() {
                super::$name(Backend::Postgres, Line::Jambonz).await
            }
        }
    )*};
}

/// The CSRF token of a page's form.
pub fn csrf_in(page: &str) -> String {
    page.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("a CSRF token in {page}"))
        .to_owned()
}

/// The `name=value` a response sets for the cookie `name` (not one it clears).
pub fn cookie_set(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .find(|pair| pair.split_once('=').is_some_and(|(k, v)| k == name && !v.is_empty()))
        .map(str::to_owned)
}

/// The telephony provider a test's calls come through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Line {
    #[default]
    Twilio,
    Jambonz,
}

pub const ACCOUNT_SID: &str = "AC00000000000000000000000000000001";
/// The jambonz account and API key of the fake jambonz REST API.
pub const JAMBONZ_ACCOUNT: &str = "9351f46a-678c-43f5-b8a6-d4eb58d131af";
pub const JAMBONZ_API_KEY: &str = "0a9ff4d6-6a91-4d4b-8f2c-2c8c2b5e3c11";
pub const HOTLINE_NUMBER: &str = "+862912348";
/// Every test account's password.
pub const PASSWORD: &str = "correct horse battery";

pub fn redis_url() -> String {
    std::env::var("HOTLINE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn postgres_admin_url() -> String {
    std::env::var("HOTLINE_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

/// What a test may change before the app starts.
#[derive(Default)]
pub struct Options {
    pub redis_url: Option<String>,
    /// Replaces the per-test database (for "database down" tests); no migrations then.
    pub database_url: Option<String>,
    pub human_number: String,
    pub public_url: Option<String>,
    /// Which speech engine; tests that do not listen to audio use none (the provider's Say),
    /// so what the caller hears can be read as text.
    pub speech: Option<SpeechEngine>,
    /// For `SpeechEngine::Http`.
    pub tts_url: Option<String>,
    pub recorded_dir: Option<std::path::PathBuf>,
    /// `sms.duplicate_window_secs` (default 3).
    pub sms_duplicate_window_secs: Option<u64>,
    /// `aliyun.sms_secret` and `aliyun.allowed_ips`.
    pub aliyun: Option<(String, String)>,
    /// The Whisper model for speech input; None: keypad only.
    pub whisper_model: Option<std::path::PathBuf>,
    /// Recognition by workers through Redis (`whisper.remote`).
    pub whisper_remote: bool,
    /// `ivr.webhook_budget_ms` and `whisper.queue_wait_ms`, instead of the defaults.
    pub budget_and_queue_wait_ms: Option<(u64, u64)>,
    /// The voice provider.
    pub line: Line,
    /// jambonz's REST API, instead of the fake provider's.
    pub jambonz_api: Option<String>,
    /// Texts through Aliyun's SendSms at this endpoint, with [`ALIYUN_KEY`].
    pub aliyun_sms: Option<String>,
    /// `mode = "production"`.
    pub production: bool,
}

/// The Aliyun AccessKey of the tests.
pub const ALIYUN_KEY: (&str, &str) = ("LTAI5tTestAccessKey", "aliyun-test-secret");

pub struct TestApp {
    pub addr: SocketAddr,
    pub state: AppState,
    pub auth_token: String,
    /// The URL the provider signs (the configured public URL).
    pub public_url: String,
    pub provider: FakeProvider,
    pub http: reqwest::Client,
    pub line: Line,
    /// The jambonz application's webhook secret.
    pub jambonz_secret: String,
    shutdown: Arc<tokio::sync::Notify>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    postgres_db: Option<String>,
    _dir: tempfile::TempDir,
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, Options::default()).await
}

/// The app with its calls on `line`.
pub async fn spawn_on(backend: Backend, line: Line) -> TestApp {
    spawn_app_with(
        backend,
        Options {
            line,
            ..Options::default()
        },
    )
    .await
}

pub async fn spawn_app_with(backend: Backend, opts: Options) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().unwrap();
    let auth_token = random_hex(16);
    let provider = FakeProvider::start(&auth_token).await;

    let (database_url, postgres_db) = match (&opts.database_url, backend) {
        (Some(url), _) => (url.clone(), None),
        (None, Backend::Sqlite) => (
            format!("sqlite://{}?mode=rwc", dir.path().join("hotline.db").display()),
            None,
        ),
        (None, Backend::Postgres) => {
            let name = format!("hotline_t_{}", random_hex(8));
            let mut admin = sqlx::PgConnection::connect(&postgres_admin_url())
                .await
                .expect("PostgreSQL reachable");
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut admin)
                .await
                .expect("create db");
            let url = postgres_admin_url();
            let base = url.rsplit_once('/').expect("admin URL has a database").0;
            (format!("{base}/{name}"), Some(name))
        }
    };

    let mut s = Settings::defaults();
    s.public_url = opts
        .public_url
        .as_deref()
        .unwrap_or(&format!("http://{addr}"))
        .parse()
        .unwrap();
    s.data_key = SecretString::from(random_hex(32));
    s.data_dir = dir.path().to_owned();
    s.hotline_number = HOTLINE_NUMBER.into();
    s.database.url = SecretString::from(database_url);
    s.redis.url = SecretString::from(opts.redis_url.clone().unwrap_or_else(redis_url));
    s.redis.prefix = format!("hotline-test-{}", random_hex(6));
    s.twilio.account_sid = ACCOUNT_SID.into();
    s.twilio.auth_token = SecretString::from(auth_token.clone());
    s.twilio.api_base = provider.base.parse().unwrap();
    s.fallback.human_number = opts.human_number.clone();
    // Tests run the jobs themselves, with their own clocks, so nothing races them.
    s.jobs.in_serve = false;
    if let Some((secret, ips)) = &opts.aliyun {
        s.aliyun.sms_secret = secret.clone().into();
        s.aliyun.allowed_ips = ips.clone();
    }
    if let Some(window) = opts.sms_duplicate_window_secs {
        s.sms.duplicate_window_secs = window;
    }
    s.speech.engine = opts.speech.unwrap_or(SpeechEngine::None);
    s.speech.cache_dir = dir.path().join("prompt-cache");
    s.speech.recorded_dir = opts.recorded_dir.clone().unwrap_or_else(|| dir.path().join("recorded"));
    s.whisper.model = opts
        .whisper_model
        .as_ref()
        .map_or(String::new(), |p| p.display().to_string());
    // Recordings come from the fake provider.
    s.whisper.recording_hosts = "127.0.0.1".into();
    s.whisper.remote = opts.whisper_remote;
    if opts.whisper_model.is_some() || opts.whisper_remote {
        // The whole suite shares 2 cores: recognition gets the provider's full 15 s here.
        s.ivr.webhook_budget_ms = 14_000;
        s.whisper.queue_wait_ms = 10_000;
    }
    if let Some((budget, queue_wait)) = opts.budget_and_queue_wait_ms {
        s.ivr.webhook_budget_ms = budget;
        s.whisper.queue_wait_ms = queue_wait;
    }
    if let Some(url) = &opts.tts_url {
        s.speech.http_url = url.clone();
    }
    let jambonz_secret = random_hex(16);
    if opts.line == Line::Jambonz {
        s.provider = hotline::config::Provider::Jambonz;
        s.jambonz.webhook_secret = SecretString::from(jambonz_secret.clone());
        s.jambonz.account_sid = JAMBONZ_ACCOUNT.into();
        s.jambonz.api_key = SecretString::from(JAMBONZ_API_KEY.to_owned());
        s.jambonz.api_base = opts.jambonz_api.as_deref().unwrap_or(&provider.base).parse().unwrap();
    }
    if let Some(endpoint) = &opts.aliyun_sms {
        s.sms.provider = hotline::config::SmsProvider::Aliyun;
        s.aliyun.sms_endpoint = endpoint.parse().unwrap();
        s.aliyun.access_key_id = ALIYUN_KEY.0.into();
        s.aliyun.access_key_secret = SecretString::from(ALIYUN_KEY.1.to_owned());
        s.aliyun.sign_name = "12348法律服务".into();
        s.aliyun.template_code = "SMS_123456789".into();
    }
    if opts.production {
        s.mode = hotline::config::Mode::Production;
    }
    let public_url = s.public_url.as_str().trim_end_matches('/').to_owned();

    let state = AppState::new(s).expect("state");
    if opts.database_url.is_none() {
        state.db.migrate().await.expect("migrations");
    }
    let shutdown = Arc::new(tokio::sync::Notify::new());
    let signal = shutdown.clone();
    let server = tokio::spawn(hotline::server::serve(state.clone(), listener, async move {
        signal.notified().await
    }));
    TestApp {
        addr,
        state,
        auth_token,
        public_url,
        provider,
        http: reqwest::Client::new(),
        line: opts.line,
        jambonz_secret,
        shutdown,
        server: Some(server),
        postgres_db,
        _dir: dir,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// What SIGTERM does to `hotline serve`: stop accepting, let in-flight requests finish.
    pub fn begin_shutdown(&self) {
        self.shutdown.notify_one();
    }

    /// Stops the server gracefully and drops the test's PostgreSQL database.
    pub async fn stop(mut self) {
        self.begin_shutdown();
        if let Some(server) = self.server.take() {
            server.await.expect("server task").expect("server stopped cleanly");
        }
        if let Some(name) = self.postgres_db.take() {
            let mut admin = sqlx::PgConnection::connect(&postgres_admin_url())
                .await
                .expect("PostgreSQL reachable");
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut admin)
                .await;
        }
    }

    /// The body of `GET path` (with this cookie, if any) as text.
    /// A JSON API request (`/api/v1` + `path`) with a bearer token (none when empty): the
    /// status and the JSON body (Null when it is not JSON).
    pub async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<serde_json::Value>,
    ) -> (reqwest::StatusCode, serde_json::Value) {
        let mut request = self.http.request(method, self.url(&format!("/api/v1{path}")));
        if !token.is_empty() {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(serde_json::Value::Null))
    }

    pub async fn get_text(&self, path: &str, cookie: Option<&str>) -> String {
        let mut request = self.http.get(self.url(path));
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send().await.unwrap().text().await.unwrap()
    }

    /// Signs in through the console's login form (password [`PASSWORD`]); the session cookie.
    pub async fn sign_in(&self, username: &str) -> String {
        let response = self.post_login(username, PASSWORD, &[]).await;
        assert_eq!(response.status(), 303, "signed in as {username}");
        let set = response.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"), "{set}");
        cookie_set(&response, "hotline_session").expect("a session cookie")
    }

    /// Posts the sign-in form as a browser does: the page first (its CSRF token, in the form
    /// and in a cookie), then the form with that cookie and `cookies` (`name=value`). Redirects
    /// are seen, not followed.
    pub async fn post_login(&self, username: &str, password: &str, cookies: &[&str]) -> reqwest::Response {
        let browser = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let page = browser.get(self.url("/login")).send().await.unwrap();
        let form_cookie = cookie_set(&page, "hotline_login").expect("the form's cookie");
        let csrf = csrf_in(&page.text().await.unwrap());
        let cookie = std::iter::once(form_cookie.as_str())
            .chain(cookies.iter().copied())
            .collect::<Vec<_>>()
            .join("; ");
        browser
            .post(self.url("/login"))
            .header("cookie", cookie)
            .form(&[("username", username), ("password", password), ("csrf", &csrf)])
            .send()
            .await
            .unwrap()
    }

    /// The consultation with this ticket number; fails the test if there is none.
    pub async fn consultation(&self, ticket: &str) -> hotline::storage::consultations::Consultation {
        let ticket = hotline::domain::Ticket::parse(ticket).unwrap_or_else(|_| panic!("{ticket:?} is not a ticket"));
        self.state
            .db
            .consultation_by_ticket(&ticket)
            .await
            .expect("database reachable")
            .unwrap_or_else(|| panic!("no consultation with ticket {ticket}"))
    }

    /// Adds a staff account (password [`PASSWORD`]) and returns an API token for it. A lawyer
    /// account needs the roster id in `scope`, a supervisor the prefecture code.
    pub async fn staff(&self, username: &str, role: hotline::domain::Role, scope: Option<&str>) -> String {
        use hotline::domain::Role;
        let user = hotline::auth::accounts::add(
            &self.state.db,
            &hotline::auth::accounts::Account {
                username,
                name: username,
                role,
                password: PASSWORD,
                lawyer_id: scope.filter(|_| role == Role::Lawyer),
                region: scope.filter(|_| role == Role::Supervisor),
            },
        )
        .await
        .expect("account added");
        hotline::auth::login::new_token(&self.state.db, &user.id, "test")
            .await
            .expect("token")
    }

    /// A count from SQL, for assertions.
    pub async fn count(&self, sql: &str) -> i64 {
        use sqlx::Row;
        sqlx::query(sql)
            .fetch_one(self.state.db.pool())
            .await
            .expect("count query")
            .try_get(0)
            .expect("a number")
    }
}

/// One request the fake provider REST API received.
#[derive(Debug, Clone)]
pub struct RestRequest {
    pub path: String,
    /// Twilio's Basic or jambonz's Bearer credentials, as configured.
    pub basic_auth_ok: bool,
    pub form: Vec<(String, String)>,
    /// A jambonz request's JSON body.
    pub json: Option<serde_json::Value>,
}

impl RestRequest {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// A stand-in for the provider's REST API that records what it is sent and answers 201 like
/// Twilio. (Exactness against Twilio's own API description is checked in `openapi.rs`.)
#[derive(Clone)]
pub struct FakeProvider {
    pub base: String,
    received: Arc<Mutex<Vec<RestRequest>>>,
    recordings: Arc<Mutex<HashMap<String, Vec<u8>>>>,
    refusals: Arc<std::sync::atomic::AtomicUsize>,
    delay_ms: Arc<std::sync::atomic::AtomicU64>,
}

#[derive(Clone)]
struct ProviderState {
    received: Arc<Mutex<Vec<RestRequest>>>,
    recordings: Arc<Mutex<HashMap<String, Vec<u8>>>>,
    expected_auth: String,
    /// How many of the next creates answer 503, as Twilio does when it is overloaded.
    refusals: Arc<std::sync::atomic::AtomicUsize>,
    /// How long a create takes before it is received (a slow provider).
    delay_ms: Arc<std::sync::atomic::AtomicU64>,
}

impl FakeProvider {
    pub async fn start(auth_token: &str) -> Self {
        use base64::Engine;
        let received: Arc<Mutex<Vec<RestRequest>>> = Arc::default();
        let recordings: Arc<Mutex<HashMap<String, Vec<u8>>>> = Arc::default();
        let refusals: Arc<std::sync::atomic::AtomicUsize> = Arc::default();
        let delay_ms: Arc<std::sync::atomic::AtomicU64> = Arc::default();
        let expected_auth = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{ACCOUNT_SID}:{auth_token}"))
        );
        let app = Router::new()
            .route("/2010-04-01/Accounts/{sid}/{resource}", post(create))
            .route("/2010-04-01/Accounts/{sid}/Calls/{call}", post(update_call))
            .route(
                "/2010-04-01/Accounts/{sid}/Recordings/{recording}",
                get(recording).delete(delete_recording),
            )
            .route("/v1/Accounts/{sid}/Calls", post(jambonz_create))
            .route("/v1/Accounts/{sid}/Calls/{call}", axum::routing::put(jambonz_update))
            .with_state(ProviderState {
                received: received.clone(),
                recordings: recordings.clone(),
                expected_auth,
                refusals: refusals.clone(),
                delay_ms: delay_ms.clone(),
            });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            base,
            received,
            recordings,
            refusals,
            delay_ms,
        }
    }

    /// From now on every create (call, text) takes `delay` before the provider receives it:
    /// one that is not recorded yet is still on its way.
    pub fn slow_creates(&self, delay: std::time::Duration) {
        self.delay_ms
            .store(delay.as_millis() as u64, std::sync::atomic::Ordering::SeqCst);
    }

    /// The next `n` creates (calls, texts) are refused with 503, and recorded.
    pub fn refuse_next(&self, n: usize) {
        self.refusals.store(n, std::sync::atomic::Ordering::SeqCst);
    }

    /// Keeps a recording as the provider would after a Record; returns its RecordingUrl.
    /// (Leaked: a test script's inputs are `&'static str`.)
    pub fn add_recording(&self, wav: Vec<u8>) -> &'static str {
        let name = format!("RE{}", random_hex(16));
        self.recordings.lock().unwrap().insert(name.clone(), wav);
        let url = format!("{}/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{name}", self.base);
        Box::leak(url.into_boxed_str())
    }

    pub fn requests(&self) -> Vec<RestRequest> {
        self.received.lock().unwrap().clone()
    }

    /// Waits up to 5 s for `n` requests (outbound texts are sent in the background).
    pub async fn wait_for(&self, n: usize) -> Vec<RestRequest> {
        for _ in 0..100 {
            let got = self.requests();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        self.requests()
    }
}

/// Records a request as the provider received it.
fn record(provider: &ProviderState, path: String, headers: &HeaderMap, body: &str) {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let form: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes()).into_owned().collect();
    provider.received.lock().unwrap().push(RestRequest {
        path,
        basic_auth_ok: auth == provider.expected_auth,
        form,
        json: None,
    });
}

/// A jambonz request: Bearer auth, a JSON body.
fn record_json(provider: &ProviderState, path: String, headers: &HeaderMap, body: &str) {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    provider.received.lock().unwrap().push(RestRequest {
        path,
        basic_auth_ok: auth == format!("Bearer {JAMBONZ_API_KEY}"),
        form: Vec::new(),
        json: serde_json::from_str(body).ok(),
    });
}

/// A slow provider's time before a create arrives ([`FakeProvider::slow_creates`]).
async fn slow(provider: &ProviderState) {
    let ms = provider.delay_ms.load(std::sync::atomic::Ordering::SeqCst);
    if ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    }
}

/// Whether this create is one of those to refuse ([`FakeProvider::refuse_next`]).
fn take_refusal(provider: &ProviderState) -> bool {
    provider
        .refusals
        .fetch_update(
            std::sync::atomic::Ordering::SeqCst,
            std::sync::atomic::Ordering::SeqCst,
            |n| n.checked_sub(1),
        )
        .is_ok()
}

/// jambonz creates a call: 201 with its sid (a UUID).
async fn jambonz_create(
    State(provider): State<ProviderState>,
    Path(sid): Path<String>,
    headers: HeaderMap,
    body: String,
) -> impl IntoResponse {
    slow(&provider).await;
    record_json(&provider, format!("/v1/Accounts/{sid}/Calls"), &headers, &body);
    let refuse = take_refusal(&provider);
    if refuse {
        return (StatusCode::SERVICE_UNAVAILABLE, r#"{"msg":"unavailable"}"#.to_owned());
    }
    (StatusCode::CREATED, format!(r#"{{"sid":"{}"}}"#, uuid::Uuid::new_v4()))
}

/// jambonz updates a call: 202.
async fn jambonz_update(
    State(provider): State<ProviderState>,
    Path((sid, call)): Path<(String, String)>,
    headers: HeaderMap,
    body: String,
) -> StatusCode {
    record_json(&provider, format!("/v1/Accounts/{sid}/Calls/{call}"), &headers, &body);
    StatusCode::ACCEPTED
}

/// Twilio serves a recording as WAV at its bare URL, to the account's credentials.
async fn recording(
    State(provider): State<ProviderState>,
    Path((_, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> axum::response::Response {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
    if auth != Some(provider.expected_auth.as_str()) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    match provider.recordings.lock().unwrap().get(&name) {
        Some(wav) => ([("content-type", "audio/x-wav")], wav.clone()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Twilio deletes a recording at `Recordings/{Sid}.json` (204; 404 when there is none).
async fn delete_recording(
    State(provider): State<ProviderState>,
    Path((sid, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> StatusCode {
    record(
        &provider,
        format!("/2010-04-01/Accounts/{sid}/Recordings/{name}"),
        &headers,
        "",
    );
    if provider
        .recordings
        .lock()
        .unwrap()
        .remove(name.trim_end_matches(".json"))
        .is_some()
    {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    }
}

/// Whether the provider still has the recording at this URL.
impl FakeProvider {
    pub fn has_recording(&self, url: &str) -> bool {
        let name = url.rsplit('/').next().unwrap_or_default();
        self.recordings.lock().unwrap().contains_key(name)
    }
}

async fn create(
    State(provider): State<ProviderState>,
    Path((sid, resource)): Path<(String, String)>,
    headers: HeaderMap,
    body: String,
) -> impl IntoResponse {
    slow(&provider).await;
    record(
        &provider,
        format!("/2010-04-01/Accounts/{sid}/{resource}"),
        &headers,
        &body,
    );
    let refuse = take_refusal(&provider);
    if refuse {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [("content-type", "application/json")],
            r#"{"code":20503,"message":"Service unavailable","status":503}"#.to_owned(),
        );
    }
    let prefix = if resource == "Calls.json" { "CA" } else { "SM" };
    let sid = format!("{prefix}{}", random_hex(16));
    (
        StatusCode::CREATED,
        [("content-type", "application/json")],
        format!(r#"{{"sid":"{sid}","status":"queued"}}"#),
    )
}

/// An update of a call in progress (`Calls/{CallSid}.json`): recorded like a create.
async fn update_call(
    State(provider): State<ProviderState>,
    Path((sid, call)): Path<(String, String)>,
    headers: HeaderMap,
    body: String,
) -> impl IntoResponse {
    record(
        &provider,
        format!("/2010-04-01/Accounts/{sid}/Calls/{call}"),
        &headers,
        &body,
    );
    let call_sid = call.trim_end_matches(".json").to_owned();
    (
        StatusCode::OK,
        [("content-type", "application/json")],
        format!(r#"{{"sid":"{call_sid}","status":"in-progress"}}"#),
    )
}

/// A mono 16-bit PCM WAV of a sine tone, for recorded-prompt and TTS-server tests.
pub fn tone_wav(sample_rate: u32, secs: f32, freq: f32) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::new(&mut buf, spec).unwrap();
    for i in 0..(sample_rate as f32 * secs) as usize {
        let s = (2.0 * std::f32::consts::PI * freq * i as f32 / sample_rate as f32).sin();
        w.write_sample((s * 12000.0) as i16).unwrap();
    }
    w.finalize().unwrap();
    buf.into_inner()
}
