//! The engine's lines and waits → what the caller hears, as provider-neutral actions.

use super::engine::{Ask, Line};
use crate::domain::{spoken, Ticket};
use crate::prompts::{fill, Prompts};
use crate::providers::{Action, GatherInput, Hook, NORMAL_SPEED};

/// Seconds a transfer rings before it counts as not answered.
const DIAL_TIMEOUT_SECS: u32 = 30;
/// Longest spoken message, and the silence that ends it.
const RECORD_MAX_SECS: u32 = 120;
const RECORD_SILENCE_SECS: u32 = 5;
/// How long the end of a closing waits for * before the call hangs up.
const CLOSING_WAIT_SECS: u32 = 5;
/// Any key ends a recording (and says which, as `Digits`).
const EVERY_KEY: &str = "0123456789*#";

/// A static prompt keeps its key (for recorded and pre-rendered audio); a filled template or a
/// text the code wrote is rendered on demand.
pub fn say(p: &Prompts, line: &Line) -> Action {
    match line {
        Line::Prompt { key, vars } if vars.is_empty() => Action::Say {
            text: p.get(key).unwrap_or_default().to_owned(),
            key: Some(key.clone()),
            speed_percent: NORMAL_SPEED,
        },
        Line::Prompt { key, vars } => {
            let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            text(fill(p.get(key).unwrap_or_default(), &vars))
        }
        Line::Text(t) => text(t.clone()),
    }
}

pub fn text(text: String) -> Action {
    Action::Say {
        text,
        key: None,
        speed_percent: NORMAL_SPEED,
    }
}

fn prompt(p: &Prompts, key: &str) -> Action {
    say(
        p,
        &Line::Prompt {
            key: key.to_owned(),
            vars: Vec::new(),
        },
    )
}

/// A speech window after a choice's prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listen {
    /// The longest answer.
    pub window_secs: u32,
    /// The silence that ends it.
    pub silence_secs: u32,
}

/// The lines said and the wait that follows. Every prompt plays inside a keys-only `Gather`, so
/// any key interrupts it (R3); the trailing `Redirect` reaches the same handler for providers
/// that do not call the action on an empty result. A recording prompt is a short `Gather` (a
/// key still interrupts it) and then the `Record`, which any key ends.
///
/// A choice that also takes speech (`listen`) is the prompt in a keys-only `Gather`, then a short
/// `Record` that any key ends (its `Digits` says which), then a keys-only `Gather` for the rest
/// of the key timeout: keys work at every moment, speech right after the prompt.
/// Every answer of the turn goes to its hooks, so each turn's are unique.
pub fn ask(prompts: Vec<Action>, ask: Ask, turn: u32, timeout_secs: u32, listen: Option<Listen>) -> Vec<Action> {
    let gather = |num_digits, timeout_secs, finish_on_key: Option<&str>, empty_result| Action::Gather {
        input: GatherInput::Dtmf,
        num_digits,
        timeout_secs,
        finish_on_key: finish_on_key.map(str::to_owned),
        action: Hook::Answer { turn },
        prompts: prompts.clone(),
        empty_result,
    };
    let redirect = Action::Redirect {
        to: Hook::Answer { turn },
    };
    // One-key waits turn finishOnKey off, so # arrives as a key (a wrong one, or "no message").
    match (ask, listen) {
        (Ask::Choice, Some(listen)) => {
            let mut keys_after = gather(Some(1), timeout_secs, Some(""), true);
            if let Action::Gather { prompts, .. } = &mut keys_after {
                prompts.clear();
            }
            vec![
                gather(Some(1), 1, Some(""), false),
                Action::Record {
                    action: Hook::Recording { turn },
                    max_length_secs: listen.window_secs,
                    timeout_secs: listen.silence_secs,
                    finish_on_key: EVERY_KEY.into(),
                    play_beep: true,
                },
                keys_after,
                redirect,
            ]
        }
        (Ask::Choice, None) => vec![gather(Some(1), timeout_secs, Some(""), true), redirect],
        (Ask::Digits, _) => vec![gather(None, timeout_secs, Some("#"), true), redirect],
        (Ask::Record, _) => vec![
            gather(Some(1), 1, Some(""), false),
            Action::Record {
                action: Hook::Recording { turn },
                max_length_secs: RECORD_MAX_SECS,
                timeout_secs: RECORD_SILENCE_SECS,
                finish_on_key: EVERY_KEY.into(),
                play_beep: true,
            },
            redirect,
        ],
    }
}

/// A registered callback, as the caller is told about it.
#[derive(Debug, Clone)]
pub struct Registered<'a> {
    pub ticket: &'a Ticket,
    /// The number the lawyer will call, already spoken digit by digit.
    pub callback_number: &'a str,
    /// How many wait before this caller (unknown while Redis is unreachable).
    pub ahead: Option<u64>,
    /// Expected minutes until the callback.
    pub wait_minutes: Option<u64>,
    /// The caller could not choose and is given a callback anyway (R1).
    pub gave_up: bool,
    /// The ticket also goes out by SMS (R6).
    pub by_sms: bool,
}

/// The ticket, twice, digit by digit; the number the lawyer will call; how many wait before
/// them; whether the ticket also comes by SMS; the Art. 23 notice (then [`closing`]).
pub fn callback_registered(p: &Prompts, r: &Registered<'_>) -> Vec<Action> {
    let mut actions = Vec::new();
    if r.gave_up {
        actions.push(prompt(p, "too_many_tries"));
    }
    actions.push(text(fill(&p.callback_registered, &[("ticket", &r.ticket.spoken())])));
    actions.push(text(fill(&p.callback_number, &[("phone", r.callback_number)])));
    if let Some(ahead) = r.ahead {
        actions.push(queue_place(p, ahead));
    }
    if let Some(minutes) = r.wait_minutes {
        actions.push(text(fill(&p.queue_wait, &[("minutes", &spoken::count(minutes))])));
    }
    if r.by_sms {
        actions.push(prompt(p, "ticket_by_sms"));
    }
    actions.push(prompt(p, "art23_notice"));
    actions
}

/// The end of a call after something the caller may need to hear again (the ticket, the
/// callback): the lines play in a keys-only `Gather` that any key interrupts, ending with the
/// offer to hear them again (the star key) and goodbye. A key comes back as a turn at the task
/// node, which runs the task again and so says it all again (tasks are idempotent); silence
/// falls through to the hang-up.
pub fn closing(mut lines: Vec<Action>, p: &Prompts, turn: u32) -> Vec<Action> {
    lines.push(prompt(p, "closing_repeat"));
    lines.push(prompt(p, "goodbye"));
    vec![
        Action::Gather {
            input: GatherInput::Dtmf,
            num_digits: Some(1),
            timeout_secs: CLOSING_WAIT_SECS,
            finish_on_key: Some(String::new()),
            action: Hook::Answer { turn },
            prompts: lines,
            empty_result: false,
        },
        Action::Hangup,
    ]
}

/// "You are next" or "N wait before you".
pub fn queue_place(p: &Prompts, ahead: u64) -> Action {
    match ahead {
        0 => prompt(p, "queue_next"),
        n => text(fill(&p.queue_ahead, &[("ahead", &spoken::count(n))])),
    }
}

/// Put the caller through to a person; the turn's transfer hook learns whether it was answered.
pub fn transfer(p: &Prompts, number: &str, turn: u32) -> Vec<Action> {
    vec![
        prompt(p, "transferring"),
        Action::Dial {
            number: number.to_owned(),
            caller_id: None,
            timeout_secs: DIAL_TIMEOUT_SECS,
            action: Some(Hook::Transfer { turn }),
        },
    ]
}

/// When the service cannot help: an apology, then a person if one is configured, or when to
/// call again. Needs nothing but configuration, so it works with the database and Redis down.
pub fn fallback(p: &Prompts, human_number: &str, office_hours: &str) -> Vec<Action> {
    let mut actions = vec![prompt(p, "apology")];
    if human_number.is_empty() {
        actions.push(text(fill(&p.call_again, &[("office_hours", office_hours)])));
        actions.push(Action::Hangup);
    } else {
        actions.push(prompt(p, "transferring"));
        actions.push(Action::Dial {
            number: human_number.to_owned(),
            caller_id: None,
            timeout_secs: DIAL_TIMEOUT_SECS,
            action: None,
        });
    }
    actions
}

/// "Please hold", a short pause, then back for the answer being worked on under `key`.
pub fn hold(p: &Prompts, key: &str) -> Vec<Action> {
    vec![
        prompt(p, "please_hold"),
        Action::Pause { secs: 1 },
        Action::Redirect {
            to: Hook::Resume { key: key.to_owned() },
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_choice_is_interruptible_and_never_a_dead_end() {
        let p = Prompts::zh_cn();
        let lines = [say(&p, &Line::prompt("welcome")), say(&p, &Line::prompt("menu_main"))];
        let actions = ask(lines.to_vec(), Ask::Choice, 2, 10, None);
        let Action::Gather {
            prompts,
            timeout_secs,
            input,
            num_digits,
            empty_result,
            ..
        } = &actions[0]
        else {
            panic!("the menu plays inside a Gather");
        };
        assert_eq!(
            (*input, *timeout_secs, *num_digits, *empty_result),
            (GatherInput::Dtmf, 10, Some(1), true)
        );
        assert_eq!(
            prompts[1],
            Action::Say {
                text: p.get("menu_main").unwrap().into(),
                key: Some("menu_main".into()),
                speed_percent: NORMAL_SPEED,
            }
        );
        assert_eq!(
            actions[1],
            Action::Redirect {
                to: Hook::Answer { turn: 2 }
            }
        );
    }

    #[test]
    fn a_recording_prompt_can_be_interrupted_and_any_key_ends_the_recording() {
        let p = Prompts::zh_cn();
        let actions = ask(
            vec![say(&p, &Line::prompt("record_description"))],
            Ask::Record,
            5,
            10,
            None,
        );
        assert!(matches!(
            &actions[0],
            Action::Gather {
                empty_result: false,
                timeout_secs: 1,
                ..
            }
        ));
        assert!(
            matches!(&actions[1], Action::Record { action: Hook::Recording { turn: 5 }, finish_on_key, .. } if finish_on_key == EVERY_KEY)
        );
        assert_eq!(
            actions[2],
            Action::Redirect {
                to: Hook::Answer { turn: 5 }
            }
        );
    }

    #[test]
    fn a_spoken_choice_keeps_every_key_working() {
        let p = Prompts::zh_cn();
        let listen = Listen {
            window_secs: 6,
            silence_secs: 2,
        };
        let actions = ask(
            vec![say(&p, &Line::prompt("menu_main"))],
            Ask::Choice,
            3,
            10,
            Some(listen),
        );
        assert!(
            matches!(&actions[0], Action::Gather { prompts, timeout_secs: 1, empty_result: false, .. } if prompts.len() == 1)
        );
        assert!(matches!(
            &actions[1],
            Action::Record { action: Hook::Recording { turn: 3 }, max_length_secs: 6, timeout_secs: 2, finish_on_key, play_beep: true }
                if finish_on_key == EVERY_KEY
        ));
        assert!(
            matches!(&actions[2], Action::Gather { prompts, timeout_secs: 10, empty_result: true, .. } if prompts.is_empty()),
            "keys still have the full timeout after the speech window (R2)"
        );
        assert!(matches!(&actions[3], Action::Redirect { .. }));
    }

    #[test]
    fn templates_are_filled_and_lose_their_key() {
        let p = Prompts::zh_cn();
        let filled = say(
            &p,
            &Line::Prompt {
                key: "pick_option".into(),
                vars: vec![("name".into(), "工伤".into()), ("key".into(), "2".into())],
            },
        );
        assert_eq!(filled, text("工伤，请按2。".into()));
    }

    #[test]
    fn ticket_is_read_twice_digit_by_digit() {
        let p = Prompts::zh_cn();
        let ticket = Ticket::parse("83125670").unwrap();
        let registered = Registered {
            ticket: &ticket,
            callback_number: "幺三八",
            ahead: Some(12),
            wait_minutes: Some(45),
            gave_up: false,
            by_sms: true,
        };
        let actions = callback_registered(&p, &registered);
        assert!(
            actions.contains(&text("您前面还有十二位在等。".into()))
                && actions.contains(&text("预计等待约四十五分钟。".into())),
            "{actions:?}"
        );
        let Action::Say { text, key: None, .. } = &actions[0] else {
            panic!("a ticket is a dynamic text")
        };
        assert_eq!(text.matches("八、三、一、二、五、六、七、零").count(), 2, "{text}");
        assert!(actions.contains(&prompt(&p, "art23_notice")), "Art. 23 notice given");
    }

    #[test]
    fn a_closing_can_be_heard_again_and_then_hangs_up() {
        let p = Prompts::zh_cn();
        let closing = closing(vec![text("受理编号".into())], &p, 7);
        let [Action::Gather {
            input: GatherInput::Dtmf,
            num_digits: Some(1),
            timeout_secs: CLOSING_WAIT_SECS,
            action,
            prompts,
            empty_result: false,
            ..
        }, Action::Hangup] = closing.as_slice()
        else {
            panic!("a closing plays in a Gather, then hangs up: {closing:?}");
        };
        assert_eq!(*action, Hook::Answer { turn: 7 });
        assert_eq!(
            prompts,
            &[
                text("受理编号".into()),
                prompt(&p, "closing_repeat"),
                prompt(&p, "goodbye")
            ]
        );
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
