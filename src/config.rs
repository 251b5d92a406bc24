//! Settings: the compiled-in `config/default.toml`, overridden by an optional file and then by
//! `HOTLINE_*` environment variables.
//!
//! Environment names map onto the TOML tree by their first word: `HOTLINE_REDIS_PREFIX` is
//! `redis.prefix` because `redis` is a section; `HOTLINE_PUBLIC_URL` is the top-level
//! `public_url` because `public` is not.

mod check;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

pub use check::Problem;

const DEFAULTS: &str = include_str!("../config/default.toml");
const SECTIONS: &[&str] = &[
    "database", "redis", "twilio", "jambonz", "ivr", "fallback", "callback", "sms", "aliyun", "console", "speech",
    "whisper", "jobs", "log",
];

/// Every problem found, not only the first.
#[derive(Debug, thiserror::Error)]
#[error("{} problem(s) with the settings:\n{}", .0.len(), problems_list(.0))]
pub struct ConfigError(pub Vec<Problem>);

fn problems_list(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("  - {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// What `hotline config check` prints: every effective setting (secrets masked), every
/// problem, and the variables that name no setting.
pub struct Report {
    pub settings: Vec<(String, String)>,
    pub problems: Vec<Problem>,
    pub unknown: Vec<String>,
}

/// The process's `HOTLINE_*` variables that name no setting (they are ignored).
pub fn unknown_variables() -> Vec<String> {
    check::unknown(std::env::vars(), env_key)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Development,
    Production,
}

/// Which telephony engine carries the calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Twilio,
    Jambonz,
}

/// Which provider sends the texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmsProvider {
    Twilio,
    Aliyun,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub mode: Mode,
    /// The voice provider (texts: `sms.provider`).
    pub provider: Provider,
    pub bind: SocketAddr,
    pub public_url: url::Url,
    pub hotline_number: String,
    pub data_key: SecretString,
    pub data_dir: PathBuf,
    pub shutdown_grace_secs: u64,
    pub database: DatabaseSettings,
    pub redis: RedisSettings,
    pub twilio: TwilioSettings,
    pub jambonz: JambonzSettings,
    pub ivr: IvrSettings,
    pub fallback: FallbackSettings,
    pub callback: CallbackSettings,
    pub sms: SmsSettings,
    pub aliyun: AliyunSettings,
    pub console: ConsoleSettings,
    pub speech: SpeechSettings,
    pub whisper: WhisperSettings,
    pub jobs: JobSettings,
    pub log: LogSettings,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    pub url: SecretString,
    pub max_connections: u32,
    pub acquire_timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RedisSettings {
    pub url: SecretString,
    pub prefix: String,
    pub session_ttl_secs: u64,
    pub dedup_ttl_secs: u64,
    pub timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TwilioSettings {
    pub account_sid: String,
    pub auth_token: SecretString,
    pub api_base: url::Url,
    pub request_timeout_ms: u64,
    /// The voice of `<Say>`: a named Polly or Google voice takes the caller's rate as SSML.
    pub say_voice: String,
    pub say_language: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct JambonzSettings {
    /// The REST API's base URL (`https://jambonz.example.org/api`; `/v1/` is added).
    pub api_base: url::Url,
    pub account_sid: String,
    pub api_key: SecretString,
    /// The application's webhook secret, which signs every webhook (`Jambonz-Signature`).
    pub webhook_secret: SecretString,
    pub request_timeout_ms: u64,
    /// The `say` synthesizer for what the hotline does not render itself; an empty vendor
    /// leaves it to the application's default.
    pub say_vendor: String,
    pub say_language: String,
    pub say_voice: String,
    /// The speech recognizer's language, for a `gather` that takes speech.
    pub recognizer_language: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct IvrSettings {
    pub no_input_timeout_secs: u32,
    pub max_tries: u32,
    pub webhook_budget_ms: u64,
    pub one_as_yao: bool,
    /// Timeouts are this many times longer for callers who asked for longer timeouts (R2).
    pub long_timeout_factor: u32,
    /// Empty: the built-in file.
    pub flow_file: String,
    pub prompts_file: String,
    pub regions_file: String,
}

impl IvrSettings {
    /// A configured file, or None for the built-in one.
    pub fn file(name: &str) -> Option<&Path> {
        (!name.is_empty()).then(|| Path::new(name))
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct ConsoleSettings {
    /// How long a console login lasts.
    pub session_hours: u64,
    /// A session not used for this long ends (the desk's polling does not count as use).
    pub session_idle_mins: u64,
    /// Failed sign-ins before waits begin, per device, per account from new browsers (ten
    /// times that per address); the throttle is described in `src/auth/limit.rs`.
    pub login_attempts: u32,
    /// The longest wait, and how long counts last after the last failure.
    pub login_window_mins: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AliyunSettings {
    pub sms_secret: SecretString,
    pub allowed_ips: String,
    /// Reverse proxies whose `X-Forwarded-For` names the real sender.
    pub trusted_proxies: String,
    /// `SendSms`, for `sms.provider = "aliyun"`.
    pub sms_endpoint: url::Url,
    pub access_key_id: String,
    pub access_key_secret: SecretString,
    /// The approved SMS signature (签名) and template (模板) the texts go out under.
    pub sign_name: String,
    pub template_code: String,
    /// The template's parameter that carries the text.
    pub template_param: String,
    pub request_timeout_ms: u64,
}

impl AliyunSettings {
    /// Whether `ip` may post Aliyun pushes (empty list: loopback only).
    pub fn allows(&self, ip: std::net::IpAddr) -> bool {
        let ranges = ranges(&self.allowed_ips);
        if ranges.is_empty() {
            return ip.is_loopback();
        }
        ranges.iter().any(|r| r.contains(&ip))
    }

    /// Who sent a push: the peer, or, when the peer is one of `trusted_proxies`, the last
    /// address in its `X-Forwarded-For` that is not a trusted proxy.
    pub fn sender(&self, peer: std::net::IpAddr, forwarded_for: Option<&str>) -> std::net::IpAddr {
        let proxies = ranges(&self.trusted_proxies);
        let trusted = |ip: &std::net::IpAddr| proxies.iter().any(|r| r.contains(ip));
        if !trusted(&peer) {
            return peer;
        }
        forwarded_for
            .into_iter()
            .flat_map(|h| h.rsplit(','))
            .map(|hop| hop.trim().parse::<std::net::IpAddr>())
            .take_while(Result::is_ok)
            .flatten()
            .find(|ip| !trusted(ip))
            .unwrap_or(peer)
    }
}

/// A comma-separated list of addresses and CIDR ranges.
fn ranges(list: &str) -> Vec<ipnet::IpNet> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .filter_map(|s| {
            s.parse()
                .ok()
                .or_else(|| s.parse::<std::net::IpAddr>().ok().map(ipnet::IpNet::from))
        })
        .collect()
}

#[derive(Debug, Clone, Deserialize)]
pub struct SmsSettings {
    /// Who sends the texts.
    pub provider: SmsProvider,
    pub duplicate_window_secs: u64,
    pub inbound_per_10_minutes: i64,
    pub answers_per_10_minutes: i64,
    pub automatic_per_hour: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CallbackSettings {
    pub offer_secs: u64,
    pub ring_secs: u32,
    pub max_attempts: i64,
    pub retry_minutes: i64,
    pub default_handling_minutes: i64,
    pub default_prefecture: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct FallbackSettings {
    pub human_number: String,
    pub office_hours: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SpeechEngine {
    Neural,
    Espeak,
    Http,
    None,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SpeechSettings {
    pub engine: SpeechEngine,
    pub voice_dir: PathBuf,
    pub voice_threads: usize,
    pub voice_pitch_range: f32,
    pub pronunciations: PathBuf,
    pub voice: String,
    pub http_url: String,
    pub http_model: String,
    pub http_voice: String,
    pub cache_dir: PathBuf,
    pub cache_max_mb: u64,
    pub recorded_dir: PathBuf,
    pub budget_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WhisperSettings {
    /// The ggml model; empty (or a missing file) runs the service keypad-only.
    pub model: String,
    /// Recognise in `hotline worker` processes (through Redis) instead of in this one.
    pub remote: bool,
    pub workers: usize,
    pub threads: usize,
    pub queue_wait_ms: u64,
    pub transcript_threads: usize,
    pub menu_window_secs: u32,
    /// Whisper's initial prompt for descriptions: the hotline's vocabulary.
    pub describe_prompt: String,
    pub accept: f32,
    /// `accept` for an answer chosen by scoring the options against the audio.
    pub accept_scored: f32,
    pub confirm: f32,
    pub recording_hosts: String,
    pub max_recording_bytes: usize,
    pub max_recording_secs: u32,
    /// A job a `hotline worker` took and has not finished after this long (it died) is taken
    /// over by another worker, if its caller still waits.
    pub reclaim_after_secs: u64,
}

impl WhisperSettings {
    pub fn recording_hosts(&self) -> Vec<String> {
        self.recording_hosts
            .split(',')
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct JobSettings {
    pub in_serve: bool,
    pub reconcile_interval_secs: u64,
    pub offer_check_interval_secs: u64,
    /// Callers' recordings are deleted at the provider this many days after they were made
    /// (0: kept). Transcripts stay.
    pub recording_retention_days: u64,
    pub retention_interval_secs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Auto,
    Json,
    Pretty,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LogSettings {
    pub format: LogFormat,
    pub filter: String,
}

impl Settings {
    /// Defaults, then `file`, then the process environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let settings = Self::extract_all(Self::figment(file)).map_err(ConfigError)?;
        settings.validate()?;
        Ok(settings)
    }

    /// The settings, or every value of the wrong type and then every rule broken by the rest:
    /// a wrong value is set aside (its default stands in) to look for more.
    fn extract_all(mut figment: Figment) -> Result<Self, Vec<Problem>> {
        let defaults = Figment::from(Toml::string(DEFAULTS));
        let mut problems = Vec::new();
        loop {
            let found = match figment.extract_lossy::<Settings>() {
                Ok(settings) if problems.is_empty() => return Ok(settings),
                Ok(settings) => {
                    problems.extend(settings.problems());
                    return Err(problems);
                }
                Err(e) => check::from_figment(e),
            };
            let mut set_aside = false;
            for p in &found {
                let default = defaults.find_value(&p.setting).ok().filter(|_| !p.setting.is_empty());
                if let Some(v) = default.filter(|_| !problems.contains(p)) {
                    figment = figment.merge(Serialized::global(p.setting.as_str(), v));
                    set_aside = true;
                }
            }
            problems.extend(found);
            if !set_aside {
                return Err(problems);
            }
        }
    }

    /// The effective settings and every problem with them, for `hotline config check`.
    pub fn check(file: Option<&Path>) -> Report {
        let figment = Self::figment(file);
        let problems = match Self::extract_all(figment.clone()) {
            Ok(settings) => settings.problems(),
            Err(problems) => problems,
        };
        Report {
            settings: check::effective(&figment),
            problems,
            unknown: unknown_variables(),
        }
    }

    fn figment(file: Option<&Path>) -> Figment {
        let mut figment = Figment::from(Toml::string(DEFAULTS));
        if let Some(path) = file {
            figment = figment.merge(Toml::file_exact(path));
        }
        // Every environment value is taken as the text it is and read as the setting's declared
        // type (figment's Env alone would read `+862912348` as a number, and then refuse it
        // as a phone number); "8080" still becomes a port, "true" a flag.
        for (key, value) in Env::prefixed("HOTLINE_").map(|key| env_key(key.as_str()).into()).iter() {
            figment = figment.merge(Serialized::global(key.as_str(), value));
        }
        figment
    }

    /// The compiled-in defaults alone, for tests and tools that build settings in code.
    pub fn defaults() -> Self {
        Figment::from(Toml::string(DEFAULTS))
            .extract()
            .expect("config/default.toml is valid")
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let problems = self.problems();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError(problems))
        }
    }

    /// Every rule a setting breaks.
    pub fn problems(&self) -> Vec<Problem> {
        let mut found = Vec::new();
        let mut invalid = |setting: &str, reason: &str| found.push(Problem::new(setting, reason));
        if !matches!(self.public_url.scheme(), "http" | "https") {
            invalid("public_url", "must be an http:// or https:// URL");
        }
        let db = self.database.url.expose_secret();
        if !(db.starts_with("sqlite:") || db.starts_with("postgres:") || db.starts_with("postgresql:")) {
            invalid("database.url", "must start with sqlite: or postgres://");
        }
        if self.ivr.no_input_timeout_secs < 10 {
            invalid(
                "ivr.no_input_timeout_secs",
                "must be at least 10 (accessibility rule R2)",
            );
        }
        let unparsable = self
            .aliyun
            .allowed_ips
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .any(|s| s.parse::<ipnet::IpNet>().is_err() && s.parse::<std::net::IpAddr>().is_err());
        if unparsable {
            invalid(
                "aliyun.allowed_ips",
                "must be addresses or CIDR ranges, comma-separated",
            );
        }
        if !(1..=10).contains(&self.ivr.long_timeout_factor) {
            invalid("ivr.long_timeout_factor", "must be 1 to 10 (accessibility rule R2)");
        }
        if !(0.5..=2.0).contains(&self.speech.voice_pitch_range) {
            invalid(
                "speech.voice_pitch_range",
                "must be 0.5 to 2.0 (1.0: as the voice was trained)",
            );
        }
        if self.twilio.say_language.trim().is_empty() {
            invalid("twilio.say_language", "must name the language of <Say>, such as cmn-CN");
        }
        if self.speech.voice_threads == 0 {
            invalid("speech.voice_threads", "must be at least 1");
        }
        let w = &self.whisper;
        if !(0.0..=1.0).contains(&w.confirm)
            || !(w.confirm..=1.0).contains(&w.accept)
            || !(w.accept..=1.0).contains(&w.accept_scored)
        {
            invalid(
                "whisper.accept",
                "thresholds must satisfy 0 <= confirm <= accept <= accept_scored <= 1",
            );
        }
        if self.ivr.max_tries == 0 {
            invalid("ivr.max_tries", "must be at least 1");
        }
        if self.redis.prefix.is_empty() || self.redis.prefix.contains(char::is_whitespace) {
            invalid("redis.prefix", "must be a non-empty word without spaces");
        }
        if self.provider == Provider::Jambonz && self.jambonz.webhook_secret.expose_secret().is_empty() {
            // Anyone can sign with an empty secret.
            invalid(
                "jambonz.webhook_secret",
                "provider = \"jambonz\" needs HOTLINE_JAMBONZ_WEBHOOK_SECRET, the application's webhook secret",
            );
        }
        let key = self.data_key.expose_secret();
        if !key.is_empty() && (key.len() != 64 || !key.bytes().all(|b| b.is_ascii_hexdigit())) {
            invalid("data_key", "must be 64 hex characters (32 random bytes)");
        }
        if self.mode == Mode::Production {
            if self.data_key.expose_secret().is_empty() {
                invalid("data_key", "production mode needs HOTLINE_DATA_KEY (64 hex characters)");
            }
            let uses_twilio = self.provider == Provider::Twilio || self.sms.provider == SmsProvider::Twilio;
            if uses_twilio && self.twilio.auth_token.expose_secret().is_empty() {
                invalid("twilio.auth_token", "production mode needs HOTLINE_TWILIO_AUTH_TOKEN");
            }
            let aliyun = &self.aliyun;
            if self.sms.provider == SmsProvider::Aliyun
                && (aliyun.access_key_secret.expose_secret().is_empty()
                    || aliyun.sign_name.is_empty()
                    || aliyun.template_code.is_empty())
            {
                invalid(
                    "aliyun.access_key_secret",
                    "sms.provider = \"aliyun\" in production needs the AccessKey, the sign name and the template",
                );
            }
        }
        found
    }
}

/// `REDIS_PREFIX` → `redis.prefix`; `PUBLIC_URL` → `public_url`.
fn env_key(key: &str) -> String {
    let key = key.to_ascii_lowercase();
    match key.split_once('_') {
        Some((head, rest)) if SECTIONS.contains(&head) => format!("{head}.{rest}"),
        _ => key,
    }
}

#[cfg(test)]
// figment's Jail takes closures returning its (large) error type.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn env_names_map_onto_sections() {
        assert_eq!(env_key("REDIS_PREFIX"), "redis.prefix");
        assert_eq!(env_key("TWILIO_API_BASE"), "twilio.api_base");
        assert_eq!(env_key("DATABASE_URL"), "database.url");
        assert_eq!(env_key("PUBLIC_URL"), "public_url");
        assert_eq!(env_key("HOTLINE_NUMBER"), "hotline_number");
        assert_eq!(env_key("DATA_KEY"), "data_key");
        assert_eq!(env_key("BIND"), "bind");
        assert_eq!(env_key("WHISPER_MODEL"), "whisper.model");
        assert_eq!(env_key("SMS_AUTOMATIC_PER_HOUR"), "sms.automatic_per_hour");
    }

    #[test]
    fn environment_overrides_file_and_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("site.toml", "bind = \"0.0.0.0:9000\"\n[redis]\nprefix = \"file\"\n")?;
            jail.set_env("HOTLINE_REDIS_PREFIX", "env");
            jail.set_env("HOTLINE_TWILIO_ACCOUNT_SID", "AC1");
            let s = Settings::load(Some(Path::new("site.toml"))).expect("loads");
            assert_eq!(s.bind.to_string(), "0.0.0.0:9000");
            assert_eq!(s.redis.prefix, "env");
            assert_eq!(s.twilio.account_sid, "AC1");
            assert_eq!(s.mode, Mode::Development);
            Ok(())
        });
    }

    #[test]
    fn environment_values_are_read_as_their_declared_types() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("HOTLINE_HOTLINE_NUMBER", "+862912348");
            jail.set_env("HOTLINE_FALLBACK_HUMAN_NUMBER", "02912348");
            jail.set_env("HOTLINE_TWILIO_AUTH_TOKEN", "1234567890");
            jail.set_env("HOTLINE_TWILIO_ACCOUNT_SID", "true");
            jail.set_env("HOTLINE_CALLBACK_MAX_ATTEMPTS", "5");
            jail.set_env("HOTLINE_JOBS_IN_SERVE", "false");
            let s = Settings::load(None).expect("loads");
            assert_eq!(s.hotline_number, "+862912348");
            assert_eq!(s.fallback.human_number, "02912348", "leading zero kept");
            assert_eq!(s.twilio.auth_token.expose_secret(), "1234567890");
            assert_eq!(s.twilio.account_sid, "true");
            assert_eq!(s.callback.max_attempts, 5);
            assert!(!s.jobs.in_serve);
            Ok(())
        });
    }

    #[test]
    fn the_shipped_example_environment_loads() {
        figment::Jail::expect_with(|jail| {
            let example = include_str!("../deploy/hotline.env.example");
            for line in example.lines().map(str::trim) {
                if let Some((k, v)) = line.split_once('=').filter(|_| !line.starts_with('#')) {
                    // The one placeholder that has a shape: a key the operator generates.
                    let v = if k == "HOTLINE_DATA_KEY" {
                        "ab".repeat(32)
                    } else {
                        v.to_owned()
                    };
                    jail.set_env(k, v);
                }
            }
            let s = Settings::load(None).expect("the example environment loads");
            assert_eq!(s.hotline_number, "+862912348");
            assert_eq!(s.mode, Mode::Production);
            Ok(())
        });
    }

    #[test]
    fn every_problem_is_reported_at_once_naming_its_variable() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("HOTLINE_BIND", "not an address");
            jail.set_env("HOTLINE_CALLBACK_MAX_ATTEMPTS", "three");
            jail.set_env("HOTLINE_PUBLIC_URL", "ftp://hotline.example.org");
            jail.set_env("HOTLINE_REDIS_PREFIX", "two words");
            jail.set_env("HOTLINE_IVR_NO_INPUT_TIMEOUT_SECS", "3");
            jail.set_env("HOTLINE_DATA_KEY", "short");
            let err = Settings::load(None).expect_err("must refuse");
            let variables: Vec<String> = err.0.iter().map(Problem::variable).collect();
            for v in [
                "HOTLINE_BIND",
                "HOTLINE_CALLBACK_MAX_ATTEMPTS",
                "HOTLINE_PUBLIC_URL",
                "HOTLINE_REDIS_PREFIX",
                "HOTLINE_IVR_NO_INPUT_TIMEOUT_SECS",
                "HOTLINE_DATA_KEY",
            ] {
                assert!(variables.contains(&v.to_owned()), "{v} missing from {err}");
            }
            assert_eq!(err.0.len(), 6, "{err}");
            let text = err.to_string();
            assert!(text.contains("for example HOTLINE_BIND=127.0.0.1:8080"), "{text}");
            assert!(text.contains("for example HOTLINE_CALLBACK_MAX_ATTEMPTS=3"), "{text}");
            // The report has the same problems, and the settings with secrets hidden.
            jail.set_env("HOTLINE_TWILIO_AUTH_TOKEN", "do-not-print-me");
            let report = Settings::check(None);
            assert_eq!(report.problems.len(), 6);
            let shown = format!("{:?}", report.settings);
            assert!(
                !shown.contains("do-not-print-me") && shown.contains("(set, hidden)"),
                "{shown}"
            );
            Ok(())
        });
    }

    #[test]
    fn production_without_data_key_is_refused() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("HOTLINE_MODE", "production");
            jail.set_env("HOTLINE_TWILIO_AUTH_TOKEN", "secret");
            let err = Settings::load(None).expect_err("must refuse");
            assert!(err.to_string().contains("HOTLINE_DATA_KEY"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn jambonz_needs_its_webhook_secret() {
        let mut s = Settings::defaults();
        s.provider = Provider::Jambonz;
        let refused = s.validate().unwrap_err().to_string();
        assert!(refused.contains("jambonz.webhook_secret"), "{refused}");
        s.jambonz.webhook_secret = SecretString::from("s3cret".to_owned());
        assert!(s.validate().is_ok());
        // A mainland office in production: jambonz and Aliyun, no Twilio account at all.
        s.mode = Mode::Production;
        s.data_key = SecretString::from("00".repeat(32));
        s.sms.provider = SmsProvider::Aliyun;
        let refused = s.validate().unwrap_err().to_string();
        assert!(refused.contains("aliyun"), "{refused}");
        s.aliyun.access_key_secret = SecretString::from("secret".to_owned());
        s.aliyun.sign_name = "12348".into();
        s.aliyun.template_code = "SMS_1".into();
        assert!(s.validate().is_ok(), "{:?}", s.validate());
        s.sms.provider = SmsProvider::Twilio;
        assert!(s.validate().unwrap_err().to_string().contains("twilio.auth_token"));
    }

    #[test]
    fn behind_a_trusted_proxy_the_forwarded_sender_counts() {
        let mut s = Settings::defaults();
        let ip = |a: &str| a.parse::<std::net::IpAddr>().unwrap();
        let a = &mut s.aliyun;
        // No trusted proxy: the header is anyone's to write, so it is ignored.
        assert_eq!(a.sender(ip("127.0.0.1"), Some("47.100.1.2")), ip("127.0.0.1"));
        a.trusted_proxies = "127.0.0.1, 10.0.0.0/8".into();
        assert_eq!(a.sender(ip("127.0.0.1"), Some("47.100.1.2")), ip("47.100.1.2"));
        // A forged first hop is not the one the proxy saw.
        assert_eq!(
            a.sender(ip("127.0.0.1"), Some("1.2.3.4, 47.100.1.2, 10.1.1.1")),
            ip("47.100.1.2")
        );
        assert_eq!(a.sender(ip("127.0.0.1"), None), ip("127.0.0.1"));
        assert_eq!(
            a.sender(ip("47.1.1.1"), Some("127.0.0.1")),
            ip("47.1.1.1"),
            "an untrusted peer"
        );
    }

    #[test]
    fn aliyun_pushes_come_only_from_allowed_addresses() {
        let mut s = Settings::defaults();
        let ip = |a: &str| a.parse::<std::net::IpAddr>().unwrap();
        assert!(
            s.aliyun.allows(ip("127.0.0.1")) && !s.aliyun.allows(ip("47.100.1.2")),
            "loopback only by default"
        );
        s.aliyun.allowed_ips = "47.100.0.0/16, 106.11.1.1".into();
        assert!(s.validate().is_ok());
        assert!(s.aliyun.allows(ip("47.100.1.2")) && s.aliyun.allows(ip("106.11.1.1")));
        assert!(!s.aliyun.allows(ip("127.0.0.1")) && !s.aliyun.allows(ip("106.11.1.2")));
        s.aliyun.allowed_ips = "47.100.0.0/99".into();
        assert!(s.validate().is_err());
    }

    #[test]
    fn short_timeouts_are_refused() {
        let mut s = Settings::defaults();
        s.ivr.no_input_timeout_secs = 5;
        assert!(s.validate().is_err());
    }
}
