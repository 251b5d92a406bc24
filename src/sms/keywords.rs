//! What an inbound text is: a keyword (退订, 帮助, 返回), an answer to the menu (digits, and X
//! in a certificate number), or free text for the lawyer.

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reading {
    /// 退订 / TD / STOP: no more automatic messages.
    Stop,
    /// 帮助 / 菜单 / HELP: the menu from the top (and automatic messages again).
    Help,
    /// 返回: one step back.
    Back,
    /// Keys as the phone menu takes them (`*` for X).
    Keys(String),
    /// Anything else: a message for the lawyer.
    Free,
}

pub fn read(body: &str) -> Reading {
    let text: String = body
        .trim()
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    let word = text.trim_matches(['。', '.', '!', '！']).to_uppercase();
    match word.as_str() {
        "退订" | "TD" | "T" | "STOP" | "UNSUBSCRIBE" => return Reading::Stop,
        "帮助" | "菜单" | "HELP" | "MENU" | "?" | "？" => return Reading::Help,
        "返回" | "BACK" => return Reading::Back,
        _ => {}
    }
    let keys: String = word
        .chars()
        .map(|c| match c {
            'X' => '*',
            // Full-width digits from a Chinese keyboard.
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
            c => c,
        })
        .collect();
    if !keys.is_empty() && keys.chars().all(|c| c.is_ascii_digit() || c == '*' || c == '#') {
        Reading::Keys(keys)
    } else {
        Reading::Free
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_answers_and_free_text() {
        let cases = [
            ("退订", Reading::Stop),
            (" td ", Reading::Stop),
            ("STOP", Reading::Stop),
            ("帮助", Reading::Help),
            ("菜单。", Reading::Help),
            ("返回", Reading::Back),
            ("1", Reading::Keys("1".into())),
            ("２", Reading::Keys("2".into())),
            ("110105 19491231 002x 11", Reading::Keys("11010519491231002*11".into())),
            ("老板拖欠工资三个月", Reading::Free),
            ("我选1", Reading::Free),
            ("", Reading::Free),
        ];
        for (text, expected) in cases {
            assert_eq!(read(text), expected, "{text:?}");
        }
    }
}
