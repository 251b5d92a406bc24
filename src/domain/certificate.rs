//! Resident ID numbers (GB 11643-1999) and second-generation disability certificates.
//!
//! A resident ID is 18 characters: a 6-digit address code, the birth date YYYYMMDD, a 3-digit
//! sequence and a check character (`10X98765432`[Σ dᵢ·wᵢ mod 11]). A disability certificate number
//! is the holder's resident ID followed by the category digit (1–7) and the level digit (1–4,
//! 1 most severe). On a keypad `*` stands for `X`. Address codes are historical, so unknown
//! ones are accepted.

use std::fmt;

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: &[u8; 11] = b"10X98765432";

/// What is wrong with a number, precisely enough to tell the person which part to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("a certificate number has {expected} characters, this one has {got}")]
    Length { expected: usize, got: usize },
    #[error("character {position} must be a digit")]
    NotADigit { position: usize },
    #[error("the birth date (characters 7 to 14) is not a real date")]
    BirthDate,
    #[error("the check character (character 18) should be {expected}: a digit of the ID part is wrong")]
    Checksum { expected: char },
    #[error("the disability category (character 19) must be 1 to 7")]
    Category,
    #[error("the disability level (character 20) must be 1 to 4")]
    Level,
}

impl IdError {
    /// The same, in plain Chinese for the caller or texter.
    pub fn chinese(&self) -> String {
        match self {
            IdError::Length { expected, got } => format!("残疾人证号应为{expected}位，您输入了{got}位。"),
            IdError::NotADigit { position } => format!("第{position}位应为数字。"),
            IdError::BirthDate => "第7到14位的出生日期不正确。".into(),
            IdError::Checksum { .. } => "第18位校验码与前17位不符，前17位中有数字输错了。".into(),
            IdError::Category => "第19位残疾类别应为1到7。".into(),
            IdError::Level => "第20位残疾等级应为1到4。".into(),
        }
    }
}

/// A resident ID number that passes the GB 11643 checks.
#[derive(Clone, PartialEq, Eq)]
pub struct ResidentId(String);

impl ResidentId {
    pub fn parse(input: &str) -> Result<Self, IdError> {
        let id = normalise(input, 18)?;
        check_id(&id)?;
        Ok(Self(id))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn birth_date(&self) -> chrono::NaiveDate {
        chrono::NaiveDate::parse_from_str(&self.0[6..14], "%Y%m%d").expect("checked at parse")
    }
}

impl fmt::Debug for ResidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ResidentId({}**************)", &self.0[..4])
    }
}

/// Disability categories, numbered as on the certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisabilityCategory {
    Vision = 1,
    Hearing = 2,
    Speech = 3,
    Physical = 4,
    Intellectual = 5,
    Mental = 6,
    Multiple = 7,
}

impl DisabilityCategory {
    pub fn from_digit(d: u8) -> Option<Self> {
        use DisabilityCategory::*;
        [Vision, Hearing, Speech, Physical, Intellectual, Mental, Multiple]
            .into_iter()
            .find(|c| *c as u8 == d)
    }

    pub fn chinese(self) -> &'static str {
        match self {
            DisabilityCategory::Vision => "视力残疾",
            DisabilityCategory::Hearing => "听力残疾",
            DisabilityCategory::Speech => "言语残疾",
            DisabilityCategory::Physical => "肢体残疾",
            DisabilityCategory::Intellectual => "智力残疾",
            DisabilityCategory::Mental => "精神残疾",
            DisabilityCategory::Multiple => "多重残疾",
        }
    }

    /// "视力残疾一级" for a level 1 to 4.
    pub fn with_level(self, level: u8) -> String {
        const LEVELS: [&str; 5] = ["", "一", "二", "三", "四"];
        let level = LEVELS.get(usize::from(level)).copied().unwrap_or("");
        format!("{}{level}级", self.chinese())
    }

    /// Art. 25 (二): blind, deaf and mute suspects must be given a defender.
    pub fn is_sensory(self) -> bool {
        matches!(
            self,
            DisabilityCategory::Vision | DisabilityCategory::Hearing | DisabilityCategory::Speech
        )
    }
}

/// A second-generation disability certificate number (20 characters).
#[derive(Clone, PartialEq, Eq)]
pub struct DisabilityCertificate {
    holder: ResidentId,
    category: DisabilityCategory,
    level: u8,
}

impl DisabilityCertificate {
    /// Accepts the number as typed on a keypad (`*` for `X`) or written (`x` or `X`, spaces).
    pub fn parse(input: &str) -> Result<Self, IdError> {
        let number = normalise(input, 20)?;
        check_id(&number[..18])?;
        let digit = |i: usize| number.as_bytes()[i].wrapping_sub(b'0');
        let category = DisabilityCategory::from_digit(digit(18)).ok_or(IdError::Category)?;
        let level = digit(19);
        if !(1..=4).contains(&level) {
            return Err(IdError::Level);
        }
        Ok(Self {
            holder: ResidentId(number[..18].to_owned()),
            category,
            level,
        })
    }

    pub fn holder(&self) -> &ResidentId {
        &self.holder
    }

    pub fn category(&self) -> DisabilityCategory {
        self.category
    }

    /// 1 (most severe) to 4.
    pub fn level(&self) -> u8 {
        self.level
    }

    /// Levels 1 and 2 usually count as 重度 (severe).
    pub fn is_severe(&self) -> bool {
        self.level <= 2
    }

    /// The full number, for storage (encrypted) only.
    pub fn number(&self) -> String {
        format!("{}{}{}", self.holder.0, self.category as u8, self.level)
    }

    /// What is read back for confirmation: "视力残疾一级".
    pub fn describe(&self) -> String {
        self.category.with_level(self.level)
    }
}

impl fmt::Debug for DisabilityCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DisabilityCertificate({:?}, {})", self.holder, self.describe())
    }
}

/// Upper case, `*` → `X`, separators dropped; then exactly `len` ASCII characters (anything
/// else is named by its position, so the byte slicing after this is safe).
fn normalise(input: &str, len: usize) -> Result<String, IdError> {
    let chars: Vec<char> = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c {
            '*' | 'x' => 'X',
            c => c,
        })
        .collect();
    if chars.len() != len {
        return Err(IdError::Length {
            expected: len,
            got: chars.len(),
        });
    }
    if let Some(i) = chars.iter().position(|c| !c.is_ascii()) {
        return Err(IdError::NotADigit { position: i + 1 });
    }
    Ok(chars.into_iter().collect())
}

/// The 18 ID characters: digits, a real birth date, the check character.
fn check_id(id: &str) -> Result<(), IdError> {
    let bytes = id.as_bytes();
    if let Some(i) = bytes[..17].iter().position(|b| !b.is_ascii_digit()) {
        return Err(IdError::NotADigit { position: i + 1 });
    }
    if chrono::NaiveDate::parse_from_str(&id[6..14], "%Y%m%d").is_err() {
        return Err(IdError::BirthDate);
    }
    let sum: u32 = bytes[..17]
        .iter()
        .zip(WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    let expected = CHECK[(sum % 11) as usize];
    if bytes[17] != expected {
        return Err(IdError::Checksum {
            expected: char::from(expected),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_examples_are_valid() {
        for id in ["11010519491231002X", "34052419800101001X"] {
            assert!(ResidentId::parse(id).is_ok(), "{id}");
        }
        let id = ResidentId::parse("11010519491231002x").unwrap();
        assert_eq!(id.birth_date(), chrono::NaiveDate::from_ymd_opt(1949, 12, 31).unwrap());
        assert!(
            !format!("{id:?}").contains("19491231"),
            "Debug does not leak the number"
        );
    }

    #[test]
    fn certificates_decode_and_keypad_star_is_x() {
        let cert = DisabilityCertificate::parse("11010519491231002*11").unwrap();
        assert_eq!(cert.category(), DisabilityCategory::Vision);
        assert_eq!(cert.level(), 1);
        assert!(cert.is_severe());
        assert_eq!(cert.describe(), "视力残疾一级");
        assert_eq!(cert.number(), "11010519491231002X11");
        let cert = DisabilityCertificate::parse("34052419800101001X 24").unwrap();
        assert_eq!(cert.describe(), "听力残疾四级");
        assert!(!cert.is_severe());
        assert!(cert.category().is_sensory());
    }

    #[test]
    fn each_kind_of_mistake_is_named() {
        let cases = [
            ("11010519491231002X1", IdError::Length { expected: 20, got: 19 }),
            ("1101051949123100AX11", IdError::NotADigit { position: 17 }),
            ("11010519491331002X11", IdError::BirthDate),
            ("11010519491231003X11", IdError::Checksum { expected: '8' }),
            ("11010519491231002X81", IdError::Category),
            ("11010519491231002X15", IdError::Level),
            ("11010519491231002X01", IdError::Category),
        ];
        for (input, error) in cases {
            assert_eq!(DisabilityCertificate::parse(input), Err(error.clone()), "{input}");
            assert!(!error.chinese().is_empty());
        }
        assert!(IdError::Checksum { expected: '8' }.chinese().contains("第18位"));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_input_is_accepted_or_named_never_a_panic(input in "\\PC{0,30}") {
            let _ = DisabilityCertificate::parse(&input);
            let _ = ResidentId::parse(&input);
        }

        /// Any valid certificate survives a round trip; changing one ID digit is always caught.
        #[test]
        fn one_wrong_digit_is_always_caught(seq in 0u32..1000, pos in 0usize..17, delta in 1u8..10) {
            let body = format!("11010519800101{seq:03}");
            let sum: u32 = body.bytes().zip(WEIGHTS).map(|(b, w)| u32::from(b - b'0') * w).sum();
            let number = format!("{body}{}23", char::from(CHECK[(sum % 11) as usize]));
            let cert = DisabilityCertificate::parse(&number).unwrap();
            proptest::prop_assert_eq!(cert.number(), number.clone());
            let mut wrong = number.into_bytes();
            wrong[pos] = b'0' + (wrong[pos] - b'0' + delta) % 10;
            let wrong = String::from_utf8(wrong).unwrap();
            proptest::prop_assert!(DisabilityCertificate::parse(&wrong).is_err(), "{} accepted", wrong);
        }
    }
}
