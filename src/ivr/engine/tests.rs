//! Table-driven engine tests, and a walk over every node of the shipped flow proving the
//! accessibility rules (R1–R4) hold everywhere.

use super::*;
use crate::ivr::flow::MAX_OPTIONS;
use crate::prompts::Prompts;

const TRIES: u32 = 3;

fn flow() -> Flow {
    Flow::main(&Prompts::zh_cn())
}

fn keys(k: &str) -> Event {
    Event::Keys(k.into())
}

/// A state standing at `node`, with the answers earlier nodes would have given.
fn at(node: &str) -> CallState {
    let mut s = CallState::new(Profile::default(), None);
    s.node = node.into();
    s.answers.prefecture = Some("610100".into());
    // As for a new caller, who heard the keys' rules after the first menu.
    s.told_rules = true;
    s
}

fn prompts_said(reply: &Reply) -> Vec<&str> {
    reply
        .say
        .iter()
        .filter_map(|l| match l {
            Line::Prompt { key, .. } => Some(key.as_str()),
            Line::Text(_) => None,
        })
        .collect()
}

/// Runs keys from a state, returning the last state and reply.
fn run(flow: &Flow, mut s: CallState, events: &[Event]) -> (CallState, Reply) {
    let mut last = None;
    for e in events {
        let (next, reply) = step(flow, s, e.clone(), TRIES);
        s = next;
        last = Some(reply);
    }
    (s, last.expect("at least one event"))
}

/// A key no option of this node takes.
fn wrong_key(flow: &Flow, s: &CallState) -> String {
    match flow.node(&s.node) {
        Node::Menu { options, .. } => ["1", "2", "3", "4", "5", "6", "8"]
            .into_iter()
            .find(|k| !options.iter().any(|o| o.key == *k))
            .unwrap()
            .into(),
        Node::Pick { .. } => "5".into(),
        Node::YesNo { .. } => "3".into(),
        Node::Digits { .. } => "12".into(),
        Node::Record { .. } => unreachable!("a recording takes no wrong keys"),
        other => panic!("{other:?} does not ask"),
    }
}

#[test]
fn every_node_keeps_the_accessibility_rules() {
    let flow = flow();
    let asking: Vec<&String> = flow.nodes.iter().filter(|(_, n)| n.asks()).map(|(k, _)| k).collect();
    assert!(asking.len() >= 15, "the shipped flow has its sub-flows: {asking:?}");
    for name in asking {
        let s = at(name);
        let (_, first) = step(&flow, s.clone(), Event::Resume, TRIES);
        assert!(matches!(first.next, Next::Ask(_)), "{name} waits for the caller");

        // R1: 0 reaches a person from everywhere.
        let (after, reply) = step(&flow, s.clone(), keys("0"), TRIES);
        assert_eq!(reply.next, Next::Run(Task::Transfer), "{name}: 0");
        assert_eq!(after.node, flow.escape.human);

        // R1/R3: * repeats the same prompt, at the same node.
        let (after, reply) = step(&flow, s.clone(), keys("*"), TRIES);
        assert_eq!((after.node.as_str(), &reply), (name.as_str(), &first), "{name}: *");

        // R4: 7 and 9 change the rate, say so, and stay.
        let (after, reply) = step(&flow, s.clone(), keys("7"), TRIES);
        assert_eq!(after.profile.rate, SpeechRate::Slower, "{name}: 7");
        assert_eq!(after.node, *name);
        assert_eq!(prompts_said(&reply)[0], "rate_slower");
        let (after, _) = step(&flow, s.clone(), keys("9"), TRIES);
        assert_eq!(
            (after.profile.rate, after.node.as_str()),
            (SpeechRate::Faster, name.as_str()),
            "{name}: 9"
        );

        // R1: silence, then more silence — slower each time, and a callback at the end, never a hang-up.
        let mut wrongs = vec![keys("")];
        if !matches!(flow.node(name), Node::Record { .. }) {
            wrongs.push(keys(&wrong_key(&flow, &s)));
        }
        for wrong in wrongs {
            let (after, reply) = step(&flow, s.clone(), wrong.clone(), TRIES);
            assert_eq!(after.node, *name, "{name}: {wrong:?} stays");
            assert_eq!(after.speaking_rate(), SpeechRate::Slower, "{name}: re-prompt slower");
            assert!(matches!(reply.next, Next::Ask(_)), "{name}: asks again");
            assert!(reply.say.len() > first.say.len(), "{name}: re-prompt says why");
            let (after, reply) = run(&flow, s.clone(), &vec![wrong.clone(); TRIES as usize]);
            if let Node::Digits {
                field: DigitsField::Certificate,
                goto,
                ..
            } = flow.node(name)
            {
                // The certificate step is the one exception: the application goes on without it.
                assert_eq!(after.node, *goto, "{name}: {wrong:?}×3 goes on");
                assert!(prompts_said(&reply).contains(&"certificate_not_checked"));
                continue;
            }
            assert_eq!(
                reply.next,
                Next::Run(Task::Callback { gave_up: true }),
                "{name}: {wrong:?}×3"
            );
            assert_eq!(after.node, flow.escape.give_up);
        }

        // R3: at most 4 options on every page.
        let offered = first
            .say
            .iter()
            .filter(|l| matches!(l, Line::Prompt { key, .. } if key == "pick_option" || key == "pick_more" || key == "pick_again"))
            .count();
        assert!(offered <= MAX_OPTIONS, "{name}: {offered} options");
    }
}

#[test]
fn consult_by_keys() {
    let flow = flow();
    let (s, reply) = step(&flow, CallState::default(), Event::Start, TRIES);
    assert_eq!(prompts_said(&reply), ["welcome", "menu_main", "keys_rules"]);
    assert_eq!(reply.next, Next::Ask(Ask::Choice));
    let (s, reply) = step(&flow, s, keys("1"), TRIES);
    assert_eq!(s.node, "consult_matter");
    assert_eq!(
        reply.say[1],
        Line::with("pick_option", &[("name", "劳动和工资".into()), ("key", "1".into())])
    );
    assert_eq!(prompts_said(&reply).last(), Some(&"pick_more"));
    // Third page: criminal is key 1, other key 2; key 4 wraps to the start.
    let (s, reply) = run(&flow, s, &[keys("4"), keys("4")]);
    assert_eq!(prompts_said(&reply).last(), Some(&"pick_again"));
    let (s2, _) = step(&flow, s.clone(), keys("4"), TRIES);
    assert_eq!(s2.page, 0);
    let (s, reply) = step(&flow, s, keys("1"), TRIES);
    assert_eq!(s.answers.matter.as_deref(), Some("criminal"));
    assert_eq!(reply.next, Next::Ask(Ask::Record));
    let recording = Recording {
        url: "https://api.twilio.com/r/RE1".into(),
        secs: 7,
    };
    let (s, reply) = step(
        &flow,
        s,
        Event::Recorded {
            recording: Some(recording.clone()),
            key: Some("#".into()),
        },
        TRIES,
    );
    assert_eq!(s.answers.description, Some(recording));
    assert_eq!(reply.next, Next::Run(Task::Callback { gave_up: false }));
}

#[test]
fn a_key_pressed_before_anything_was_recorded_acts() {
    let flow = flow();
    let (s, _) = run(&flow, CallState::default(), &[Event::Start, keys("1"), keys("1")]);
    assert_eq!(s.node, "consult_describe");
    // 0 at once: to a person, with no description.
    let (s0, _) = step(
        &flow,
        s.clone(),
        Event::Recorded {
            recording: None,
            key: Some("0".into()),
        },
        TRIES,
    );
    assert_eq!(s0.answers.description, None);
    assert_eq!(s0.node, flow.escape.human);
    // # or silence: the callback goes on without one.
    let (s1, reply) = step(
        &flow,
        s,
        Event::Recorded {
            recording: None,
            key: Some("#".into()),
        },
        TRIES,
    );
    assert_eq!(s1.answers.description, None);
    assert_eq!(reply.next, Next::Run(Task::Callback { gave_up: false }));
}

#[test]
fn apply_by_keys_with_a_certificate() {
    let flow = flow();
    let (s, _) = run(&flow, CallState::default(), &[Event::Start, keys("2"), keys("1")]);
    assert_eq!(s.node, "apply_certificate");
    // A wrong check character: the caller hears which part is wrong, and tries again.
    let (s, reply) = step(&flow, s, keys("11010519491231002111"), TRIES);
    // What was typed is read back first.
    assert_eq!(
        reply.say[0],
        Line::with(
            "certificate_typed",
            &[(
                "digits",
                "一、一、零、一、零、五、一、九、四、九、一、二、三、一、零、零、二、一、一、一".into()
            )]
        )
    );
    assert!(
        matches!(&reply.say[1], Line::Text(t) if t.contains("校验")),
        "{:?}",
        reply.say
    );
    // Skipping is offered, and 2 alone skips.
    let (skipped, reply) = step(&flow, s.clone(), keys("2"), TRIES);
    assert_eq!(skipped.node, "apply_prefecture");
    assert_eq!(skipped.answers.certificate, None);
    assert_eq!(prompts_said(&reply)[0], "certificate_skipped");
    // Three wrong numbers: the application goes on without one (not a generic callback).
    let (after, reply) = run(&flow, s.clone(), &[keys("123"), keys("456")]);
    assert_eq!(after.node, "apply_prefecture");
    assert!(prompts_said(&reply).contains(&"certificate_not_checked"));
    assert_eq!((s.node.as_str(), s.tries), ("apply_certificate", 1));
    // * stands for X; the category and level are read back.
    let (s, reply) = step(&flow, s, keys("11010519491231002*11"), TRIES);
    assert_eq!(
        reply.say[0],
        Line::with(
            "confirm_certificate",
            &[("certificate", "视力残疾一级".into()), ("last", "二、X、一、一".into())]
        )
    );
    let (s, _) = step(&flow, s, keys("1"), TRIES);
    assert_eq!(s.answers.certificate.as_deref(), Some("11010519491231002X11"));
    assert_eq!(s.node, "apply_prefecture");
    // 西安市 is key 1 on the first page; then 雁塔区 is on the county list.
    let (s, reply) = step(&flow, s, keys("1"), TRIES);
    assert_eq!(s.answers.prefecture.as_deref(), Some("610100"));
    assert!(reply
        .say
        .iter()
        .any(|l| matches!(l, Line::Prompt { vars, .. } if vars.iter().any(|(_, v)| v.contains("新城区")))));
    let (s, _) = step(&flow, s, keys("1"), TRIES);
    assert!(s.answers.county.as_deref().is_some_and(|c| c.starts_with("6101")));
    // Labour and wages, then: no income yes, assistance no, migrant yes, deadline yes, evidence no.
    let (s, reply) = run(
        &flow,
        s,
        &[keys("1"), keys("1"), keys("2"), keys("1"), keys("1"), keys("2")],
    );
    assert_eq!(s.answers.matter.as_deref(), Some("labour_wages"));
    assert_eq!(
        s.answers.yes,
        [Flag::NoFixedIncome, Flag::MigrantWorker, Flag::DeadlineWithin7Days].into()
    );
    assert_eq!(reply.next, Next::Ask(Ask::Record));
    // Silence at the recording prompt is a missed turn, said as "no speech".
    let (s, reply) = step(&flow, s, keys(""), TRIES);
    assert_eq!(prompts_said(&reply)[0], "no_speech");
    // A key during the prompt means "no message": on to the assessment.
    let (_, reply) = step(&flow, s, keys("#"), TRIES);
    assert_eq!(reply.next, Next::Run(Task::Apply));
}

#[test]
fn criminal_matters_ask_about_detention() {
    let flow = flow();
    let mut s = at("apply_matter");
    s.page = 2;
    let (s, reply) = step(&flow, s, keys("1"), TRIES);
    assert_eq!(s.node, "apply_detained");
    assert_eq!(prompts_said(&reply), ["ask_detained"]);
    let (s, _) = step(&flow, s, keys("1"), TRIES);
    assert!(s.answers.yes.contains(&Flag::DetainedOrOnTrial));
    assert_eq!(s.node, "apply_deadline");
}

#[test]
fn progress_hands_over_the_typed_ticket_and_returns() {
    let flow = flow();
    let (s, reply) = run(&flow, CallState::default(), &[Event::Start, keys("3")]);
    assert_eq!(reply.next, Next::Run(Task::Progress { ticket: None }));
    let (s, reply) = step(&flow, s, Event::Resume, TRIES);
    assert_eq!(prompts_said(&reply), ["menu_progress"]);
    let (s, _) = step(&flow, s, keys("1"), TRIES);
    let (s, reply) = step(&flow, s, keys("0123"), TRIES);
    assert_eq!(prompts_said(&reply)[0], "ticket_invalid");
    let (s, reply) = step(&flow, s, keys("83125670"), TRIES);
    assert_eq!(
        reply.next,
        Next::Run(Task::Progress {
            ticket: Some("83125670".into())
        })
    );
    assert_eq!((s.node.as_str(), s.answers.ticket.as_deref()), ("progress_more", None));
}

#[test]
fn settings_change_the_profile() {
    let flow = flow();
    let (s, _) = run(&flow, CallState::default(), &[Event::Start, keys("4")]);
    let (s, reply) = step(&flow, s, keys("1"), TRIES);
    assert!(s.profile.long_timeouts);
    assert_eq!(prompts_said(&reply), ["long_timeouts_on", "menu_settings"]);
    let (s, _) = run(&flow, s, &[keys("2"), keys("3"), keys("1")]);
    assert_eq!(
        s.profile,
        Profile {
            rate: SpeechRate::Normal,
            long_timeouts: false,
            keypad_only: true,
            sms_follow_up: true
        }
    );
    let (s, _) = step(&flow, s, keys("4"), TRIES);
    assert_eq!(s.node, "main");
}

#[test]
fn a_known_caller_is_offered_to_continue() {
    let flow = flow();
    let s = CallState::new(Profile::default(), Some("83125670".into()));
    let (s, reply) = step(&flow, s, Event::Start, TRIES);
    assert_eq!(
        prompts_said(&reply),
        ["welcome", "welcome_back", "menu_resume", "keys_rules"]
    );
    assert_eq!(
        reply.say[1],
        Line::with("welcome_back", &[("ticket", "八、三、一、二、五、六、七、零".into())])
    );
    let (s, reply) = step(&flow, s, keys("1"), TRIES);
    assert_eq!((s.node.as_str(), reply.next), ("resume_note", Next::Ask(Ask::Record)));
}

#[test]
fn the_keys_rules_are_not_in_every_menu() {
    let flow = flow();
    // A new caller hears them after the first menu and once more at the first wrong turn (a
    // key may have cut them off), not again.
    let (s, _) = step(&flow, CallState::default(), Event::Start, TRIES);
    let (s, reply) = step(&flow, s, keys("8"), TRIES);
    assert_eq!(prompts_said(&reply), ["invalid_key", "menu_main", "keys_rules"]);
    let (s, reply) = step(&flow, s, keys("*"), TRIES);
    assert_eq!(prompts_said(&reply), ["menu_main"]);
    let (_, reply) = step(&flow, s, keys("8"), TRIES);
    assert_eq!(prompts_said(&reply), ["invalid_key", "menu_main"]);

    // A caller who has called before gets a short greeting and the menu at once; the rules
    // come only when a turn goes wrong, once.
    let (s, reply) = step(&flow, CallState::default().returning(), Event::Start, TRIES);
    assert_eq!(prompts_said(&reply), ["welcome_again", "menu_main"]);
    let (s, reply) = step(&flow, s, keys(""), TRIES);
    assert_eq!(prompts_said(&reply), ["no_input", "menu_main", "keys_rules"]);
    let (_, reply) = step(&flow, s, keys("8"), TRIES);
    assert_eq!(prompts_said(&reply), ["invalid_key", "menu_main"]);

    // Not between a recording's prompt and its beep.
    let (s, _) = step(&flow, CallState::default().returning(), Event::Start, TRIES);
    let (s, _) = step(&flow, s, keys("1"), TRIES);
    let (s, _) = step(&flow, s, keys("1"), TRIES);
    assert_eq!(s.node, "consult_describe");
    let (s, reply) = step(
        &flow,
        s,
        Event::Recorded {
            recording: None,
            key: Some("*".into()),
        },
        TRIES,
    );
    assert_eq!(prompts_said(&reply), ["record_description"]);
    assert!(!s.told_rules);
}

#[test]
fn at_a_closing_any_key_says_it_again_and_0_reaches_a_person() {
    let flow = flow();
    let (s, reply) = step(&flow, at("consult_done"), keys("*"), TRIES);
    assert_eq!(reply.next, Next::Run(Task::Callback { gave_up: false }));
    let (_, reply) = step(&flow, s, keys("5"), TRIES);
    assert_eq!(reply.next, Next::Run(Task::Callback { gave_up: false }));
    let (s, reply) = step(&flow, at("consult_done"), keys("0"), TRIES);
    assert_eq!((s.node.as_str(), reply.next), ("human", Next::Run(Task::Transfer)));
    // Once with a person (or their callback), 0 does not start over.
    let (s, reply) = step(&flow, s, keys("0"), TRIES);
    assert_eq!((s.node.as_str(), reply.next), ("human", Next::Run(Task::Transfer)));
    // 7 slows the closing down, and says so; at the slowest rate it says that instead.
    let (s, reply) = step(&flow, at("consult_done"), keys("7"), TRIES);
    assert_eq!(prompts_said(&reply), ["rate_slower"]);
    assert_eq!(
        (s.profile.rate, reply.next),
        (SpeechRate::Slower, Next::Run(Task::Callback { gave_up: false }))
    );
    let (_, reply) = step(&flow, s, keys("7"), TRIES);
    assert_eq!(prompts_said(&reply), ["rate_slowest"]);
}

#[test]
fn a_caller_who_could_not_choose_hears_the_closing_slowly_and_the_open_ticket_is_repeated() {
    let flow = flow();
    let (s, _) = run(&flow, at("main"), &[keys(""), keys(""), keys("")]);
    assert_eq!(s.node, flow.escape.give_up);
    assert_eq!(s.speaking_rate(), SpeechRate::Slower);

    let s = CallState::new(Profile::default(), Some("83125670".into()));
    let (s, _) = step(&flow, s, Event::Start, TRIES);
    let (_, reply) = step(&flow, s, keys("*"), TRIES);
    assert_eq!(prompts_said(&reply), ["welcome_back", "menu_resume"]);
}

#[test]
fn a_runaway_call_ends_in_a_callback() {
    let flow = flow();
    let mut s = at("main");
    s.turns = MAX_TURNS;
    let (_, reply) = step(&flow, s, keys("*"), TRIES);
    assert_eq!(reply.next, Next::Run(Task::Callback { gave_up: true }));
}

#[test]
fn a_clearly_heard_choice_acts_like_its_key() {
    let flow = flow();
    let (s, _) = run(
        &flow,
        at("main"),
        &[Event::Heard {
            key: "1".into(),
            sure: true,
        }],
    );
    let (by_key, _) = run(&flow, at("main"), &[keys("1")]);
    assert_eq!(s, by_key);
}

#[test]
fn an_unsure_choice_is_confirmed_by_key_and_never_taken_silently() {
    let flow = flow();
    let unsure = Event::Heard {
        key: "2".into(),
        sure: false,
    };
    let (s, reply) = run(&flow, at("main"), std::slice::from_ref(&unsure));
    assert_eq!((s.node.as_str(), s.confirm.as_deref()), ("main", Some("2")));
    assert_eq!(
        reply.say,
        vec![Line::with("speech_confirm", &[("choice", "申请法律援助".into())])]
    );
    assert_eq!(reply.next, Next::Ask(Ask::Choice));
    let (yes, _) = run(&flow, at("main"), &[unsure.clone(), keys("1")]);
    assert_eq!(yes.node, "apply_start", "1 confirms the option heard (key 2)");
    let (no, reply) = run(&flow, at("main"), &[unsure.clone(), keys("2")]);
    assert_eq!((no.node.as_str(), no.confirm.as_deref()), ("main", None));
    assert_eq!(prompts_said(&reply), ["menu_main"], "2 asks again");
    let (human, _) = run(&flow, at("main"), &[unsure, keys("0")]);
    assert_eq!(human.node, flow.escape.human, "0 still reaches a person");
}

#[test]
fn speech_not_understood_counts_as_a_failed_turn_and_busy_falls_back_to_keys() {
    let flow = flow();
    let (s, reply) = run(&flow, at("main"), &[Event::NotUnderstood]);
    assert_eq!(s.tries, 1);
    assert_eq!(prompts_said(&reply), ["speech_not_understood", "menu_main"]);
    let (s, _) = run(
        &flow,
        at("main"),
        &[Event::NotUnderstood, Event::NotUnderstood, Event::NotUnderstood],
    );
    assert_eq!(s.node, flow.escape.give_up, "three misses lead to a callback (R1)");
    let (s, reply) = run(&flow, at("main"), &[Event::SpeechBusy]);
    assert_eq!((s.node.as_str(), s.tries), ("main", 0), "not the caller's fault");
    assert_eq!(prompts_said(&reply), ["speech_busy", "menu_main"]);
}
