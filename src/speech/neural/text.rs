//! What the neural voice reads: a prompt as runs of Chinese characters with a pause after each.
//! The model reads only Chinese characters, so the rest is written out first: a service or
//! phone number digit by digit (12348 → 幺二三四八, as operators say it), a year digit by digit,
//! a short number in words (按1 → 按一, 15分钟 → 十五分钟, 2位 → 两位), 3.5 and 60%, the keys *
//! and #, and the X of an identity number. Other characters are not read.

use crate::domain::spoken;

/// A pause between phrases (the model speaks each phrase on its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pause {
    /// After a comma, an enumeration comma, a colon or a semicolon.
    Short,
    /// After the end of a sentence.
    Long,
}

/// A run of Chinese characters and the pause that follows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phrase {
    pub chars: Vec<char>,
    pub pause: Pause,
}

/// Measure words after which 2 is said 两.
const MEASURES: &str = "位个分秒小天次条项种周岁名件份段";

pub fn phrases(text: &str) -> Vec<Phrase> {
    let written = write_out(text);
    let mut out = Vec::new();
    let mut current = Vec::new();
    for c in written.chars() {
        let pause = match c {
            '，' | '、' | '；' | '：' | ',' | ';' | ':' => Some(Pause::Short),
            '。' | '！' | '？' | '!' | '?' | '\n' | '…' => Some(Pause::Long),
            _ => None,
        };
        match pause {
            Some(pause) => {
                if !current.is_empty() {
                    out.push(Phrase {
                        chars: std::mem::take(&mut current),
                        pause,
                    });
                } else if let Some(last) = out.last_mut() {
                    if pause == Pause::Long {
                        last.pause = Pause::Long;
                    }
                }
            }
            None if is_hanzi(c) => current.push(c),
            None => {}
        }
    }
    if !current.is_empty() {
        out.push(Phrase {
            chars: current,
            pause: Pause::Long,
        });
    }
    out
}

fn is_hanzi(c: char) -> bool {
    matches!(c, '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}' | '〇')
}

/// Numbers, keys and letters in Chinese characters; the rest as it is.
fn write_out(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() * 2);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let run: String = chars[start..i].iter().collect();
            // A decimal: 3.5 → 三点五.
            if i + 1 < chars.len() && chars[i] == '.' && chars[i + 1].is_ascii_digit() {
                let frac_start = i + 1;
                i = frac_start;
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
                let frac: String = chars[frac_start..i].iter().collect();
                out.push_str(&number(&run, None));
                out.push('点');
                out.push_str(&spoken::digits(&frac).replace('、', ""));
                continue;
            }
            if matches!(chars.get(i), Some('%' | '％')) {
                out.push_str("百分之");
                out.push_str(&number(&run, None));
                i += 1;
                continue;
            }
            let ordinal = start > 0 && chars[start - 1] == '第';
            out.push_str(&number(&run, chars.get(i).copied().filter(|_| !ordinal)));
            continue;
        }
        match c {
            '*' | '＊' => out.push_str("星号"),
            '#' | '＃' => out.push_str("井号"),
            'X' | 'x' | 'Ｘ' | 'ｘ' => out.push('叉'),
            c => out.push(c),
        }
        i += 1;
    }
    out
}

/// A run of digits as it is said before `next` (`None` after 第: an ordinal is never 两).
fn number(run: &str, next: Option<char>) -> String {
    let by_digit = |yao: bool| {
        let digits = spoken::digits(run).replace('、', "");
        if yao {
            digits.replace('一', "幺")
        } else {
            digits
        }
    };
    match run.parse::<u64>() {
        _ if next == Some('年') && run.len() == 4 => by_digit(false),
        _ if run.len() >= 3 || (run.len() > 1 && run.starts_with('0')) => by_digit(true),
        Ok(2) if next.is_some_and(|n| MEASURES.contains(n)) => "两".to_owned(),
        Ok(n) => spoken::integer(n),
        Err(_) => by_digit(true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn said(text: &str) -> String {
        phrases(text)
            .iter()
            .map(|p| {
                let pause = match p.pause {
                    Pause::Short => "/",
                    Pause::Long => "//",
                };
                format!("{}{pause}", p.chars.iter().collect::<String>())
            })
            .collect()
    }

    #[test]
    fn numbers_keys_letters_and_punctuation_are_said_as_on_the_phone() {
        for (text, expected) in [
            ("这里是12348热线", "这里是幺二三四八热线//"),
            ("请按1，转人工按0。", "请按一/转人工按零//"),
            ("约15分钟，2位律师", "约十五分钟/两位律师//"),
            ("2022年起，第2项", "二零二二年起/第二项//"),
            ("3.5小时，60%", "三点五小时/百分之六十//"),
            ("号码0871", "号码零八七幺//"),
            ("按*重听，按#结束", "按星号重听/按井号结束//"),
            ("末位是X。", "末位是叉//"),
            ("“法律咨询”。。好", "法律咨询//好//"),
            ("，。", ""),
        ] {
            assert_eq!(said(text), expected, "{text}");
        }
        assert!(phrases("Hello 123")
            .iter()
            .all(|p| p.chars.iter().all(|c| is_hanzi(*c))));
    }
}
