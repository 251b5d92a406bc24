//! SMS length (DOMAIN.md §4). A text is GSM-7 if every character is in the GSM 03.38 alphabet
//! (the extension characters `^{}\[~]|€` take two septets), else UCS-2, where a character
//! outside the Basic Multilingual Plane (an emoji) takes two units. One SMS holds 160 septets or
//! 70 UCS-2 units; a concatenated message loses room to its header: 153 septets or 67 units per
//! part. One Chinese character makes the whole message UCS-2. Providers in China count the
//! signature 【…】 in the length, so callers pass the text as it will be sent.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Gsm7,
    Ucs2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentCount {
    pub encoding: Encoding,
    /// Septets (GSM-7) or UTF-16 units (UCS-2).
    pub units: usize,
    pub segments: usize,
}

const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM7_EXTENSION: &str = "^{}\\[~]|€\u{000C}";

fn gsm7_units(text: &str) -> Option<usize> {
    text.chars().try_fold(0, |n, c| {
        if GSM7_BASIC.contains(c) {
            Some(n + 1)
        } else if GSM7_EXTENSION.contains(c) {
            Some(n + 2)
        } else {
            None
        }
    })
}

/// How many segments `text` takes.
pub fn count(text: &str) -> SegmentCount {
    let (encoding, units, single, part) = match gsm7_units(text) {
        Some(units) => (Encoding::Gsm7, units, 160, 153),
        None => (Encoding::Ucs2, text.encode_utf16().count(), 70, 67),
    };
    let segments = if units <= single { 1 } else { units.div_ceil(part) };
    SegmentCount {
        encoding,
        units,
        segments,
    }
}

/// Splits a long text into separate messages that each fit one SMS, numbered "(1/3)" when
/// there is more than one. The fewest messages first; among the ways to send that many, cuts at
/// sentence ends are preferred, then at commas, then anywhere — so no part is left nearly
/// empty for the sake of a full stop. `signature` (e.g. "【12348】") starts every part and is
/// counted.
pub fn split(text: &str, signature: &str) -> Vec<String> {
    let whole = format!("{signature}{text}");
    if count(&whole).segments == 1 {
        return vec![whole];
    }
    let text = text.trim();
    // The part marker's width depends on how many parts there are: try the narrow one first.
    let parts = cuts(text, signature, "(9/9)");
    let parts = if parts.len() > 9 {
        cuts(text, signature, "(99/99)")
    } else {
        parts
    };
    let n = parts.len();
    parts
        .into_iter()
        .enumerate()
        .map(|(i, p)| format!("{signature}({}/{n}){p}", i + 1))
        .collect()
}

/// What a cut after `c` costs: nothing at a sentence end, a little at a comma, most elsewhere.
fn cut_cost(c: char) -> u32 {
    if "。！？!?；;\n".contains(c) {
        0
    } else if "，,、 ：:".contains(c) {
        1
    } else {
        4
    }
}

/// The fewest parts that each fit one SMS with `signature` and `marker`, then the cheapest cuts.
fn cuts(text: &str, signature: &str, marker: &str) -> Vec<String> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let n = chars.len();
    let at = |i: usize| chars.get(i).map_or(text.len(), |c| c.0);
    let fits = |j: usize, i: usize| count(&format!("{signature}{marker}{}", text[at(j)..at(i)].trim())).segments == 1;
    // best[i]: (parts, cost, where the last part starts) for text[..i] cut into whole parts.
    let mut best: Vec<Option<(usize, u32, usize)>> = vec![None; n + 1];
    best[0] = Some((0, 0, 0));
    let mut lo = 0;
    for i in 1..=n {
        // A part that fits still fits when it starts later, so the earliest start only moves on.
        while lo + 1 < i && !fits(lo, i) {
            lo += 1;
        }
        for j in lo..i {
            let Some((parts, cost, _)) = best[j] else { continue };
            let cost = cost + if i < n { cut_cost(chars[i - 1].1) } else { 0 };
            let candidate = (parts + 1, cost, j);
            if best[i].is_none_or(|b| (candidate.0, candidate.1) < (b.0, b.1)) {
                best[i] = Some(candidate);
            }
        }
    }
    let mut parts = Vec::new();
    let mut end = n;
    while end > 0 {
        let (_, _, start) = best[end].expect("every prefix can be cut: one character always fits");
        parts.push(text[at(start)..at(end)].trim().to_owned());
        end = start;
    }
    parts.reverse();
    parts.retain(|p| !p.is_empty());
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ucs2_boundaries_from_the_domain_notes() {
        for (len, segments) in [(70, 1), (71, 2), (134, 2), (135, 3)] {
            let c = count(&"律".repeat(len));
            assert_eq!(
                (c.encoding, c.units, c.segments),
                (Encoding::Ucs2, len, segments),
                "{len}"
            );
        }
    }

    #[test]
    fn gsm7_and_mixed_texts() {
        assert_eq!(count(&"a".repeat(160)).segments, 1);
        assert_eq!(count(&"a".repeat(161)).segments, 2);
        assert_eq!(count(&"a".repeat(306)).segments, 2);
        assert_eq!(count(&"a".repeat(307)).segments, 3);
        assert_eq!(count("{}").units, 4, "extension characters take two septets");
        let one_chinese = format!("{}律", "a".repeat(69));
        assert_eq!(count(&one_chinese).encoding, Encoding::Ucs2);
        assert_eq!(count(&one_chinese).segments, 1);
        assert_eq!(count("😀").units, 2, "outside the BMP counts twice");
        assert_eq!(count(&"😀".repeat(35)).segments, 1);
        assert_eq!(count(&format!("{}律", "😀".repeat(35))).segments, 2);
    }

    #[test]
    fn long_texts_split_at_sentences_with_part_numbers() {
        let sentence = "您好，关于您咨询的工资问题，建议先收集劳动合同、工资条和考勤记录等证据。";
        let text = sentence.repeat(4);
        let parts = split(&text, "【12348】");
        assert!(parts.len() >= 3, "{parts:?}");
        for (i, p) in parts.iter().enumerate() {
            assert_eq!(count(p).segments, 1, "each part is one SMS: {p}");
            assert!(p.starts_with(&format!("【12348】({}/{})", i + 1, parts.len())), "{p}");
        }
        assert!(
            parts[0].ends_with('。') || parts[0].ends_with('，'),
            "cut at a boundary: {}",
            parts[0]
        );
        let joined: String = parts.iter().map(|p| p.split_once(')').unwrap().1).collect();
        assert_eq!(joined, text, "nothing lost");
        // The fewest parts: as many as the text needs at 58 characters a part.
        assert_eq!(parts.len(), (text.chars().count()).div_ceil(70 - 7 - 5), "{parts:?}");
        assert_eq!(split("短信", "【12348】"), vec!["【12348】短信".to_owned()]);
    }

    #[test]
    fn a_short_first_sentence_does_not_cost_a_message() {
        // 152 characters: 3 messages of 58, not 4 with a first of 18 (seen in use).
        let text = format!(
            "您好，您的问题已经收到了。{}",
            "关于工资被拖欠的问题，建议您先收集劳动合同、工资条和考勤记录等证据，再向劳动监察大队投诉".repeat(3)
        );
        let text: String = text.chars().take(152).collect();
        let parts = split(&text, "【12348】");
        assert_eq!(parts.len(), 3, "{parts:?}");
        assert!(
            parts.iter().all(|p| p.chars().count() > 30),
            "no part nearly empty: {parts:?}"
        );
        let joined: String = parts.iter().map(|p| p.split_once(')').unwrap().1).collect();
        assert_eq!(joined, text);
    }

    #[test]
    fn shipped_automatic_texts_fit_one_sms() {
        let p = crate::prompts::Prompts::zh_cn();
        for (key, text) in p.all().into_iter().filter(|(k, _)| k.starts_with("sms_")) {
            let filled = crate::prompts::fill(text, &[("ticket", "12345678")]);
            assert_eq!(count(&filled).segments, 1, "{key} is {} units", count(&filled).units);
        }
    }
}
