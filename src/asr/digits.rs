//! A key said instead of pressed: "一", "按一", "我选二", "第三个", "按四号键", "请按数字零",
//! "嗯，按星号". The whole answer must be the key (with fillers, a verb, a counter and a final
//! particle around it): a digit inside a sentence ("我想问一下") is a word, not a key.

/// Fillers and openings said before the key.
const OPENINGS: [&str; 16] = [
    "嗯", "呃", "啊", "哦", "那", "就", "好", "我", "要", "想", "请", "麻烦", "帮我", "给我", "那就", "还是",
];
/// The verbs of choosing a key, longest first where one is inside another.
const VERBS: [&str; 11] = ["按键", "按下", "按", "摁", "选择", "选", "点", "输入", "拨", "打", "是"];
/// Counters and particles after it.
const ENDINGS: [&str; 14] = [
    "号键",
    "号",
    "键",
    "个选项",
    "选项",
    "个",
    "项",
    "位",
    "吧",
    "啊",
    "呀",
    "的",
    "了",
    "嘛",
];
/// Before the digit: "number", ordinals.
const MARKS: [&str; 3] = ["数字", "第", "头"];

/// The key of an answer that is only a key, if it is one.
pub fn spoken_key(text: &str) -> Option<String> {
    let mut core = strip_all(text, &OPENINGS, true);
    core = strip_all(core, &VERBS, true);
    core = strip_all(core, &MARKS, true);
    core = strip_all(core, &ENDINGS, false);
    if let Some(key) = named_key(core) {
        return Some(key.to_owned());
    }
    let mut chars = core.chars();
    let (Some(c), None) = (chars.next(), chars.next()) else {
        return None;
    };
    let digit = match c {
        '0'..='9' => c.to_digit(10)?,
        '幺' => 1,
        '两' => 2,
        // The radio-telephone names: 幺 1, 两 2, 拐 7, 勾 9, 洞 0.
        '拐' => 7,
        '勾' => 9,
        '洞' | '〇' => 0,
        _ => DIGITS.iter().position(|d| *d == c)? as u32,
    };
    Some(digit.to_string())
}

const DIGITS: [char; 10] = ['零', '一', '二', '三', '四', '五', '六', '七', '八', '九'];

/// How a caller says a digit key, with its verb: "按一". It primes the recogniser (the base model
/// writes a lone 一 as 请 or 嗯 when nothing leads it to a digit) and is scored against the audio
/// when the transcript is not clear. Not the digit alone: scored as a whole answer, one token
/// beats every longer word on audio it does not fit (the shipped espeak set fell from 61 to 50 of
/// 66), nor * and #, whose names take several tokens (about 200 ms more a turn, measured).
pub fn said(key: &str) -> Option<String> {
    let digit = DIGITS[key.parse::<usize>().ok().filter(|d| *d < 10)?];
    Some(format!("按{digit}"))
}

/// The keys that have names rather than digits.
fn named_key(core: &str) -> Option<&'static str> {
    match core {
        "星" | "星号" | "米字" | "米" | "*" => Some("*"),
        "井" | "井号" | "#" => Some("#"),
        _ => None,
    }
}

/// Takes any of `parts` off the start (or the end) of `text` as long as one fits, leaving
/// something.
fn strip_all<'a>(mut text: &'a str, parts: &[&str], from_start: bool) -> &'a str {
    loop {
        let before = text;
        for p in parts {
            let rest = if from_start {
                text.strip_prefix(p)
            } else {
                text.strip_suffix(p)
            };
            if let Some(rest) = rest {
                if !rest.is_empty() {
                    text = rest;
                }
            }
        }
        if text == before {
            return text;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_said_with_its_verb_counter_and_fillers_is_the_key() {
        for (said, key) in [
            ("一", "1"),
            ("按一", "1"),
            ("我选一", "1"),
            ("第一个", "1"),
            ("选第一个", "1"),
            ("按一号键", "1"),
            ("请按数字一", "1"),
            ("嗯按一", "1"),
            ("按幺", "1"),
            ("按两", "2"),
            ("按零号", "0"),
            ("按星号键", "*"),
            ("星键", "*"),
            ("按键三", "3"),
            ("3", "3"),
        ] {
            assert_eq!(spoken_key(said).as_deref(), Some(key), "{said}");
        }
    }

    #[test]
    fn every_digit_key_is_said_with_its_verb_and_is_heard_back() {
        for key in ["0", "1", "2", "9"] {
            let form = said(key).unwrap();
            assert_eq!(spoken_key(&form).as_deref(), Some(key), "{form}");
        }
        assert_eq!(said("1").as_deref(), Some("按一"));
        assert_eq!(said("10"), None);
        assert_eq!(said("*"), None);
        assert_eq!(said("more"), None);
    }

    #[test]
    fn a_digit_inside_a_sentence_is_no_key() {
        for said in [
            "我想问一下",
            "一下",
            "问一个问题",
            "一点",
            "三十",
            "星期一",
            "第一次打电话",
        ] {
            assert_eq!(spoken_key(said), None, "{said}");
        }
    }
}
