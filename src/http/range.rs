//! Byte ranges (RFC 9110 §14), so that a lawyer can seek in a recording: the player asks for a
//! part of the audio. One satisfiable range is answered 206 Partial Content with
//! `Content-Range`; a range that starts past the end is 416 with `Content-Range: bytes */len`.
//! A header that is not one byte range (malformed, another unit, several ranges) is ignored and
//! the whole body is sent, as the RFC allows.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    /// No usable Range header: the whole body.
    Whole,
    /// Bytes `start..=end`, both within the body.
    Part { start: usize, end: usize },
    /// The range holds none of the body's bytes.
    Unsatisfiable,
}

/// A decimal position; one too large for memory is past any body.
fn position(s: &str) -> Option<usize> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.parse().unwrap_or(usize::MAX))
}

/// The range a `Range` header asks for, of a body of `len` bytes.
pub fn parse(header: Option<&str>, len: usize) -> Range {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return Range::Whole;
    };
    let Some((first, last)) = spec.split_once('-').filter(|_| !spec.contains(',')) else {
        return Range::Whole;
    };
    match (first.trim(), last.trim()) {
        // The last n bytes.
        ("", suffix) => match position(suffix) {
            None => Range::Whole,
            Some(0) => Range::Unsatisfiable,
            Some(_) if len == 0 => Range::Unsatisfiable,
            Some(n) => Range::Part {
                start: len - n.min(len),
                end: len - 1,
            },
        },
        (first, last) => {
            let start = match position(first) {
                Some(start) => start,
                None => return Range::Whole,
            };
            let end = match last {
                "" => usize::MAX,
                last => match position(last) {
                    Some(end) if end >= start => end,
                    _ => return Range::Whole,
                },
            };
            if start >= len {
                Range::Unsatisfiable
            } else {
                Range::Part {
                    start,
                    end: end.min(len - 1),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{parse, Range};

    #[test]
    fn ranges_of_a_body() {
        let part = |start, end| Range::Part { start, end };
        for (header, expected) in [
            (None, Range::Whole),
            (Some("bytes=0-99"), part(0, 99)),
            (Some("bytes=100-199"), part(100, 199)),
            (Some("bytes=100-"), part(100, 999)),
            (Some("bytes=-10"), part(990, 999)),
            (Some("bytes=-5000"), part(0, 999)),
            (Some("bytes=900-5000"), part(900, 999)),
            (Some("bytes=999-999"), part(999, 999)),
            (Some(" bytes=1-2 "), part(1, 2)),
            (Some("bytes=1000-"), Range::Unsatisfiable),
            (Some("bytes=1000-2000"), Range::Unsatisfiable),
            (Some("bytes=99999999999999999999999-"), Range::Unsatisfiable),
            (Some("bytes=-0"), Range::Unsatisfiable),
            // Not one byte range: ignored.
            (Some("bytes=5-1"), Range::Whole),
            (Some("bytes=0-1,5-6"), Range::Whole),
            (Some("items=0-1"), Range::Whole),
            (Some("bytes=a-b"), Range::Whole),
            (Some("bytes=-"), Range::Whole),
            (Some("bytes=+1-2"), Range::Whole),
        ] {
            assert_eq!(parse(header, 1000), expected, "{header:?}");
        }
        assert_eq!(parse(Some("bytes=0-"), 0), Range::Unsatisfiable, "an empty body");
        assert_eq!(parse(Some("bytes=-3"), 0), Range::Unsatisfiable);
    }
}
