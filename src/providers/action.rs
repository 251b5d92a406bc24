//! What we tell a provider to do on a call or in an SMS reply, independent of its markup.

use super::Hook;

/// One instruction. What happens next is a [`Hook`], which the provider adapter turns into its
/// own address; `Play` URLs are the service's own audio, relative to the public base URL.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Speak text in Mandarin. `key` names a static prompt (for recorded audio); texts made
    /// for one turn (a ticket number) have none. `speed_percent` is the caller's speech rate
    /// (100 normal), which a provider voice that takes SSML applies.
    Say {
        text: String,
        key: Option<String>,
        speed_percent: u16,
    },
    /// Play an audio file.
    Play {
        url: String,
    },
    /// Collect keys (and optionally speech) while the nested prompts play; any key interrupts.
    Gather {
        input: GatherInput,
        num_digits: Option<u32>,
        timeout_secs: u32,
        finish_on_key: Option<String>,
        action: Hook,
        prompts: Vec<Action>,
        /// Call `action` also when nothing was pressed; otherwise the next action follows.
        empty_result: bool,
    },
    /// Record the caller; `finish_on_key` lists the keys that stop it.
    Record {
        action: Hook,
        max_length_secs: u32,
        timeout_secs: u32,
        finish_on_key: String,
        play_beep: bool,
    },
    /// Connect the caller to another number.
    Dial {
        number: String,
        caller_id: Option<String>,
        timeout_secs: u32,
        action: Option<Hook>,
    },
    /// Join a conference room (the two legs of a callback meet there). The call that ends it
    /// for everyone has `end_on_exit`.
    Conference {
        room: String,
        end_on_exit: bool,
    },
    /// Go on at the hook without waiting for the caller.
    Redirect {
        to: Hook,
    },
    Pause {
        secs: u32,
    },
    Hangup,
    /// Tell whether a person or a machine answered this leg, and report the verdict at
    /// `report`. A provider whose machine detection decides before the leg's document is asked
    /// for (Twilio's, on the call request) has nothing to add.
    Screen {
        report: Hook,
    },
    /// An SMS reply to the sender of an inbound message; `tracked` is the stored message
    /// (in the thread) whose delivery reports the provider is to send.
    Message {
        body: String,
        tracked: Option<String>,
    },
}

/// The normal speech rate of a `Say`.
pub const NORMAL_SPEED: u16 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GatherInput {
    Dtmf,
    Speech,
    DtmfSpeech,
}

/// A stretch of a `Say`'s text as a provider voice should read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading<'a> {
    Words(&'a str),
    /// A run of three or more digits (the service number 12348, a year), read digit by digit
    /// as callers are told it, not as a quantity. Shorter numbers ("请按1", "共20位") stay words.
    Digits(&'a str),
}

/// `text` as the stretches a voice reads (SSML `<say-as interpret-as="digits">` for each run).
pub fn readings(text: &str) -> Vec<Reading<'_>> {
    let mut out = Vec::new();
    let mut words_from = 0;
    let mut rest = text;
    let mut offset = 0;
    while let Some(start) = rest.find(|c: char| c.is_ascii_digit()) {
        let len = rest[start..]
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len() - start);
        let (at, end) = (offset + start, offset + start + len);
        if len >= 3 {
            if words_from < at {
                out.push(Reading::Words(&text[words_from..at]));
            }
            out.push(Reading::Digits(&text[at..end]));
            words_from = end;
        }
        rest = &text[end..];
        offset = end;
    }
    if words_from < text.len() {
        out.push(Reading::Words(&text[words_from..]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_digit_runs_are_read_digit_by_digit_and_short_numbers_stay_words() {
        assert_eq!(
            readings("这里是12348热线，请按1，共20位，2026年"),
            vec![
                Reading::Words("这里是"),
                Reading::Digits("12348"),
                Reading::Words("热线，请按1，共20位，"),
                Reading::Digits("2026"),
                Reading::Words("年"),
            ]
        );
        assert_eq!(readings("请按1"), vec![Reading::Words("请按1")]);
        assert_eq!(readings("12348"), vec![Reading::Digits("12348")]);
        assert!(readings("").is_empty());
    }
}
