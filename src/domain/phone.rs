//! Phone numbers, normalised to E.164 with libphonenumber's data (China as the default region).

use phonenumber::metadata::DATABASE;
use phonenumber::{country, Mode, Type};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a valid phone number")]
pub struct InvalidPhoneNumber;

/// A valid phone number in E.164 form (`+8613800138000`). Its `Debug` form is redacted, so a
/// stray `?number` in a log line leaks nothing.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber {
    e164: String,
    mobile: bool,
}

impl PhoneNumber {
    /// Accepts E.164 (`+86…`) and Chinese national forms (`13800138000`, `029-88881234`).
    /// Withheld numbers (`anonymous`, `+266696687`, empty) are not phone numbers.
    pub fn parse(input: &str) -> Result<Self, InvalidPhoneNumber> {
        let input = input.trim();
        if input.is_empty() || input.len() > 32 {
            return Err(InvalidPhoneNumber);
        }
        let number = phonenumber::parse(Some(country::Id::CN), input).map_err(|_| InvalidPhoneNumber)?;
        if !number.is_valid() {
            return Err(InvalidPhoneNumber);
        }
        let mobile = matches!(number.number_type(&DATABASE), Type::Mobile | Type::FixedLineOrMobile);
        Ok(Self {
            e164: number.format().mode(Mode::E164).to_string(),
            mobile,
        })
    }

    pub fn e164(&self) -> &str {
        &self.e164
    }

    /// Whether an SMS to this number can be expected to arrive.
    pub fn is_mobile(&self) -> bool {
        self.mobile
    }

    /// `+86*******8000`: enough to tell two callers apart in a log, not enough to call them.
    pub fn redacted(&self) -> String {
        redact_digits(&self.e164)
    }
}

impl std::fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PhoneNumber({})", self.redacted())
    }
}

/// Keeps a leading `+` with up to two country digits and the last four characters.
pub fn redact_digits(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    let keep_head = if value.starts_with('+') { 3 } else { 0 };
    let keep_tail = 4.min(chars.len().saturating_sub(keep_head) / 2);
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if i < keep_head || i >= chars.len() - keep_tail {
                *c
            } else {
                '*'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_forms_normalise_to_e164() {
        let cases = [
            ("+8613800138000", "+8613800138000", true),
            ("13800138000", "+8613800138000", true),
            ("029-88881234", "+862988881234", false),
            ("+862988881234", "+862988881234", false),
            ("+14155550123", "+14155550123", true),
        ];
        for (input, e164, mobile) in cases {
            let n = PhoneNumber::parse(input).unwrap_or_else(|_| panic!("{input} should parse"));
            assert_eq!(n.e164(), e164, "{input}");
            assert_eq!(n.is_mobile(), mobile, "{input}");
        }
    }

    #[test]
    fn withheld_and_junk_numbers_are_refused() {
        for input in ["", "anonymous", "+266696687", "12345", "+86", "client:alice"] {
            assert!(PhoneNumber::parse(input).is_err(), "{input} should be refused");
        }
    }

    #[test]
    fn redaction_hides_the_middle() {
        let n = PhoneNumber::parse("+8613800138000").unwrap();
        assert_eq!(n.redacted(), "+86*******8000");
        assert!(!format!("{n:?}").contains("13800138000"));
    }
}
