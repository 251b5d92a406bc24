//! One conversation driver for the phone and for text: a turn of the flow engine, with what it
//! hands over that only reads (a person's progress) looked up here, until the person is asked
//! again or work must be done (a callback, an application, a person to talk to). It returns
//! what was said and how the turn ended as data; each channel words them, the phone as prompts
//! in a document, a text as replies. What differs between channels is data ([`Rules`]).

use crate::app::AppState;
use crate::ivr::{step, Ask, CallState, Event, Line, Next, Task};

use super::intake::{self, CaseStatus};
use super::HandleError;

/// Consultations a progress enquiry reads out, newest first.
const PROGRESS_CASES: i64 = 3;

/// How a channel's conversation differs.
pub struct Rules {
    /// Keys that are no option on this channel: "invalid key", and the question again.
    refused_keys: &'static [&'static str],
}

impl Rules {
    pub fn refuses(&self, keys: &str) -> bool {
        self.refused_keys.contains(&keys)
    }
}

/// The phone: every key the flow offers.
pub const PHONE: Rules = Rules { refused_keys: &[] };
/// A text: 7 and 9 set the speaking rate on the phone, which a text does not have.
pub const TEXT: Rules = Rules {
    refused_keys: &["7", "9"],
};

/// Who is in the conversation, for a progress enquiry.
#[derive(Debug, Clone, Copy)]
pub enum Person<'a> {
    /// A texter (or nobody known).
    Known(Option<&'a str>),
    /// A caller, looked up by their call only when needed.
    OnCall(&'a str),
}

impl Person<'_> {
    async fn caller_id(self, state: &AppState) -> Result<Option<String>, HandleError> {
        match self {
            Person::Known(id) => Ok(id.map(str::to_owned)),
            Person::OnCall(call_sid) => Ok(state
                .db
                .find_call(state.telephony.name(), call_sid)
                .await?
                .and_then(|c| c.caller_id)),
        }
    }
}

/// One thing the turn says.
#[derive(Debug, Clone)]
pub enum Said {
    Line(Line),
    /// The person's consultations (or the typed ticket's); `None`: no such ticket.
    Cases(Option<Vec<CaseStatus>>),
}

/// The work a turn ends in, for the channel to carry out and word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Work {
    /// Queue a callback; `gave_up` when the person could not choose (R1).
    Callback { gave_up: bool },
    /// Pre-assess the legal-aid answers, record the application, queue a callback.
    Apply,
    /// Put the person through to someone.
    Transfer,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// The person is asked this.
    Asks(Ask),
    Runs(Work),
}

#[derive(Debug, Clone)]
pub struct Turn {
    pub state: CallState,
    pub said: Vec<Said>,
    pub ending: Ending,
}

/// Runs the engine from `s` on `event` until the person is asked again or work is due.
pub async fn turn(
    state: &AppState,
    rules: &Rules,
    person: Person<'_>,
    s: CallState,
    event: Event,
) -> Result<Turn, HandleError> {
    let max_tries = state.settings.ivr.max_tries;
    let mut said = Vec::new();
    let event = match event {
        Event::Keys(keys) if rules.refuses(&keys) => {
            said.push(Said::Line(Line::prompt("invalid_key")));
            Event::Resume
        }
        event => event,
    };
    let (mut s, mut reply) = step(&state.flow, s, event, max_tries);
    loop {
        said.extend(reply.say.into_iter().map(Said::Line));
        let work = match reply.next {
            Next::Ask(ask) => {
                return Ok(Turn {
                    state: s,
                    said,
                    ending: Ending::Asks(ask),
                })
            }
            Next::Run(Task::Progress { ticket }) => {
                let caller_id = person.caller_id(state).await?;
                let cases = intake::cases(state, caller_id.as_deref(), ticket.as_deref(), PROGRESS_CASES).await?;
                said.push(Said::Cases(cases));
                (s, reply) = step(&state.flow, s, Event::Resume, max_tries);
                continue;
            }
            Next::Run(Task::Callback { gave_up }) => Work::Callback { gave_up },
            Next::Run(Task::Apply) => Work::Apply,
            Next::Run(Task::Transfer) => Work::Transfer,
        };
        return Ok(Turn {
            state: s,
            said,
            ending: Ending::Runs(work),
        });
    }
}
