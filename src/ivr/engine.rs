//! The flow engine, free of I/O: [`step`] takes the call's state and what the caller did, and
//! gives the next state and what to say and do. The HTTP edge stores the state and runs the
//! [`Task`]s (a callback, an application, a look-up, a transfer) against SQL and Redis.
//!
//! The accessibility rules (DOMAIN.md §6) live here, once, for every node of every flow: `0`
//! goes to a person, `*` repeats, `7`/`9` change the speech rate (R1, R4); a silent or wrong
//! turn is answered more slowly with the reason and the node's hint; after `max_tries` of them
//! the caller is given a callback (R1) — the engine never ends a call.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::flow::{DigitsField, Flag, Flow, Node, RecordField, Source, Toggle};
use crate::domain::{DisabilityCertificate, Matter, Ticket};
use crate::speech::SpeechRate;

/// However the tries fare, after this many turns in one call the caller is given a callback.
pub const MAX_TURNS: u32 = 60;
/// Items read per page of a long list; the page's last key then offers the next page.
const PAGE: usize = 3;
pub(crate) const MORE_KEY: &str = "4";

/// The caller's accessibility profile, remembered by phone number (R2, R4).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub rate: SpeechRate,
    /// Key timeouts several times longer than the default.
    pub long_timeouts: bool,
    /// Do not offer speech input.
    pub keypad_only: bool,
    /// Results (such as the pre-assessment) also come by SMS.
    pub sms_follow_up: bool,
}

/// A recording the provider made of the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recording {
    pub url: String,
    pub secs: u32,
}

/// What the caller has told us on this call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answers {
    pub matter: Option<String>,
    pub prefecture: Option<String>,
    pub county: Option<String>,
    /// The full certificate number, once confirmed.
    pub certificate: Option<String>,
    /// The pre-screening questions answered "yes".
    pub yes: BTreeSet<Flag>,
    pub description: Option<Recording>,
    pub note: Option<Recording>,
    /// A ticket typed to look up.
    pub ticket: Option<String>,
    /// The caller's open consultation, if they have one.
    pub open_ticket: Option<String>,
}

/// Everything the engine remembers between a call's webhooks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallState {
    pub node: String,
    /// The page of a `pick` list.
    pub page: usize,
    /// Silent or wrong turns in a row at this node.
    pub tries: u32,
    pub turns: u32,
    /// A certificate number typed and waiting for the caller's confirmation.
    pub pending: Option<String>,
    /// The key of a spoken choice heard without certainty, waiting for the caller's 1 (yes).
    #[serde(default)]
    pub confirm: Option<String>,
    pub profile: Profile,
    pub answers: Answers,
    /// The caller has called before: a short greeting, and the keys' rules only when needed.
    #[serde(default)]
    pub returning: bool,
    /// The keys every prompt takes (0, *, 7, 9) have been said after a wrong or silent turn.
    #[serde(default)]
    pub told_rules: bool,
}

impl CallState {
    pub fn new(profile: Profile, open_ticket: Option<String>) -> Self {
        Self {
            profile,
            answers: Answers {
                open_ticket,
                ..Answers::default()
            },
            ..Self::default()
        }
    }

    /// The state of a caller who has called before.
    pub fn returning(self) -> Self {
        Self {
            returning: true,
            ..self
        }
    }

    /// After a silent or wrong turn the prompt is said again more slowly.
    pub fn speaking_rate(&self) -> SpeechRate {
        if self.tries > 0 {
            self.profile.rate.slower()
        } else {
            self.profile.rate
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The call was answered.
    Start,
    /// Keys pressed at a prompt; empty when the caller pressed nothing before the timeout.
    Keys(String),
    /// A recording finished (`None`: nothing was recorded); `key` is the key that ended it, if
    /// one did.
    Recorded {
        recording: Option<Recording>,
        key: Option<String>,
    },
    /// A task finished and the call goes on at the current node.
    Resume,
    /// Speech matched the option of `key`; `sure` when clearly, else the caller confirms it.
    Heard { key: String, sure: bool },
    /// The caller spoke, but nothing like any option.
    NotUnderstood,
    /// Speech could not be recognised in time: the caller is asked to use the keys.
    SpeechBusy,
}

/// One thing said: a prompt from the prompts file (with values for its placeholders), or a text
/// the domain code wrote (a certificate error naming the wrong part).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    Prompt { key: String, vars: Vec<(String, String)> },
    Text(String),
}

impl Line {
    /// A static prompt by its key.
    pub fn prompt(key: &str) -> Self {
        Line::Prompt {
            key: key.to_owned(),
            vars: Vec::new(),
        }
    }

    fn with(key: &str, vars: &[(&str, String)]) -> Self {
        Line::Prompt {
            key: key.to_owned(),
            vars: vars.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect(),
        }
    }
}

/// How the caller answers the lines just said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    /// One key.
    Choice,
    /// A number ended with #.
    Digits,
    /// Speech, recorded.
    Record,
}

/// Work for the I/O side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Task {
    /// Queue a callback for the answers; `gave_up` when the caller could not choose (R1).
    Callback { gave_up: bool },
    /// Pre-assess the legal-aid answers, record the application, queue a callback.
    Apply,
    /// Read out the caller's cases, or the typed ticket's; then [`Event::Resume`].
    Progress { ticket: Option<String> },
    /// Put the caller through to a person.
    Transfer,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    Ask(Ask),
    Run(Task),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub say: Vec<Line>,
    pub next: Next,
}

/// One turn. Pure: the same inputs always give the same outputs.
pub fn step(flow: &Flow, state: CallState, event: Event, max_tries: u32) -> (CallState, Reply) {
    let mut engine = Engine {
        flow,
        s: state,
        say: Vec::new(),
        max_tries,
    };
    let next = engine.handle(event);
    (engine.s, Reply { say: engine.say, next })
}

/// The items of a `pick` list as (stored value, spoken name).
pub fn items(flow: &Flow, source: Source, answers: &Answers) -> Vec<Item> {
    match source {
        Source::Matter => Matter::ALL
            .iter()
            .map(|m| (m.as_str().to_owned(), m.chinese().to_owned()))
            .collect(),
        Source::Prefecture => flow
            .regions
            .prefectures
            .iter()
            .map(|p| (p.code.clone(), p.name.clone()))
            .collect(),
        Source::County => answers
            .prefecture
            .as_deref()
            .and_then(|code| flow.regions.prefecture(code))
            .map(|p| p.counties.iter().map(|c| (c.code.clone(), c.name.clone())).collect())
            .unwrap_or_default(),
    }
}

/// The page `page` of a list: its items with their keys, and whether key 4 turns the page.
/// A list item: (stored value, spoken name).
type Item = (String, String);

pub(crate) fn page_of(list: &[Item], page: usize) -> (Vec<(String, &Item)>, bool) {
    if list.len() <= 4 {
        let keyed = list
            .iter()
            .enumerate()
            .map(|(i, item)| ((i + 1).to_string(), item))
            .collect();
        return (keyed, false);
    }
    let keyed = list
        .iter()
        .skip(page * PAGE)
        .take(PAGE)
        .enumerate()
        .map(|(i, item)| ((i + 1).to_string(), item))
        .collect();
    (keyed, true)
}

fn pages(list_len: usize) -> usize {
    if list_len <= 4 {
        1
    } else {
        list_len.div_ceil(PAGE)
    }
}

enum Failure {
    NoInput,
    Invalid,
    NotUnderstood,
}

struct Engine<'f> {
    flow: &'f Flow,
    s: CallState,
    say: Vec<Line>,
    max_tries: u32,
}

impl<'f> Engine<'f> {
    fn node(&self) -> &'f Node {
        self.flow.node(&self.s.node)
    }

    fn handle(&mut self, event: Event) -> Next {
        match event {
            Event::Start => {
                self.say
                    .push(Line::prompt(if self.s.returning { "welcome_again" } else { "welcome" }));
                let start = match self.s.answers.open_ticket {
                    Some(_) => &self.flow.start_known,
                    None => &self.flow.start,
                };
                let next = self.enter(start);
                // A new caller hears the keys' rules after the first menu; a caller who has
                // called before knows them (both hear them again at their first wrong turn).
                if !self.s.returning && next == Next::Ask(Ask::Choice) {
                    self.say.push(Line::prompt("keys_rules"));
                }
                next
            }
            Event::Resume => self.present(),
            Event::Keys(keys) => {
                self.s.turns += 1;
                if self.s.turns > MAX_TURNS {
                    return self.give_up();
                }
                self.keys(&keys)
            }
            Event::Recorded { recording, key } => {
                self.s.turns += 1;
                self.recorded(recording, key.as_deref())
            }
            Event::Heard { key, sure: true } => self.handle(Event::Keys(key)),
            Event::Heard { key, sure: false } => {
                self.s.turns += 1;
                let label = super::listen::choices(self.flow, &self.s)
                    .and_then(|choices| choices.into_iter().find(|c| c.key == key))
                    .and_then(|c| c.words.into_iter().next());
                let Some(label) = label else {
                    return self.fail(Failure::NotUnderstood);
                };
                self.s.confirm = Some(key);
                self.say.push(Line::with("speech_confirm", &[("choice", label)]));
                Next::Ask(Ask::Choice)
            }
            Event::NotUnderstood => {
                self.s.turns += 1;
                self.fail(Failure::NotUnderstood)
            }
            Event::SpeechBusy => {
                self.say.push(Line::prompt("speech_busy"));
                self.present()
            }
        }
    }

    fn enter(&mut self, name: &str) -> Next {
        self.s.node = name.to_owned();
        self.s.page = 0;
        self.s.tries = 0;
        self.s.pending = None;
        self.s.confirm = None;
        self.present()
    }

    /// Says the current node (again) and waits, or hands over its task.
    fn present(&mut self) -> Next {
        match self.node() {
            Node::Menu { prompt, .. } | Node::YesNo { prompt, .. } => {
                // The open case's ticket comes with its menu, so * says it again too.
                if self.s.node == self.flow.start_known {
                    if let Some(ticket) = &self.s.answers.open_ticket {
                        self.say
                            .push(Line::with("welcome_back", &[("ticket", spoken_digits(ticket))]));
                    }
                }
                self.say.push(Line::prompt(prompt));
                Next::Ask(Ask::Choice)
            }
            Node::Pick { prompt, source, .. } => {
                let list = items(self.flow, *source, &self.s.answers);
                let (keyed, paged) = page_of(&list, self.s.page);
                if self.s.page == 0 {
                    self.say.push(Line::prompt(prompt));
                }
                for (key, (_, name)) in keyed {
                    self.say
                        .push(Line::with("pick_option", &[("name", name.clone()), ("key", key)]));
                }
                if paged {
                    let last = self.s.page + 1 >= pages(list.len());
                    self.say
                        .push(Line::prompt(if last { "pick_again" } else { "pick_more" }));
                }
                Next::Ask(Ask::Choice)
            }
            Node::Digits { prompt, field, .. } => match &self.s.pending {
                Some(number) => {
                    let described = DisabilityCertificate::parse(number)
                        .map(|c| c.describe())
                        .unwrap_or_default();
                    let last: String = number.chars().skip(number.chars().count().saturating_sub(4)).collect();
                    self.say.push(Line::with(
                        "confirm_certificate",
                        &[("certificate", described), ("last", typed_back(&last))],
                    ));
                    Next::Ask(Ask::Choice)
                }
                None => {
                    self.say.push(Line::prompt(prompt));
                    self.say.push(Line::prompt("digits_hint"));
                    if *field == DigitsField::Certificate {
                        self.say.push(Line::prompt("certificate_skip_hint"));
                    }
                    Next::Ask(Ask::Digits)
                }
            },
            Node::Record { prompt, .. } => {
                self.say.push(Line::prompt(prompt));
                Next::Ask(Ask::Record)
            }
            Node::Callback => Next::Run(Task::Callback { gave_up: false }),
            Node::Apply => Next::Run(Task::Apply),
            Node::Progress { goto } => {
                let ticket = self.s.answers.ticket.take();
                self.s.node = goto.clone();
                self.s.page = 0;
                self.s.tries = 0;
                Next::Run(Task::Progress { ticket })
            }
            Node::Transfer => Next::Run(Task::Transfer),
        }
    }

    fn keys(&mut self, keys: &str) -> Next {
        if let Some(heard) = self.s.confirm.take() {
            // 1 confirms the spoken choice, 2 says it again; other keys act as they always do.
            match keys {
                "1" => return self.keys(&heard),
                "2" => return self.present(),
                _ => {}
            }
        }
        let node = self.node();
        if !node.asks() {
            // At a closing, 0 still reaches a person and 7 and 9 change the rate, as the rules
            // promise (the closing is then said again at the new rate).
            match keys {
                "0" if !matches!(node, Node::Transfer) => return self.enter(&self.flow.escape.human.clone()),
                "7" => return self.rate(self.s.profile.rate.slower(), "rate_slower"),
                "9" => return self.rate(self.s.profile.rate.faster(), "rate_faster"),
                _ => {}
            }
            // Any other key at a closing, or a late turn at a task node: run the task again
            // (tasks are idempotent), which says the closing again.
            return self.present();
        }
        match keys {
            "0" => return self.enter(&self.flow.escape.human.clone()),
            "*" => return self.present(),
            "7" => return self.rate(self.s.profile.rate.slower(), "rate_slower"),
            "9" => return self.rate(self.s.profile.rate.faster(), "rate_faster"),
            "" => return self.fail(Failure::NoInput),
            _ => {}
        }
        match node {
            Node::Menu { options, .. } => match options.iter().find(|o| o.key == keys) {
                Some(option) => {
                    if let Some(toggle) = option.effect {
                        self.toggle(toggle);
                    }
                    self.enter(&option.goto)
                }
                None => self.fail(Failure::Invalid),
            },
            Node::Pick {
                source, goto, routes, ..
            } => {
                let list = items(self.flow, *source, &self.s.answers);
                let (keyed, paged) = page_of(&list, self.s.page);
                if paged && keys == MORE_KEY {
                    self.s.page = (self.s.page + 1) % pages(list.len());
                    return self.present();
                }
                let Some((_, (value, _))) = keyed.into_iter().find(|(k, _)| k == keys) else {
                    return self.fail(Failure::Invalid);
                };
                let value = value.clone();
                let target = routes.get(&value).unwrap_or(goto).clone();
                let answers = &mut self.s.answers;
                match source {
                    Source::Matter => answers.matter = Some(value),
                    Source::Prefecture => {
                        answers.prefecture = Some(value);
                        answers.county = None;
                    }
                    Source::County => answers.county = Some(value),
                }
                self.enter(&target)
            }
            Node::Digits { field, goto, .. } => self.digits(*field, goto, keys),
            Node::YesNo { field, goto, .. } => {
                match keys {
                    "1" => self.s.answers.yes.insert(*field),
                    "2" => self.s.answers.yes.remove(field),
                    _ => return self.fail(Failure::Invalid),
                };
                self.enter(goto)
            }
            // Keys at a recording prompt end it early: the caller chose not to speak.
            Node::Record { goto, .. } => self.enter(goto),
            Node::Callback | Node::Apply | Node::Progress { .. } | Node::Transfer => self.present(),
        }
    }

    fn digits(&mut self, field: DigitsField, goto: &str, keys: &str) -> Next {
        if let Some(number) = self.s.pending.clone() {
            return match keys {
                "1" => {
                    self.s.answers.certificate = Some(number);
                    self.enter(goto)
                }
                "2" => {
                    self.s.pending = None;
                    self.present()
                }
                _ => self.fail(Failure::Invalid),
            };
        }
        match field {
            // The step may be skipped: the application goes on without the number.
            DigitsField::Certificate if keys == SKIP_CERTIFICATE => {
                self.say.push(Line::prompt("certificate_skipped"));
                self.enter(goto)
            }
            DigitsField::Certificate => match DisabilityCertificate::parse(keys) {
                Ok(certificate) => {
                    self.s.pending = Some(certificate.number());
                    self.present()
                }
                Err(e) => {
                    // What was typed, read back, then which part is wrong.
                    self.say
                        .push(Line::with("certificate_typed", &[("digits", typed_back(keys))]));
                    self.say.push(Line::Text(e.chinese()));
                    self.fail(Failure::Invalid)
                }
            },
            DigitsField::Ticket => match Ticket::parse(keys) {
                Ok(ticket) => {
                    self.s.answers.ticket = Some(ticket.as_str().to_owned());
                    self.enter(goto)
                }
                Err(_) => {
                    self.say.push(Line::prompt("ticket_invalid"));
                    self.fail(Failure::Invalid)
                }
            },
        }
    }

    fn recorded(&mut self, recording: Option<Recording>, key: Option<&str>) -> Next {
        let Node::Record { field, goto, .. } = self.node() else {
            return self.present();
        };
        match key {
            Some("*") => return self.present(),
            Some("7") => return self.rate(self.s.profile.rate.slower(), "rate_slower"),
            Some("9") => return self.rate(self.s.profile.rate.faster(), "rate_faster"),
            _ => {}
        }
        if let Some(recording) = recording {
            match field {
                RecordField::Description => self.s.answers.description = Some(recording),
                RecordField::Note => self.s.answers.note = Some(recording),
            }
        }
        if key == Some("0") {
            return self.enter(&self.flow.escape.human.clone());
        }
        self.enter(goto)
    }

    fn rate(&mut self, rate: SpeechRate, line: &str) -> Next {
        let line = match (rate == self.s.profile.rate, rate) {
            (true, SpeechRate::Slower) => "rate_slowest",
            (true, _) => "rate_fastest",
            (false, _) => line,
        };
        self.s.profile.rate = rate;
        self.say.push(Line::prompt(line));
        self.present()
    }

    fn toggle(&mut self, toggle: Toggle) {
        let p = &mut self.s.profile;
        let (on, on_line, off_line) = match toggle {
            Toggle::ToggleLongTimeouts => {
                p.long_timeouts = !p.long_timeouts;
                (p.long_timeouts, "long_timeouts_on", "long_timeouts_off")
            }
            Toggle::ToggleSmsFollowUp => {
                p.sms_follow_up = !p.sms_follow_up;
                (p.sms_follow_up, "follow_up_on", "follow_up_off")
            }
            Toggle::ToggleKeypadOnly => {
                p.keypad_only = !p.keypad_only;
                (p.keypad_only, "keypad_only_on", "keypad_only_off")
            }
        };
        self.say.push(Line::prompt(if on { on_line } else { off_line }));
    }

    fn fail(&mut self, failure: Failure) -> Next {
        self.s.tries += 1;
        if self.s.tries >= self.max_tries {
            // A certificate that cannot be typed does not end the application: it goes on
            // without the number, which the lawyer checks when calling back.
            if let Node::Digits {
                field: DigitsField::Certificate,
                goto,
                ..
            } = self.node()
            {
                let goto = goto.clone();
                self.s.tries = 0;
                self.s.pending = None;
                self.say.push(Line::prompt("certificate_not_checked"));
                return self.enter(&goto);
            }
            return self.give_up();
        }
        let node = self.node();
        let notice = match (failure, node) {
            (Failure::NoInput, Node::Record { .. }) => "no_speech",
            (Failure::NoInput, _) => "no_input",
            (Failure::Invalid, _) => "invalid_key",
            (Failure::NotUnderstood, _) => "speech_not_understood",
        };
        // A wrong number has already been explained; the generic notice is for keys.
        if !matches!((node, self.say.last()), (Node::Digits { .. }, Some(_))) {
            self.say.push(Line::prompt(notice));
        }
        if let Node::Digits { help: Some(help), .. } = node {
            self.say.push(Line::prompt(help));
        }
        let next = self.present();
        self.tell_rules(next)
    }

    /// After a choice's prompt at the first wrong or silent turn of a call, the keys every
    /// prompt takes (not between a recording's prompt and its beep).
    fn tell_rules(&mut self, next: Next) -> Next {
        if next == Next::Ask(Ask::Choice) && !self.s.told_rules {
            self.s.told_rules = true;
            self.say.push(Line::prompt("keys_rules"));
        }
        next
    }

    fn give_up(&mut self) -> Next {
        self.s.node = self.flow.escape.give_up.clone();
        // `tries` stays: a caller who could not choose hears the closing slower, as the
        // retries before it.
        self.s.pending = None;
        Next::Run(Task::Callback { gave_up: true })
    }
}

/// Typing this alone at the certificate step skips it.
const SKIP_CERTIFICATE: &str = "2";

/// Typed keys read back one by one; `*` is the X of an ID number.
fn typed_back(keys: &str) -> String {
    keys.chars()
        .filter_map(|c| match c {
            '*' | 'X' | 'x' => Some("X".to_owned()),
            c => c.to_digit(10).map(|d| spoken_digits(&d.to_string())),
        })
        .collect::<Vec<_>>()
        .join("、")
}

fn spoken_digits(text: &str) -> String {
    crate::domain::spoken::digits(text)
}

#[cfg(test)]
mod tests;
