//! Decisions → what the caller hears, as provider-neutral actions.

use super::prompts::{fill, Prompts};
use super::Notice;
use crate::domain::{spoken, Ticket};
use crate::providers::{Action, GatherInput};

/// Seconds a transfer rings before it counts as not answered.
const DIAL_TIMEOUT_SECS: u32 = 30;

/// A static prompt, by its key: `prompt!(p.menu)`.
macro_rules! prompt {
    ($p:ident . $key:ident) => {
        Action::Say {
            text: $p.$key.clone(),
            key: Some(stringify!($key).to_owned()),
        }
    };
}

/// A text made for this turn (a ticket, the office hours): no key, rendered on demand.
fn say(text: String) -> Action {
    Action::Say { text, key: None }
}

/// What is said before the menu on a call's first turn: the greeting and, for a caller with a
/// consultation still open, its ticket (so they know it is in hand and need not ask again).
pub fn greeting(p: &Prompts, open_ticket: Option<&Ticket>) -> Vec<Action> {
    let mut intro = vec![prompt!(p.welcome)];
    if let Some(ticket) = open_ticket {
        intro.push(say(fill(&p.welcome_back, &[("ticket", &ticket.spoken())])));
    }
    intro
}

/// The menu inside a keys-only `Gather`, so any key interrupts the prompt (R3), `intro` too.
/// `action` must be unique per turn (it carries the turn number). The trailing `Redirect`
/// reaches the same handler for providers that do not call the action on an empty result.
pub fn menu(p: &Prompts, intro: Vec<Action>, notice: Option<Notice>, action: &str, timeout_secs: u32) -> Vec<Action> {
    let mut prompts = intro;
    match notice {
        Some(Notice::NoInput) => prompts.push(prompt!(p.no_input)),
        Some(Notice::InvalidKey) => prompts.push(prompt!(p.invalid_key)),
        Some(Notice::Slower) => prompts.push(prompt!(p.rate_slower)),
        Some(Notice::Faster) => prompts.push(prompt!(p.rate_faster)),
        None => {}
    }
    prompts.push(prompt!(p.menu));
    vec![
        Action::Gather {
            input: GatherInput::Dtmf,
            num_digits: Some(1),
            timeout_secs,
            finish_on_key: None,
            action: action.to_owned(),
            prompts,
        },
        Action::Redirect { url: action.to_owned() },
    ]
}

/// A registered callback, as the caller is told about it.
#[derive(Debug, Clone)]
pub struct Registered<'a> {
    pub ticket: &'a Ticket,
    /// The number the lawyer will call, already spoken digit by digit.
    pub callback_number: &'a str,
    /// How many wait before this caller (unknown while Redis is unreachable).
    pub ahead: Option<u64>,
    /// The caller could not choose and is given a callback anyway (R1).
    pub gave_up: bool,
    /// The ticket also goes out by SMS (R6).
    pub by_sms: bool,
}

/// The ticket, twice, digit by digit; the number the lawyer will call; how many wait before
/// them; whether the ticket also comes by SMS; goodbye.
pub fn callback_registered(p: &Prompts, r: &Registered<'_>) -> Vec<Action> {
    let mut actions = Vec::new();
    if r.gave_up {
        actions.push(prompt!(p.too_many_tries));
    }
    actions.push(say(fill(&p.callback_registered, &[("ticket", &r.ticket.spoken())])));
    actions.push(say(fill(&p.callback_number, &[("phone", r.callback_number)])));
    match r.ahead {
        Some(0) => actions.push(prompt!(p.queue_next)),
        Some(n) => actions.push(say(fill(&p.queue_ahead, &[("ahead", &spoken::integer(n))]))),
        None => {}
    }
    if r.by_sms {
        actions.push(prompt!(p.ticket_by_sms));
    }
    actions.push(prompt!(p.goodbye));
    actions.push(Action::Hangup);
    actions
}

/// The number was withheld: no callback is possible, so say so and offer the menu again.
pub fn no_caller_number(p: &Prompts, action: &str, timeout_secs: u32) -> Vec<Action> {
    menu(p, vec![prompt!(p.no_caller_number)], None, action, timeout_secs)
}

/// Put the caller through to a person; `action` learns whether the transfer was answered.
pub fn transfer(p: &Prompts, number: &str, action: &str) -> Vec<Action> {
    vec![
        prompt!(p.transferring),
        Action::Dial {
            number: number.to_owned(),
            caller_id: None,
            timeout_secs: DIAL_TIMEOUT_SECS,
            action: Some(action.to_owned()),
        },
    ]
}

/// When the service cannot help: an apology, then a person if one is configured, or when to
/// call again. Needs nothing but configuration, so it works with the database and Redis down.
pub fn fallback(p: &Prompts, human_number: &str, office_hours: &str) -> Vec<Action> {
    let mut actions = vec![prompt!(p.apology)];
    if human_number.is_empty() {
        actions.push(say(fill(&p.call_again, &[("office_hours", office_hours)])));
        actions.push(Action::Hangup);
    } else {
        actions.push(prompt!(p.transferring));
        actions.push(Action::Dial {
            number: human_number.to_owned(),
            caller_id: None,
            timeout_secs: DIAL_TIMEOUT_SECS,
            action: None,
        });
    }
    actions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn menu_is_interruptible_and_never_a_dead_end() {
        let p = Prompts::zh_cn();
        let actions = menu(
            &p,
            greeting(&p, None),
            Some(Notice::NoInput),
            "/twilio/voice/menu?turn=2",
            10,
        );
        let Action::Gather {
            prompts,
            timeout_secs,
            input,
            ..
        } = &actions[0]
        else {
            panic!("the menu plays inside a Gather");
        };
        assert_eq!(*input, GatherInput::Dtmf);
        assert_eq!(*timeout_secs, 10);
        assert_eq!(prompts.len(), 3, "welcome, notice, menu");
        assert_eq!(
            actions[1],
            Action::Redirect {
                url: "/twilio/voice/menu?turn=2".into()
            }
        );
    }

    #[test]
    fn a_caller_with_an_open_consultation_hears_its_ticket() {
        let p = Prompts::zh_cn();
        let ticket = Ticket::parse("83125670").unwrap();
        let intro = greeting(&p, Some(&ticket));
        assert!(
            matches!(&intro[1], Action::Say { text, key: None } if text.contains("八、三、一、二、五、六、七、零"))
        );
        assert_eq!(greeting(&p, None).len(), 1);
    }

    #[test]
    fn ticket_is_read_twice_digit_by_digit() {
        let p = Prompts::zh_cn();
        let ticket = Ticket::parse("83125670").unwrap();
        let registered = Registered {
            ticket: &ticket,
            callback_number: "幺三八",
            ahead: Some(12),
            gave_up: false,
            by_sms: true,
        };
        let actions = callback_registered(&p, &registered);
        assert!(
            actions.contains(&say("您前面还有十二位在等待律师回电。".into())),
            "{actions:?}"
        );
        let Action::Say { text, key: None } = &actions[0] else {
            panic!("a ticket is a dynamic text")
        };
        assert_eq!(text.matches("八、三、一、二、五、六、七、零").count(), 2, "{text}");
        assert_eq!(actions.last(), Some(&Action::Hangup));
    }

    #[test]
    fn fallback_goes_to_a_person_or_says_when_to_call() {
        let p = Prompts::zh_cn();
        let with_human = fallback(&p, "+862912348", "每天八点到二十点");
        assert!(matches!(with_human.last(), Some(Action::Dial { number, .. }) if number == "+862912348"));
        let without = fallback(&p, "", "每天八点到二十点");
        assert!(matches!(&without[1], Action::Say { text, .. } if text.contains("每天八点到二十点")));
        assert_eq!(without.last(), Some(&Action::Hangup));
    }
}
