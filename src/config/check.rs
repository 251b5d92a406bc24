//! What `hotline config check` reports, and what every command refuses to start with: every
//! problem with the settings at once, each naming its environment variable, what is wrong with
//! the value and an example of a right one; and the effective settings with secrets masked.

use std::fmt;

use figment::providers::{Format, Toml};
use figment::value::Value;
use figment::Figment;

/// A setting that is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// `redis.prefix`; empty for a problem with a configuration file as a whole.
    pub setting: String,
    pub reason: String,
}

impl Problem {
    pub fn new(setting: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            setting: setting.into(),
            reason: reason.into(),
        }
    }

    /// The environment variable that sets it: `redis.prefix` → `HOTLINE_REDIS_PREFIX`.
    pub fn variable(&self) -> String {
        variable(&self.setting)
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.setting.is_empty() {
            return write!(f, "{}", self.reason);
        }
        let variable = self.variable();
        write!(f, "{variable} ({}): {}", self.setting, self.reason)?;
        match example(&self.setting) {
            Some(e) => write!(f, "; for example {variable}={e}"),
            None => Ok(()),
        }
    }
}

pub fn variable(setting: &str) -> String {
    format!("HOTLINE_{}", setting.replace('.', "_").to_ascii_uppercase())
}

/// Settings that are secrets: shown only as set or not.
const SECRETS: &[&str] = &[
    "data_key",
    "twilio.auth_token",
    "jambonz.api_key",
    "jambonz.webhook_secret",
    "aliyun.sms_secret",
    "aliyun.access_key_secret",
];

/// URLs whose password is masked.
const URLS: &[&str] = &["database.url", "redis.url"];

/// What a right value looks like, where the default does not show it.
fn example(setting: &str) -> Option<String> {
    let known = match setting {
        "public_url" => "https://hotline.example.org",
        "bind" => "127.0.0.1:8080",
        "hotline_number" => "+862912348",
        "data_key" => "$(openssl rand -hex 32)",
        "database.url" => "postgres://hotline@127.0.0.1:5432/hotline",
        "redis.url" => "redis://127.0.0.1:6379",
        "twilio.auth_token" => "<the Auth Token from the Twilio console>",
        "twilio.account_sid" => "AC0123456789abcdef0123456789abcdef",
        "jambonz.webhook_secret" => "<the application's webhook secret from the jambonz portal>",
        "aliyun.access_key_secret" => "<the AccessKey secret from the Aliyun console>",
        "aliyun.allowed_ips" => "47.100.0.0/16,106.11.1.1",
        _ => "",
    };
    if !known.is_empty() {
        return Some(known.to_owned());
    }
    let defaults = Figment::from(Toml::string(super::DEFAULTS));
    match defaults.find_value(setting).ok()? {
        Value::String(_, s) if s.is_empty() => None,
        Value::String(_, s) => Some(s),
        v => serde_json::to_string(&v).ok(),
    }
}

/// One problem for each of figment's errors (a value of the wrong type, a missing section, a
/// configuration file that is not TOML).
pub fn from_figment(error: figment::Error) -> Vec<Problem> {
    error
        .into_iter()
        .map(|e| {
            let reason = match &e.metadata {
                Some(m) if e.path.is_empty() => format!("{} ({})", e.kind, m.name),
                _ => e.kind.to_string(),
            };
            Problem::new(e.path.join("."), reason)
        })
        .collect()
}

/// Every setting as `(setting, value)`, sorted, secrets masked.
pub fn effective(figment: &Figment) -> Vec<(String, String)> {
    let mut lines = Vec::new();
    if let Ok(value) = figment.extract::<Value>() {
        flatten("", &value, &mut lines);
    }
    lines.sort();
    lines
}

fn flatten(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
    if let Value::Dict(_, dict) = value {
        for (key, v) in dict {
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            flatten(&path, v, out);
        }
        return;
    }
    let shown = match value {
        Value::String(_, s) if SECRETS.contains(&prefix) => {
            if s.is_empty() {
                "(not set)".to_owned()
            } else {
                "(set, hidden)".to_owned()
            }
        }
        Value::String(_, s) if URLS.contains(&prefix) => masked_url(s),
        v => serde_json::to_string(v).unwrap_or_default(),
    };
    out.push((prefix.to_owned(), shown));
}

/// A URL with its password replaced, as text; one that does not parse (a password with `/` or
/// `#` in it) has everything before its last `@` hidden.
fn masked_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("*****"));
            format!("\"{u}\"")
        }
        Ok(u) if u.host_str().is_some() || !raw.contains('@') => format!("\"{raw}\""),
        _ => match (raw.split_once("://"), raw.rfind('@')) {
            (Some((scheme, _)), Some(at)) => format!("\"{scheme}://*****@{}\"", &raw[at + 1..]),
            _ => "(set, hidden: not a URL)".to_owned(),
        },
    }
}

/// Variables of the hotline's own tools, not settings.
const TOOL_VARIABLES: &[&str] = &[
    "HOTLINE_USER_PASSWORD",
    "HOTLINE_VOICE_VENV",
    "HOTLINE_EVAL_CACHE",
    "HOTLINE_BINARY",
];

/// `HOTLINE_*` variables of `vars` that name no setting (a misspelling, a setting that was
/// renamed): they are ignored, so they are reported.
pub fn unknown(vars: impl Iterator<Item = (String, String)>, key: impl Fn(&str) -> String) -> Vec<String> {
    let defaults = Figment::from(Toml::string(super::DEFAULTS));
    let mut unknown: Vec<String> = vars
        .map(|(name, _)| name)
        .filter(|name| name.starts_with("HOTLINE_") && !TOOL_VARIABLES.contains(&name.as_str()))
        .filter(|name| !name.starts_with("HOTLINE_TEST_"))
        .filter(|name| defaults.find_value(&key(&name["HOTLINE_".len()..])).is_err())
        .collect();
    unknown.sort();
    unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_names_its_variable_and_an_example() {
        let p = Problem::new("redis.prefix", "must be a non-empty word without spaces");
        assert_eq!(
            p.to_string(),
            "HOTLINE_REDIS_PREFIX (redis.prefix): must be a non-empty word without spaces; \
             for example HOTLINE_REDIS_PREFIX=hotline"
        );
        let p = Problem::new("ivr.no_input_timeout_secs", "must be at least 10");
        assert!(
            p.to_string()
                .ends_with("for example HOTLINE_IVR_NO_INPUT_TIMEOUT_SECS=10"),
            "{p}"
        );
        let p = Problem::new("public_url", "relative URL without a base");
        assert!(p.to_string().contains("HOTLINE_PUBLIC_URL=https://"), "{p}");
    }

    #[test]
    fn secrets_are_masked_and_the_rest_shown() {
        let figment = Figment::from(Toml::string(
            "data_key = \"abc\"\n[database]\nurl = \"postgres://u:pw@db:5432/h\"\n[redis]\nprefix = \"p\"\n[twilio]\nauth_token = \"\"\n",
        ));
        let lines = effective(&figment);
        let get = |k: &str| lines.iter().find(|(s, _)| s == k).map(|(_, v)| v.as_str());
        assert_eq!(get("data_key"), Some("(set, hidden)"));
        assert_eq!(get("twilio.auth_token"), Some("(not set)"));
        assert_eq!(get("database.url"), Some("\"postgres://u:*****@db:5432/h\""));
        assert_eq!(get("redis.prefix"), Some("\"p\""));
        assert!(!format!("{lines:?}").contains("pw@"));
        // A password that breaks the URL is still hidden.
        assert_eq!(
            masked_url("postgres://hotline:a/b+c=@db:5432/h"),
            "\"postgres://*****@db:5432/h\""
        );
        assert_eq!(masked_url("redis://:p#w@redis:6379"), "\"redis://*****@redis:6379\"");
    }

    #[test]
    fn unknown_variables_are_named() {
        let vars = [
            ("HOTLINE_JOBS_INSERVE", "false"),
            ("HOTLINE_JOBS_IN_SERVE", "false"),
            ("HOTLINE_WHISPER_MODEL_PATH", "/x"),
            ("HOTLINE_USER_PASSWORD", "p"),
            ("HOTLINE_TEST_POSTGRES_URL", "postgres://"),
            ("PATH", "/bin"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        let found = unknown(vars.into_iter(), super::super::env_key);
        assert_eq!(found, ["HOTLINE_JOBS_INSERVE", "HOTLINE_WHISPER_MODEL_PATH"]);
    }
}
