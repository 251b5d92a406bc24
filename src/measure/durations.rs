//! How long callers listen: every spoken prompt at each rate, and what a caller hears before
//! they can first answer, rendered with the configured voice (`hotline prompts durations`,
//! docs/prompt-durations.md).

use crate::domain::{spoken, PhoneNumber, Ticket};
use crate::ivr::script::{self, Registered};
use crate::ivr::{step, CallState, Event, Flow};
use crate::prompts::Prompts;
use crate::providers::Action;
use crate::speech::telephone::parse_wav;
use crate::speech::{SpeechError, SpeechRate, Voice};

/// A ticket and a number to fill the closing with: as long as real ones.
const EXAMPLE_TICKET: &str = "83125670";
const EXAMPLE_PHONE: &str = "+8613800138000";

/// Seconds of audio at the three rates, slower, normal, faster.
#[derive(Debug, Clone, PartialEq)]
pub struct Timed {
    pub name: String,
    pub secs: [f64; 3],
}

impl Timed {
    pub fn at(&self, rate: SpeechRate) -> f64 {
        let i = SpeechRate::ALL.iter().position(|r| *r == rate).unwrap_or(1);
        self.secs[i]
    }
}

/// What callers hear before their first answer (and the closing of a registration), each as
/// the sum of its lines.
pub async fn journeys(voice: &Voice, flow: &Flow, p: &Prompts, speech_input: bool) -> Result<Vec<Timed>, SpeechError> {
    let first_turn = |s: CallState| {
        let returning = s.returning;
        let (_, reply) = step(flow, s, Event::Start, 3);
        let mut lines: Vec<Action> = reply.say.iter().map(|l| script::say(p, l)).collect();
        if speech_input && !returning {
            lines.push(script::say(p, &crate::ivr::Line::prompt("speech_hint")));
        }
        lines
    };
    let ticket = Ticket::parse(EXAMPLE_TICKET).expect("the example ticket is valid");
    let phone = PhoneNumber::parse(EXAMPLE_PHONE).expect("the example number is valid");
    let number = spoken::phone(&phone, true);
    let registered = script::callback_registered(
        p,
        &Registered {
            ticket: &ticket,
            callback_number: &number,
            ahead: Some(3),
            wait_minutes: Some(20),
            gave_up: false,
            by_sms: true,
        },
    );
    let closing = script::closing(registered, p, 1);
    let known = CallState::new(Default::default(), None).returning();
    let known_open = CallState::new(Default::default(), Some(EXAMPLE_TICKET.into())).returning();
    let heard = [
        (
            "main menu",
            vec![script::say(p, &crate::ivr::Line::prompt("menu_main"))],
        ),
        ("new caller: welcome and main menu", {
            let mut lines = first_turn(CallState::new(Default::default(), None));
            lines.truncate(2);
            lines
        }),
        (
            "new caller: until the first answer",
            first_turn(CallState::new(Default::default(), None)),
        ),
        ("known caller: until the first answer", first_turn(known)),
        (
            "known caller with an open case: until the first answer",
            first_turn(known_open),
        ),
        ("closing of a callback registration", closing),
    ];
    let mut timed = Vec::new();
    for (name, actions) in heard {
        timed.push(sum(voice, name, &says(&actions)).await?);
    }
    Ok(timed)
}

/// Every static prompt a caller hears, in the prompts file's order.
pub async fn prompts(voice: &Voice, p: &Prompts) -> Result<Vec<Timed>, SpeechError> {
    let mut timed = Vec::new();
    for (key, text) in p.spoken() {
        timed.push(sum(voice, key, &[(Some(key), text)]).await?);
    }
    Ok(timed)
}

/// The `Say`s of actions, also inside a `Gather`, as (prompt key, text).
fn says(actions: &[Action]) -> Vec<(Option<&str>, &str)> {
    let mut out = Vec::new();
    for action in actions {
        match action {
            Action::Say { text, key, .. } => out.push((key.as_deref(), text.as_str())),
            Action::Gather { prompts, .. } => out.extend(says(prompts)),
            _ => {}
        }
    }
    out
}

async fn sum(voice: &Voice, name: &str, lines: &[(Option<&str>, &str)]) -> Result<Timed, SpeechError> {
    let mut secs = [0.0; 3];
    for (i, rate) in SpeechRate::ALL.into_iter().enumerate() {
        for (key, text) in lines {
            let cached = voice.render(*key, text, rate).await?;
            let wav = voice
                .audio(&cached)
                .await
                .ok_or_else(|| SpeechError::Audio(format!("{name}: rendered audio is missing")))?;
            secs[i] += parse_wav(&wav)?.duration_secs();
        }
    }
    Ok(Timed {
        name: name.to_owned(),
        secs,
    })
}

/// A Markdown table of timings: name, then seconds slower / normal / faster.
pub fn table(rows: &[Timed]) -> String {
    let mut out = String::from("| | slower | normal | faster |\n|---|---:|---:|---:|\n");
    for r in rows {
        out.push_str(&format!(
            "| {} | {:.1} s | {:.1} s | {:.1} s |\n",
            r.name, r.secs[0], r.secs[1], r.secs[2]
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timings_are_read_by_rate_and_tabled() {
        let t = Timed {
            name: "main menu".into(),
            secs: [14.04, 10.0, 7.56],
        };
        assert_eq!(t.at(SpeechRate::Slower), 14.04);
        assert_eq!(t.at(SpeechRate::Faster), 7.56);
        let table = table(&[t]);
        assert!(table.ends_with("| main menu | 14.0 s | 10.0 s | 7.6 s |\n"), "{table}");
    }

    #[test]
    fn the_says_inside_a_closing_are_found() {
        let p = Prompts::zh_cn();
        let closing = script::closing(vec![script::text("受理编号".into())], &p, 1);
        let said = says(&closing);
        assert_eq!(said.first(), Some(&(None, "受理编号")));
        assert_eq!(said.last().map(|s| s.0), Some(Some("goodbye")));
    }
}
