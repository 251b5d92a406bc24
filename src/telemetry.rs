//! Logging with `tracing`: pretty lines in development, JSON lines in production, and every
//! line passed through [`redact`] on its way out, so phone and ID numbers never reach a log,
//! whoever wrote the log statement.

use std::io::{self, Write};
use std::sync::LazyLock;

use regex::Regex;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, LogSettings, Mode};

/// Phone and ID numbers standing alone (not inside a word such as a provider SID): runs of 7 or
/// more digits with an optional `+` and the `X` check character of an ID number, landlines
/// written `029-88881234`, and international numbers written with spaces.
static SENSITIVE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\+?\b\d{7,}[Xx]?\b|\b0\d{2,3}-\d{7,8}\b|\+\d{1,3}(?: \d{2,5}){2,4}\b").expect("valid regex")
});

/// Masks phone and ID numbers, keeping the last two characters so that lines about the same
/// caller can still be matched up by a person.
pub fn redact(line: &str) -> String {
    SENSITIVE
        .replace_all(line, |caps: &regex::Captures| {
            let found = &caps[0];
            let tail = &found[found.len() - 2..];
            format!("[redacted:{tail}]")
        })
        .into_owned()
}

/// A `MakeWriter` that redacts each formatted event before it reaches stderr.
#[derive(Clone, Copy)]
struct RedactingStderr;

struct RedactingWriter;

impl Write for RedactingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        io::stderr().lock().write_all(redact(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

impl<'a> MakeWriter<'a> for RedactingStderr {
    type Writer = RedactingWriter;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter
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
        .with_writer(RedactingStderr);
    let _ = if json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
}

#[cfg(test)]
mod tests {
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
        ] {
            assert_eq!(redact(line), line);
        }
    }
}
