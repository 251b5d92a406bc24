//! Logging with `tracing`: pretty lines in development, JSON lines in production, and every
//! line passed through [`redact`] on its way out, so phone and ID numbers never reach a log,
//! whoever wrote the log statement.
//!
//! A JSON line is redacted as JSON: the values of known personal fields are masked whole, other
//! strings are searched for phone and ID numbers, and numbers stay numbers — so every line is
//! still a JSON object. Decimals (`0.84`, `0.12345678`) and the digit runs of UUIDs and
//! provider ids are not phone numbers and are kept.

use std::io::{self, Write};
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, LogSettings, Mode};

/// Phone and ID numbers standing alone: runs of 7 or more digits with an optional `+` and the
/// `X` check character of an ID number, landlines written `029-88881234`, and international
/// numbers written with spaces. [`standalone`] then drops matches inside decimals and ids.
static SENSITIVE: LazyLock<Regex> = LazyLock::new(|| {
    // ASCII word boundaries: a number written straight after Chinese text (电话13800138000)
    // stands alone too.
    Regex::new(r"(?-u:\+?\b\d{7,}[Xx]?\b|\b0\d{2,3}-\d{7,8}\b|\+\d{1,3}(?: \d{2,5}){2,4}\b)").expect("valid regex")
});

/// Fields whose whole value is personal: masked whatever it looks like.
const PERSONAL: [&str; 12] = [
    "from",
    "to",
    "caller",
    "phone",
    "number",
    "body",
    "text",
    "transcript",
    "certificate",
    "resident_id",
    "From",
    "To",
];

/// A match is a number of its own, not part of a decimal (`0.1234567`), a UUID or a
/// hyphenated id (`…-446655440000`), or a longer word.
fn standalone(line: &str, start: usize, end: usize) -> bool {
    let before = line[..start].chars().next_back();
    let mut after = line[end..].chars();
    let next = after.next();
    let joined = |c: char| c == '.' || c == '-' || c == '_' || c.is_ascii_alphanumeric();
    if before.is_some_and(joined) {
        return false;
    }
    match next {
        Some('-') | Some('_') => false,
        Some('.') => !after.next().is_some_and(|c| c.is_ascii_digit()),
        Some(c) => !c.is_ascii_alphanumeric(),
        None => true,
    }
}

fn mask(found: &str) -> String {
    let tail: String = found
        .chars()
        .rev()
        .take(2)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("[redacted:{tail}]")
}

/// Masks phone and ID numbers in free text, keeping the last two characters so that lines
/// about the same caller can still be matched up by a person.
pub fn redact_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for m in SENSITIVE.find_iter(text) {
        if !standalone(text, m.start(), m.end()) {
            continue;
        }
        out.push_str(&text[last..m.start()]);
        out.push_str(&mask(m.as_str()));
        last = m.end();
    }
    out.push_str(&text[last..]);
    out
}

fn redact_value(value: &mut Value, personal: bool) {
    match value {
        // A number keeps its last two digits (to match lines up); words are hidden whole.
        Value::String(s)
            if personal
                && s.chars().any(|c| c.is_ascii_digit())
                && s.chars().all(|c| c.is_ascii_digit() || "+- Xx".contains(c)) =>
        {
            *s = mask(s)
        }
        Value::String(s) if personal && !s.is_empty() => *s = "[redacted]".to_owned(),
        Value::String(s) => *s = redact_text(s),
        Value::Array(items) => items.iter_mut().for_each(|v| redact_value(v, personal)),
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                redact_value(v, personal || PERSONAL.contains(&key.as_str()));
            }
        }
        // Numbers stay numbers: a log's figures are not phone numbers.
        _ => {}
    }
}

/// One formatted log line, redacted: a JSON object stays a JSON object.
pub fn redact(line: &str) -> String {
    let trimmed = line.trim_end_matches('\n');
    if trimmed.starts_with('{') {
        if let Ok(mut value) = serde_json::from_str::<Value>(trimmed) {
            redact_value(&mut value, false);
            let newline = if line.ends_with('\n') { "\n" } else { "" };
            return format!("{value}{newline}");
        }
    }
    redact_text(line)
}

/// A `MakeWriter` that redacts each formatted event before it reaches its sink (stderr).
#[derive(Clone)]
pub struct Redacting<M>(pub M);

pub struct RedactingWriter<W: Write>(W);

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0.write_all(redact(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Redacting<M> {
    type Writer = RedactingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter(self.0.make_writer())
    }
}

/// Installs the global subscriber. `RUST_LOG`, when set, wins over the configured filter.
pub fn init(log: &LogSettings, mode: Mode) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&log.filter));
    let json = match log.format {
        LogFormat::Json => true,
        LogFormat::Pretty => false,
        LogFormat::Auto => mode == Mode::Production,
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(Redacting(io::stderr));
    let _ = if json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[test]
    fn phone_and_id_numbers_are_masked() {
        let cases = [
            ("from=+8613800138000 ok", "from=[redacted:00] ok"),
            ("caller 13800138000", "caller [redacted:00]"),
            ("tel 029-88881234", "tel [redacted:34]"),
            ("id 11010519491231002X", "id [redacted:2X]"),
            ("cert 3405241980010100124 ", "cert [redacted:24] "),
            ("\"From\":\"+14155550123\"", "\"From\":\"[redacted:23]\""),
            ("+86 138 0013 8000.", "[redacted:00]."),
            ("电话13800138000。", "电话[redacted:00]。"),
            ("call 13800138000.", "call [redacted:00]."),
        ];
        for (input, expected) in cases {
            assert_eq!(redact(input), expected, "{input}");
        }
    }

    #[test]
    fn ordinary_values_are_kept() {
        for line in [
            "call_sid=CA0123456789abcdef0123456789abcdef",
            "ticket=8312 status=200 elapsed=12ms",
            "2026-11-29T01:53:08.123Z INFO started",
            "confidence=0.84 other=0.123456789",
            "assignment=550e8400-e29b-41d4-a716-446655440000",
            "request 01234567-1234-1234-1234-123456789012 done",
        ] {
            assert_eq!(redact(line), line);
        }
    }

    #[test]
    fn json_lines_stay_json_with_personal_fields_masked() {
        let line = r#"{"level":"INFO","confidence":0.84,"score":0.123456789,"assignment":"550e8400-e29b-41d4-a716-446655440000","from":"+8613800138000","message":"caller 13800138000 said","body":"我的电话"}"#;
        let out = redact(&format!("{line}\n"));
        assert!(out.ends_with('\n'));
        let v: Value = serde_json::from_str(&out).expect("still JSON");
        assert_eq!(v["confidence"], 0.84);
        assert_eq!(v["score"], 0.123456789);
        assert_eq!(v["assignment"], "550e8400-e29b-41d4-a716-446655440000");
        assert_eq!(v["from"], "[redacted:00]");
        assert_eq!(v["message"], "caller [redacted:00] said");
        assert_eq!(v["body"], "[redacted]");
    }

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_of_the_json_log_parses() {
        let buffer = Buffer::default();
        let sink = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_writer(Redacting(move || sink.clone()))
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("webhook", call_sid = "CA0123456789abcdef0123456789abcdef");
            let _entered = span.enter();
            tracing::info!(confidence = 0.8412345_f64, key = "1", "spoken answer heard");
            tracing::info!(from = "+8613800138000", turn = 3, "call started");
            tracing::warn!(
                assignment = "550e8400-e29b-41d4-a716-446655440000",
                "callback: calling the lawyer"
            );
            tracing::info!("caller typed 11010519491231002X and 13800138000");
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        for line in &lines {
            let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
            assert!(v.is_object());
        }
        assert!(
            !text.contains("13800138000") && !text.contains("11010519491231002X"),
            "{text}"
        );
        assert!(text.contains("0.8412345") && text.contains("446655440000"), "{text}");
    }
}
