//! Ticket numbers: what a caller is told to quote when they call again.
//!
//! Eight random digits (not a counter, so one caller cannot guess another's), the first never 0,
//! so that a number read aloud or typed on a keypad is never shortened.

use rand::Rng;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ticket(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a ticket number is 8 digits")]
pub struct InvalidTicket;

impl Ticket {
    pub const LEN: usize = 8;

    pub fn generate() -> Self {
        let mut rng = rand::thread_rng();
        Self(rng.gen_range(10_000_000u32..100_000_000).to_string())
    }

    pub fn parse(input: &str) -> Result<Self, InvalidTicket> {
        let t = input.trim();
        if t.len() == Self::LEN && t.bytes().all(|b| b.is_ascii_digit()) && !t.starts_with('0') {
            Ok(Self(t.to_owned()))
        } else {
            Err(InvalidTicket)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Digit by digit in Chinese characters, separated by pauses: "八、三、一…".
    pub fn spoken(&self) -> String {
        super::spoken::digits(&self.0)
    }
}

impl std::fmt::Display for Ticket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tickets_parse() {
        for _ in 0..1000 {
            let t = Ticket::generate();
            assert_eq!(Ticket::parse(t.as_str()), Ok(t));
        }
    }

    #[test]
    fn bad_tickets_are_refused() {
        for input in ["", "1234567", "123456789", "0123456a", "01234567"] {
            assert_eq!(Ticket::parse(input), Err(InvalidTicket), "{input}");
        }
    }

    #[test]
    fn digits_are_read_one_by_one() {
        assert_eq!(
            Ticket::parse("10203040").unwrap().spoken(),
            "一、零、二、零、三、零、四、零"
        );
    }
}
