//! The first voice menu: request a callback (1), a person (0), repeat (*), speech rate (7, 9).
//!
//! Rules from DOMAIN.md §6: `0` and `*` work at every prompt; a timeout never hangs up, and
//! after `max_tries` silent or wrong turns the caller is put in the callback queue (R1).

use serde::{Deserialize, Serialize};

use crate::speech::SpeechRate;

/// What the IVR remembers between a call's webhooks (kept in Redis).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Silent or wrong turns in a row.
    pub tries: u32,
    /// The caller's speech rate (R4), loaded from their profile at the start of the call.
    #[serde(default)]
    pub rate: SpeechRate,
}

impl Session {
    /// The rate to speak at this turn: after a silent or wrong turn the prompt is said again
    /// more slowly (issue rule: re-prompts slower and more explicit).
    pub fn speaking_rate(&self) -> SpeechRate {
        if self.tries > 0 {
            self.rate.slower()
        } else {
            self.rate
        }
    }
}

/// What the caller did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Turn {
    /// The call has just been answered.
    Start,
    /// The keys of a finished `Gather`; empty when nothing was pressed before the timeout.
    Keys(String),
}

/// Why the menu is played again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    NoInput,
    InvalidKey,
    Slower,
    Faster,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Greet (on the first turn) and offer the menu.
    Welcome,
    /// Offer the menu again, saying why when there is a reason.
    Menu(Option<Notice>),
    /// Register a callback; `gave_up` when it happens because the caller could not choose.
    Callback { gave_up: bool },
    /// Put the caller through to a person.
    Human,
}

/// One turn of the menu. Pure: the same inputs always give the same outputs.
pub fn step(session: Session, turn: &Turn, max_tries: u32) -> (Session, Decision) {
    let keys = match turn {
        Turn::Start => return (Session { tries: 0, ..session }, Decision::Welcome),
        Turn::Keys(keys) => keys.as_str(),
    };
    let fresh = Session { tries: 0, ..session };
    match keys {
        "1" => (fresh, Decision::Callback { gave_up: false }),
        "0" => (fresh, Decision::Human),
        "*" => (session, Decision::Menu(None)),
        "7" => (
            Session {
                rate: session.rate.slower(),
                ..session
            },
            Decision::Menu(Some(Notice::Slower)),
        ),
        "9" => (
            Session {
                rate: session.rate.faster(),
                ..session
            },
            Decision::Menu(Some(Notice::Faster)),
        ),
        _ => {
            let notice = if keys.is_empty() {
                Notice::NoInput
            } else {
                Notice::InvalidKey
            };
            let tries = session.tries + 1;
            if tries >= max_tries {
                (fresh, Decision::Callback { gave_up: true })
            } else {
                (Session { tries, ..session }, Decision::Menu(Some(notice)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(k: &str) -> Turn {
        Turn::Keys(k.into())
    }

    #[test]
    fn table() {
        let s0 = Session::default();
        let s1 = Session { tries: 1, ..s0 };
        let s2 = Session { tries: 2, ..s0 };
        let slow = Session {
            rate: SpeechRate::Slower,
            ..s0
        };
        let fast = Session {
            rate: SpeechRate::Faster,
            ..s0
        };
        let cases = [
            (s0, Turn::Start, s0, Decision::Welcome),
            (s2, Turn::Start, s0, Decision::Welcome),
            (s2, keys("1"), s0, Decision::Callback { gave_up: false }),
            (s2, keys("0"), s0, Decision::Human),
            (s2, keys("*"), s2, Decision::Menu(None)),
            (s0, keys(""), s1, Decision::Menu(Some(Notice::NoInput))),
            (s0, keys("5"), s1, Decision::Menu(Some(Notice::InvalidKey))),
            (s0, keys("#"), s1, Decision::Menu(Some(Notice::InvalidKey))),
            (s0, keys("7"), slow, Decision::Menu(Some(Notice::Slower))),
            (slow, keys("7"), slow, Decision::Menu(Some(Notice::Slower))),
            (s0, keys("9"), fast, Decision::Menu(Some(Notice::Faster))),
            (fast, keys("7"), s0, Decision::Menu(Some(Notice::Slower))),
            (
                Session { tries: 2, ..slow },
                keys("1"),
                slow,
                Decision::Callback { gave_up: false },
            ),
            (s2, keys(""), s0, Decision::Callback { gave_up: true }),
            (s2, keys("8"), s0, Decision::Callback { gave_up: true }),
        ];
        for (before, turn, after, decision) in cases {
            assert_eq!(step(before, &turn, 3), (after, decision), "{before:?} {turn:?}");
        }
    }

    #[test]
    fn a_failed_turn_is_answered_more_slowly() {
        let s = Session::default();
        assert_eq!(s.speaking_rate(), SpeechRate::Normal);
        let (after_silence, _) = step(s, &keys(""), 3);
        assert_eq!(after_silence.speaking_rate(), SpeechRate::Slower);
        assert_eq!(
            after_silence.rate,
            SpeechRate::Normal,
            "the caller's own choice is kept"
        );
        let (after_choice, _) = step(after_silence, &keys("*"), 3);
        assert_eq!(
            after_choice.speaking_rate(),
            SpeechRate::Slower,
            "still after a failure"
        );
        let (fast, _) = step(
            Session {
                rate: SpeechRate::Faster,
                ..s
            },
            &keys("5"),
            3,
        );
        assert_eq!(fast.speaking_rate(), SpeechRate::Normal);
    }

    #[test]
    fn silence_never_hangs_up() {
        // R1: three silent turns lead to the callback queue, never to the end of the call.
        let mut session = Session::default();
        let mut decisions = Vec::new();
        for _ in 0..3 {
            let (next, d) = step(session, &keys(""), 3);
            session = next;
            decisions.push(d);
        }
        assert_eq!(
            decisions,
            [
                Decision::Menu(Some(Notice::NoInput)),
                Decision::Menu(Some(Notice::NoInput)),
                Decision::Callback { gave_up: true }
            ]
        );
    }
}
