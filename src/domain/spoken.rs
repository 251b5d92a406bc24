//! Numbers as a Mandarin speaker reads them on the phone, in Chinese characters so that no
//! engine reads "1234" in English: identifiers digit by digit (幺 for 1 in phone numbers, as
//! operators say it), amounts, dates and times in natural words.

use chinese_number::{ChineseCase, ChineseCountMethod, ChineseVariant, NumberToChinese};

use super::PhoneNumber;

const DIGITS: [&str; 10] = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"];

/// One by one, separated by pauses: "10203" → "一、零、二、零、三".
pub fn digits(text: &str) -> String {
    text.chars()
        .filter_map(|c| c.to_digit(10))
        .map(|d| DIGITS[d as usize])
        .collect::<Vec<_>>()
        .join("、")
}

/// A phone number as it is dialled from China, digit by digit in groups (mobile 3-4-4), with
/// 幺 for 1 when `yao` (clearer than 一 beside 七 on a poor line).
pub fn phone(number: &PhoneNumber, yao: bool) -> String {
    let e164 = number.e164();
    let national = match e164.strip_prefix("+86") {
        Some(rest) if number.is_mobile() => rest.to_owned(),
        Some(rest) => format!("0{rest}"),
        None => format!("00{}", &e164[1..]),
    };
    let groups: Vec<&str> = if national.len() == 11 && number.is_mobile() {
        vec![&national[..3], &national[3..7], &national[7..]]
    } else if let Some(area) = area_code_len(&national) {
        // A landline: the area code (010 and 02X have three digits, the rest four), then the
        // local number in fours from the end (7 digits: 3 + 4).
        let local = &national[area..];
        let cut = local.len().saturating_sub(4);
        vec![&national[..area], &local[..cut], &local[cut..]]
            .into_iter()
            .filter(|g| !g.is_empty())
            .collect()
    } else {
        vec![&national]
    };
    groups
        .iter()
        .map(|g| {
            g.chars()
                .filter_map(|c| c.to_digit(10))
                .map(|d| if d == 1 && yao { "幺" } else { DIGITS[d as usize] })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("，")
}

/// The length of a Chinese landline's area code in a national number of 10 to 12 digits.
fn area_code_len(national: &str) -> Option<usize> {
    let area = if national.starts_with("01") || national.starts_with("02") {
        3
    } else {
        4
    };
    (national.starts_with('0') && !national.starts_with("00") && (10..=12).contains(&national.len())).then_some(area)
}

/// A whole number in words: 12 → 十二, 305 → 三百零五, 20000 → 两万.
pub fn integer(n: u64) -> String {
    let words = n
        .to_chinese(
            ChineseVariant::Simple,
            ChineseCase::Lower,
            ChineseCountMethod::TenThousand,
        )
        .unwrap_or_else(|_| digits(&n.to_string()));
    // "一十二" is written, "十二" is said.
    let words = words
        .strip_prefix("一十")
        .map_or(words.clone(), |rest| format!("十{rest}"));
    // A leading 2 before a unit is 两 in speech: 两百, 两千, 两万.
    ["二百", "二千", "二万", "二亿"]
        .iter()
        .find(|p| words.starts_with(*p))
        .map_or(words.clone(), |_| format!("两{}", &words["二".len()..]))
}

/// A count before a measure word: 2 is 两 (两位, 两分钟), the rest as [`integer`].
pub fn count(n: u64) -> String {
    match n {
        2 => "两".to_owned(),
        n => integer(n),
    }
}

/// An amount in fen (1/100 yuan): 123456 → 一千二百三十四元五角六分.
pub fn amount(fen: u64) -> String {
    let (yuan, jiao, rest) = (fen / 100, fen % 100 / 10, fen % 10);
    let mut out = String::new();
    if yuan > 0 || fen == 0 {
        out.push_str(&integer(yuan));
        out.push('元');
    }
    if jiao > 0 {
        out.push_str(DIGITS[jiao as usize]);
        out.push('角');
    }
    if rest > 0 {
        if jiao == 0 && yuan > 0 {
            out.push('零');
        }
        out.push_str(DIGITS[rest as usize]);
        out.push('分');
    }
    out
}

/// 2026-11-29 → 二〇二六年十一月二十九日.
pub fn date(d: chrono::NaiveDate) -> String {
    use chrono::Datelike;
    let year: String = d
        .year()
        .to_string()
        .chars()
        .filter_map(|c| c.to_digit(10))
        .map(|x| if x == 0 { "〇" } else { DIGITS[x as usize] })
        .collect();
    format!(
        "{year}年{}月{}日",
        integer(u64::from(d.month())),
        integer(u64::from(d.day()))
    )
}

/// 14:05 → 十四点零五分; 9:00 → 九点整; 2:30 → 两点三十分.
pub fn time(t: chrono::NaiveTime) -> String {
    use chrono::Timelike;
    let hour = match t.hour() {
        2 => "两".to_owned(),
        h => integer(u64::from(h)),
    };
    match t.minute() {
        0 => format!("{hour}点整"),
        m if m < 10 => format!("{hour}点零{}分", DIGITS[m as usize]),
        m => format!("{hour}点{}分", integer(u64::from(m))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_read_digit_by_digit() {
        assert_eq!(digits("10203040"), "一、零、二、零、三、零、四、零");
        let mobile = PhoneNumber::parse("+8613800138000").unwrap();
        assert_eq!(phone(&mobile, true), "幺三八，零零幺三，八零零零");
        assert_eq!(phone(&mobile, false), "一三八，零零一三，八零零零");
        let landline = PhoneNumber::parse("029-88881234").unwrap();
        assert_eq!(phone(&landline, true), "零二九，八八八八，幺二三四");
        let county = PhoneNumber::parse("0913-2123456").unwrap();
        assert_eq!(phone(&county, false), "零九一三，二一二，三四五六");
    }

    #[test]
    fn numbers_amounts_dates_and_times_read_naturally() {
        let cases = [
            (integer(0), "零"),
            (integer(12), "十二"),
            (count(2), "两"),
            (count(12), "十二"),
            (count(200), "两百"),
            (integer(305), "三百零五"),
            (integer(2000), "两千"),
            (integer(20000), "两万"),
            (integer(1234), "一千二百三十四"),
            (amount(123456), "一千二百三十四元五角六分"),
            (amount(50), "五角"),
            (amount(100_000), "一千元"),
            (amount(1005), "十元零五分"),
            (amount(0), "零元"),
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
        }
        let d = chrono::NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
        assert_eq!(date(d), "二〇二六年十一月二十九日");
        let t = |h, m| time(chrono::NaiveTime::from_hms_opt(h, m, 0).unwrap());
        assert_eq!(t(14, 5), "十四点零五分");
        assert_eq!(t(9, 0), "九点整");
        assert_eq!(t(2, 30), "两点三十分");
    }
}
