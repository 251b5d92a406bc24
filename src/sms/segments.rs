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

/// Splits a long text into separate messages that each fit one SMS, at sentence ends where it
/// can (else at a comma, else anywhere), numbered "(1/3)" when there is more than one.
/// `signature` (e.g. "【12348】") starts every part and is counted.
pub fn split(text: &str, signature: &str) -> Vec<String> {
    let whole = format!("{signature}{text}");
    if count(&whole).segments == 1 {
        return vec![whole];
    }
    // Room for the text of one part: the signature and a "(nn/nn)" marker take their share.
    let limit = |body: &str| count(&format!("{signature}(99/99){body}")).segments == 1;
    let mut parts: Vec<String> = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let chars: Vec<(usize, char)> = rest.char_indices().collect();
        let mut fit = 0;
        while fit < chars.len() && limit(&rest[..chars.get(fit + 1).map_or(rest.len(), |c| c.0)]) {
            fit += 1;
        }
        let fit = fit.max(1);
        let end_of = |i: usize| chars.get(i + 1).map_or(rest.len(), |c| c.0);
        let cut = if fit >= chars.len() {
            rest.len()
        } else {
            let window = &chars[..fit];
            let at = |set: &str| window.iter().rposition(|(_, c)| set.contains(*c)).map(end_of);
            at("。！？!?；;\n")
                .or_else(|| at("，,、 "))
                .unwrap_or_else(|| end_of(fit - 1))
        };
        parts.push(rest[..cut].trim().to_owned());
        rest = rest[cut..].trim_start();
    }
    let n = parts.len();
    parts
        .into_iter()
        .enumerate()
        .map(|(i, p)| format!("{signature}({}/{n}){p}", i + 1))
        .collect()
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
        assert_eq!(split("短信", "【12348】"), vec!["【12348】短信".to_owned()]);
    }

    #[test]
    fn shipped_automatic_texts_fit_one_sms() {
        let p = crate::ivr::Prompts::zh_cn();
        for (key, text) in p.all().into_iter().filter(|(k, _)| k.starts_with("sms_")) {
            let filled = crate::ivr::prompts::fill(text, &[("ticket", "12345678")]);
            assert_eq!(count(&filled).segments, 1, "{key} is {} units", count(&filled).units);
        }
    }
}
