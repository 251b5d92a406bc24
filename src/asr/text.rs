//! Whisper's text made fit for a case file: simplified characters (the base model often writes
//! traditional ones), Chinese punctuation, no broken tail, no bracketed non-speech marks.

/// Simplified Chinese with full-width punctuation, trimmed; empty when nothing was said.
pub fn normalise(raw: &str) -> String {
    let cleaned: String = raw
        .chars()
        // A token split inside a multi-byte character leaves U+FFFD at the end.
        .filter(|c| *c != char::REPLACEMENT_CHARACTER)
        .collect();
    let without_marks = strip_marks(&cleaned);
    let simplified = fast2s::convert(&without_marks);
    let mut out = String::with_capacity(simplified.len());
    for c in simplified.trim().chars() {
        let c = match c {
            ',' => '，',
            '.' => '。',
            '?' => '？',
            '!' => '！',
            ':' => '：',
            ';' => '；',
            other => other,
        };
        // Whisper separates Chinese segments with spaces; between Chinese characters they mean
        // nothing. Collapse runs of punctuation or space to the first.
        match (out.chars().last(), c) {
            (Some(last), c) if c.is_whitespace() && (last.is_whitespace() || !last.is_ascii()) => {}
            (Some(last), c) if is_punct(c) && (is_punct(last) || last.is_whitespace()) => {
                if last.is_whitespace() {
                    out.pop();
                    out.push(c);
                }
            }
            _ => out.push(c),
        }
    }
    out.trim().to_owned()
}

fn is_punct(c: char) -> bool {
    matches!(c, '，' | '。' | '？' | '！' | '：' | '；' | '、')
}

/// Drops "[音乐]", "(笑声)", "【…】" and the like: what whisper writes for non-speech.
fn strip_marks(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut depth = 0u32;
    for c in text.chars() {
        match c {
            '[' | '(' | '（' | '【' => depth += 1,
            ']' | ')' | '）' | '】' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traditional_becomes_simplified_with_chinese_punctuation() {
        assert_eq!(
            normalise(" 廣州市房地產中介協會, 分析?"),
            "广州市房地产中介协会，分析？"
        );
    }

    #[test]
    fn broken_tails_marks_and_spaces_go() {
        assert_eq!(normalise("我要申请法律援助\u{FFFD}"), "我要申请法律援助");
        assert_eq!(normalise("[音乐] 法律 咨询。。"), "法律咨询。");
        assert_eq!(normalise("(笑声)"), "");
    }
}
