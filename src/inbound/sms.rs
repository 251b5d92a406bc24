//! Inbound SMS: a deaf or speech-impaired person can do by text everything the phone menu
//! offers (DOMAIN.md §6 R5), through the very same flow and engine, and talk with a lawyer.
//!
//! Every message is stored first, before anything else can fail; then duplicates (the same
//! number and text within seconds, as some phones resend) and floods (a per-number rate limit)
//! are answered with nothing more; keywords are handled (退订 / 帮助 / 返回); the message joins
//! the person's open consultation or opens one (queued for a lawyer at once); and an answer to
//! the menu moves the conversation on, while free text simply goes to the lawyer.

use crate::app::AppState;
use crate::domain::{Channel, PhoneNumber};
use crate::ivr::{step, CallState, Event, Line, Profile};
use crate::prompts::fill;
use crate::providers::{Action, MessageStatus};
use crate::routing::queue::Waiting;
use crate::routing::CallbackQueue;
use crate::sms::keywords::{read, Reading};
use crate::sms::SIGNATURE;
use crate::storage::consultations::{Consultation, NewConsultation};
use crate::storage::conversations::Conversation;
use crate::storage::messages::NewMessage;

use super::conversation::{self, Ending, Person, Said, Work, TEXT};
use super::intake::{self, Intake};
use super::HandleError;

/// Lines of the voice engine a texter does not get: the spoken greeting, and the keys' rules
/// (the SMS menu names its own replies).
const VOICE_ONLY: [&str; 3] = ["welcome", "welcome_again", "keys_rules"];

/// The window of `sms.inbound_per_10_minutes`.
const RATE_WINDOW_SECS: u64 = 600;
pub async fn received(state: &AppState, message_sid: &str, from: &str, body: &str) -> Result<Vec<Action>, HandleError> {
    let Ok(phone) = PhoneNumber::parse(from) else {
        tracing::warn!(message_sid, "text from a sender that is not a phone number ignored");
        return Ok(Vec::new());
    };
    let caller_id = state.db.upsert_caller(&phone).await?;
    let stored = state
        .db
        .insert_message(&NewMessage {
            provider_sid: Some(message_sid),
            inbound: true,
            caller_id: &caller_id,
            consultation_id: None,
            body,
            status: MessageStatus::Received,
        })
        .await?;
    let Some(message_id) = stored else {
        return Ok(Vec::new()); // the same delivery again
    };
    if is_duplicate(state, &caller_id, body).await {
        tracing::info!(
            message_sid,
            "the same text again within seconds: stored, not acted on; the question is asked again"
        );
        return ask_again(state, &caller_id).await;
    }
    let reading = read(body);
    let (consultation, created) = state
        .db
        .consultation_for(
            &NewConsultation {
                origin_key: &format!("sms:{message_sid}"),
                caller_id: &caller_id,
                call_sid: None,
                channel: Channel::Sms,
            },
            None,
        )
        .await?;
    state.db.set_message_consultation(&message_id, &consultation.id).await?;
    if created {
        if let Err(e) = CallbackQueue::new(&state.kv).enqueue(&Waiting::of(&consultation)).await {
            tracing::warn!(error = %e, "consultation saved but not queued yet; the reconciler will queue it");
        }
    }
    match over_rate(state, &caller_id, limit_of(state, &caller_id, &reading).await?).await {
        Rate::Within => {}
        Rate::JustOver => {
            let notice = vec![state.prompts.sms_rate_limited.clone()];
            return messages(state, &caller_id, &consultation.id, notice).await;
        }
        Rate::Over => return Ok(Vec::new()),
    }
    let texts = converse(state, &caller_id, message_sid, &consultation, reading).await?;
    messages(state, &caller_id, &consultation.id, texts).await
}

/// The texts, each split to fit (numbered parts when long), as reply messages — each stored in
/// the consultation's thread first, so the lawyer sees what the service said, with its delivery
/// reports.
async fn messages(
    state: &AppState,
    caller_id: &str,
    consultation_id: &str,
    texts: Vec<String>,
) -> Result<Vec<Action>, HandleError> {
    let joined = texts.join("");
    let body = joined.strip_prefix(SIGNATURE).unwrap_or(&joined);
    if body.is_empty() {
        return Ok(Vec::new());
    }
    let mut actions = Vec::new();
    for body in crate::sms::split(body, SIGNATURE) {
        let tracked = state
            .db
            .insert_outbound(caller_id, consultation_id, &body, MessageStatus::Queued)
            .await?;
        actions.push(Action::Message {
            body,
            tracked: Some(tracked),
        });
    }
    Ok(actions)
}

/// How many tenths of a second a resend waits for the first text's conversation.
const FIRST_TEXT_WAITS: u32 = 30;

/// The conversation's current question again: the answer to a text taken for a resend, so the
/// person is never left with nothing (if it was a real answer, they see it was not taken).
///
/// A resend of a person's first text can arrive while that text is still being handled: the
/// conversation it opens is waited for (a few seconds at most) rather than answering nothing.
async fn ask_again(state: &AppState, caller_id: &str) -> Result<Vec<Action>, HandleError> {
    let mut waits = 0;
    let (convo, c) = loop {
        match (
            state.db.sms_conversation(caller_id).await?,
            state.db.open_consultation_of(caller_id).await?,
        ) {
            (Some(convo), Some(c)) => break (convo, c),
            _ if waits < FIRST_TEXT_WAITS => {
                waits += 1;
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            _ => return Ok(Vec::new()),
        }
    };
    let (_, again) = step(&state.flow, convo.state, Event::Resume, state.settings.ivr.max_tries);
    let texts = again.say.iter().map(|l| text_of(state, l)).collect();
    messages(state, caller_id, &c.id, texts).await
}

/// Some phones and gateways resend a message; the same number and text within seconds is
/// kept but not acted on twice. Redis trouble lets it through rather than lose it.
async fn is_duplicate(state: &AppState, caller_id: &str, body: &str) -> bool {
    use sha2::{Digest, Sha256};
    let window = state.settings.sms.duplicate_window_secs;
    if window == 0 {
        return false;
    }
    let digest = hex::encode(Sha256::digest(format!("{caller_id}\0{}", body.trim())));
    let key = state.kv.key("smsdup", &digest);
    let set: Result<Option<String>, _> = state
        .kv
        .run(redis::cmd("SET").arg(key).arg(1).arg("NX").arg("EX").arg(window))
        .await;
    matches!(set, Ok(None))
}

/// Which count a text goes to: answers to our own questions apart from unsolicited texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Limit {
    /// 退订: always acted on.
    None,
    Answers,
    Unsolicited,
}

async fn limit_of(state: &AppState, caller_id: &str, reading: &Reading) -> Result<Limit, HandleError> {
    Ok(match reading {
        Reading::Stop => Limit::None,
        Reading::Help | Reading::Back | Reading::Keys(_) => Limit::Answers,
        // Free text answers the menu only where it asked for a description.
        Reading::Free => match state.db.sms_conversation(caller_id).await? {
            Some(convo)
                if matches!(
                    state.flow.nodes.get(&convo.state.node),
                    Some(crate::ivr::flow::Node::Record { .. })
                ) =>
            {
                Limit::Answers
            }
            _ => Limit::Unsolicited,
        },
    })
}

enum Rate {
    Within,
    /// The first message over the limit: told once.
    JustOver,
    Over,
}

async fn over_rate(state: &AppState, caller_id: &str, limit: Limit) -> Rate {
    let sms = &state.settings.sms;
    let (name, limit) = match limit {
        Limit::None => return Rate::Within,
        Limit::Answers => ("smsanswers", sms.answers_per_10_minutes),
        Limit::Unsolicited => ("smsin", sms.inbound_per_10_minutes),
    };
    match state.kv.count_in_window(name, caller_id, RATE_WINDOW_SECS).await {
        Ok(n) if n == limit + 1 => Rate::JustOver,
        Ok(n) if n > limit => Rate::Over,
        _ => Rate::Within,
    }
}

/// One turn of the text conversation; returns the reply texts.
async fn converse(
    state: &AppState,
    caller_id: &str,
    message_sid: &str,
    consultation: &Consultation,
    reading: Reading,
) -> Result<Vec<String>, HandleError> {
    let p = &state.prompts;
    let stored = state.db.sms_conversation(caller_id).await?;
    let fresh = || Conversation {
        state: CallState::new(Profile::default(), None),
        history: Vec::new(),
    };
    let mut texts = Vec::new();
    let (mut convo, event) = match (stored, reading) {
        (_, Reading::Stop) => {
            state.db.set_opted_out(caller_id, true).await?;
            return Ok(vec![p.sms_stopped.clone()]);
        }
        (_, Reading::Help) => {
            state.db.set_opted_out(caller_id, false).await?;
            (fresh(), Event::Start)
        }
        (None, _) => (fresh(), Event::Start),
        (Some(mut convo), Reading::Back) => match convo.history.pop() {
            Some(previous) => {
                convo.state = previous;
                (convo, Event::Resume)
            }
            None => (convo, Event::Resume),
        },
        (Some(mut convo), Reading::Keys(keys)) => {
            // A key that is no option here asks again: nothing to go back to.
            if !TEXT.refuses(&keys) {
                convo.push();
            }
            (convo, Event::Keys(keys))
        }
        (Some(mut convo), Reading::Free) => {
            if matches!(
                state.flow.nodes.get(&convo.state.node),
                Some(crate::ivr::flow::Node::Record { .. })
            ) {
                // The text is the description the menu asked for (it is in the thread already).
                convo.push();
                (convo, Event::Keys("#".into()))
            } else {
                return Ok(vec![p.sms_noted.clone()]);
            }
        }
    };
    if event == Event::Start {
        texts.push(fill(&p.sms_received, &[("ticket", consultation.ticket.as_str())]));
    }
    let t = conversation::turn(state, &TEXT, Person::Known(Some(caller_id)), convo.state.clone(), event).await?;
    texts.extend(t.said.iter().flat_map(|x| written(state, x)));
    let mut s = t.state;
    if let Ending::Runs(work) = t.ending {
        let intake = Intake {
            caller_id,
            origin: &format!("sms:{message_sid}"),
            call_sid: None,
            channel: Channel::Sms,
            state: &s,
        };
        let reg = intake::register(state, intake, work == Work::Apply).await?;
        if work == Work::Apply {
            if let Some(explanation) = &reg.explanation {
                texts.push(fill(&p.assessment, &[("explanation", explanation)]));
            }
            texts.push(p.sms_art23.clone());
        }
        texts.push(registered(state, &reg));
        // Done: the conversation starts again from the menu next time.
        s = CallState::new(s.profile, None);
        s.node = state.flow.start.clone();
    }
    convo.state = s;
    state.db.save_sms_conversation(caller_id, &convo).await?;
    Ok(texts)
}

fn registered(state: &AppState, reg: &intake::Registration) -> String {
    let p = &state.prompts;
    let place = reg.ahead.map_or(String::new(), |n| {
        fill(&p.sms_place, &[("position", &(n + 1).to_string())])
    });
    let wait = reg
        .wait_minutes
        .map_or(String::new(), |m| fill(&p.sms_wait, &[("minutes", &m.to_string())]));
    fill(
        &p.sms_registered,
        &[
            ("ticket", reg.consultation.ticket.as_str()),
            ("place", &place),
            ("wait", &wait),
        ],
    )
}

/// What the turn said, as texts: its lines (but those only the phone says), or the person's
/// consultations (or the typed ticket's) with their status, place and pre-assessment.
fn written(state: &AppState, said: &Said) -> Vec<String> {
    let p = &state.prompts;
    let cases = match said {
        Said::Line(Line::Prompt { key, .. }) if VOICE_ONLY.contains(&key.as_str()) => return Vec::new(),
        Said::Line(line) => return vec![text_of(state, line)],
        Said::Cases(None) => return vec![p.progress_not_found.clone()],
        Said::Cases(Some(cases)) if cases.is_empty() => return vec![p.progress_none.clone()],
        Said::Cases(Some(cases)) => cases,
    };
    let mut texts = Vec::new();
    for c in cases {
        let place = c.ahead.map_or(String::new(), |n| {
            fill(&p.sms_place, &[("position", &(n + 1).to_string())])
        });
        texts.push(fill(
            &p.sms_case,
            &[
                ("ticket", c.ticket.as_str()),
                ("status", super::voice::status_words(p, c.status)),
                ("place", &place),
            ],
        ));
        if let Some(explanation) = &c.explanation {
            texts.push(fill(&p.assessment, &[("explanation", explanation)]));
        }
    }
    texts
}

/// A line of the menu as text: its SMS wording (`sms_<key>`) where there is one, else the
/// spoken wording with "请按" (press) as "请回复" (reply). Numbers stay digits.
fn text_of(state: &AppState, line: &Line) -> String {
    match line {
        Line::Prompt { key, vars } => {
            let sms_key = format!("sms_{key}");
            let template = state
                .prompts
                .get(&sms_key)
                .or_else(|| state.prompts.get(key))
                .unwrap_or_default();
            let vars: Vec<(&str, String)> = vars
                .iter()
                .map(|(k, v)| (k.as_str(), if k == "ticket" { digits_back(v) } else { v.clone() }))
                .collect();
            let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
            fill(template, &vars).replace("请按", "请回复")
        }
        Line::Text(t) => t.clone(),
    }
}

/// The engine speaks tickets digit by digit ("八、三、…"); a text shows the digits.
fn digits_back(spoken: &str) -> String {
    const NAMES: [char; 10] = ['零', '一', '二', '三', '四', '五', '六', '七', '八', '九'];
    let digits: String = spoken
        .chars()
        .filter_map(|c| NAMES.iter().position(|n| *n == c))
        .map(|d| char::from(b'0' + d as u8))
        .collect();
    if digits.is_empty() {
        spoken.to_owned()
    } else {
        digits
    }
}

pub async fn status_changed(
    state: &AppState,
    message_sid: &str,
    status: MessageStatus,
    error_code: Option<&str>,
    tracked: Option<&str>,
) -> Result<Vec<Action>, HandleError> {
    // A reply sent in our webhook answer gets its provider id with its first report.
    if let Some(id) = tracked {
        state.db.set_message_sid_if_missing(id, message_sid).await?;
    }
    if !state.db.update_message_status(message_sid, status, error_code).await? {
        tracing::info!(message_sid, "delivery report for a message not on record");
    }
    Ok(Vec::new())
}
