//! Voice turns: the flow engine run against storage (the record) and Redis (the session).
//!
//! Each turn loads the call's state, lets [`crate::ivr::step`] decide, runs the tasks it hands
//! over (callback, application, progress, transfer) and keeps the new state in Redis and,
//! sealed, in SQL — so Redis trouble never stops a call: the state comes from SQL instead, and
//! a queue entry that cannot be written now is written by the reconciler later.

use crate::app::AppState;
use crate::domain::{spoken, Channel, ConsultationStatus, PhoneNumber};
use crate::ivr::script::{self, Registered};
use crate::ivr::{step, CallState, Event, Line, Next, Profile, Recording};
use crate::prompts::fill;
use crate::providers::{Action, CallStatus};
use crate::speech::SpeechRate;

use super::conversation::{self, Ending, Person, Said, Work, PHONE};
use super::intake::{self, Intake};
use super::listen;
use super::HandleError;
use crate::notify;

pub async fn call_started(state: &AppState, call_sid: &str, from: &str, to: &str) -> Result<Vec<Action>, HandleError> {
    let phone = PhoneNumber::parse(from).ok();
    let caller = state
        .db
        .call_arrives(state.telephony.name(), call_sid, phone.as_ref(), to)
        .await?;
    let s = match &caller {
        Some(c) if c.called_before => CallState::new(c.profile, c.open_ticket.clone()).returning(),
        Some(c) => CallState::new(c.profile, c.open_ticket.clone()),
        None => CallState::new(Profile::default(), None),
    };
    tracing::info!(
        call_sid,
        number_shown = caller.is_some(),
        returning = s.returning,
        "call started"
    );
    drive(state, call_sid, s, Event::Start, 1).await
}

pub async fn keys(state: &AppState, call_sid: &str, digits: &str, turn: u32) -> Result<Vec<Action>, HandleError> {
    let s = load_state(state, call_sid).await?;
    drive(state, call_sid, s, Event::Keys(digits.to_owned()), turn + 1).await
}

pub async fn recorded(
    state: &AppState,
    call_sid: &str,
    recording: Option<Recording>,
    key: Option<String>,
    turn: u32,
) -> Result<Vec<Action>, HandleError> {
    let s = load_state(state, call_sid).await?;
    if !listen::is_answer(state, &s) {
        return drive(state, call_sid, s, Event::Recorded { recording, key }, turn + 1).await;
    }
    // A spoken menu answer; a key that ended the window is an answer by key.
    let event = match (key.as_deref(), &recording) {
        (Some("hangup"), _) => return Ok(vec![Action::Hangup]),
        (Some(key), _) => Event::Keys(key.to_owned()),
        (None, None) => Event::Keys(String::new()),
        (None, Some(recording)) => listen::hear(state, call_sid, &s, recording).await,
    };
    drive(state, call_sid, s, event, turn + 1).await
}

/// The call's current prompt, with the hooks of the turn the call is at, for a copy of a
/// turn it has moved past or a caller back from holding. Changes nothing.
pub async fn current_prompt(state: &AppState, call_sid: &str) -> Result<Vec<Action>, HandleError> {
    let s = load_state(state, call_sid).await?;
    let turn = state
        .db
        .call_turn(state.telephony.name(), call_sid)
        .await?
        .unwrap_or(1)
        .max(1);
    let (s, reply) = step(&state.flow, s, Event::Resume, state.settings.ivr.max_tries);
    let said: Vec<Action> = reply.say.iter().map(|l| script::say(&state.prompts, l)).collect();
    let actions = match reply.next {
        Next::Ask(ask) => {
            let speech = listen::window(state, &s, ask);
            script::ask(said, ask, turn, timeout_secs(state, &s.profile), speech)
        }
        // At a task: the turn that ran it has answered the caller (and ended the call).
        Next::Run(_) => vec![Action::Hangup],
    };
    Ok(state.voice.speak(actions, s.speaking_rate()).await)
}

/// A transfer to a person ended: if nobody answered, the caller gets a callback instead.
pub async fn dial_finished(
    state: &AppState,
    call_sid: &str,
    status: CallStatus,
    turn: u32,
) -> Result<Vec<Action>, HandleError> {
    if status == CallStatus::Completed {
        return Ok(vec![Action::Hangup]);
    }
    let mut s = load_state(state, call_sid).await?;
    let mut actions = vec![script::say(&state.prompts, &Line::prompt("transfer_failed"))];
    let actions = match register(state, call_sid, &s, Purpose::Callback { gave_up: false }).await? {
        Some(done) => {
            actions.extend(done);
            // A key at the closing says the callback again rather than dialling again.
            s.node = state.flow.escape.give_up.clone();
            script::closing(actions, &state.prompts, turn)
        }
        None => {
            actions.extend(no_callback_number(state));
            actions
        }
    };
    save_state(state, call_sid, &s, turn).await;
    Ok(actions)
}

/// One engine turn, and the tasks it leads to, until the call waits for the caller again or ends.
async fn drive(
    state: &AppState,
    call_sid: &str,
    s: CallState,
    event: Event,
    turn: u32,
) -> Result<Vec<Action>, HandleError> {
    let profile_before = s.profile;
    // After a spoken answer that could not be recognised in time, this turn is keys only.
    let keys_only = event == Event::SpeechBusy;
    let first = event == Event::Start;
    let t = conversation::turn(state, &PHONE, Person::OnCall(call_sid), s, event).await?;
    let s = t.state;
    let mut said: Vec<Action> = t.said.iter().flat_map(|x| spoken(state, x)).collect();
    let outcome = match t.ending {
        Ending::Asks(ask) => {
            let speech = listen::window(state, &s, ask).filter(|_| !keys_only);
            if first && !s.returning && speech.is_some() {
                said.push(script::say(&state.prompts, &Line::prompt("speech_hint")));
            }
            let actions = script::ask(said, ask, turn, timeout_secs(state, &s.profile), speech);
            return finish(state, call_sid, &s, profile_before, turn, actions).await;
        }
        Ending::Runs(Work::Callback { gave_up }) => {
            register(state, call_sid, &s, Purpose::Callback { gave_up }).await?
        }
        Ending::Runs(Work::Apply) => register(state, call_sid, &s, Purpose::Apply).await?,
        Ending::Runs(Work::Transfer) if !state.settings.fallback.human_number.is_empty() => {
            said.extend(script::transfer(
                &state.prompts,
                &state.settings.fallback.human_number,
                turn,
            ));
            return finish(state, call_sid, &s, profile_before, turn, said).await;
        }
        Ending::Runs(Work::Transfer) => register(state, call_sid, &s, Purpose::Callback { gave_up: false })
            .await?
            .map(|done| {
                let mut busy = vec![script::say(&state.prompts, &Line::prompt("human_busy"))];
                busy.extend(done);
                busy
            }),
    };
    let actions = match outcome {
        Some(done) => {
            said.extend(done);
            script::closing(said, &state.prompts, turn)
        }
        // No number to call back (withheld): a person if there is one, else how to reach
        // us, and a polite end — never the menu again, which would lead here again.
        None => {
            let human = &state.settings.fallback.human_number;
            if human.is_empty() {
                said.extend(no_callback_number(state));
            } else {
                said.push(script::say(&state.prompts, &Line::prompt("no_caller_number")));
                said.extend(script::transfer(&state.prompts, human, turn));
            }
            said
        }
    };
    finish(state, call_sid, &s, profile_before, turn, actions).await
}

/// The turn's state kept (and the caller's settings, when they changed); its document.
async fn finish(
    state: &AppState,
    call_sid: &str,
    s: &CallState,
    profile_before: Profile,
    turn: u32,
    actions: Vec<Action>,
) -> Result<Vec<Action>, HandleError> {
    if s.profile != profile_before {
        remember_profile(state, call_sid, &s.profile).await?;
    }
    save_state(state, call_sid, s, turn).await;
    Ok(actions)
}

fn timeout_secs(state: &AppState, profile: &Profile) -> u32 {
    let ivr = &state.settings.ivr;
    if profile.long_timeouts {
        ivr.no_input_timeout_secs * ivr.long_timeout_factor
    } else {
        ivr.no_input_timeout_secs
    }
}

#[derive(Debug, Clone, Copy)]
enum Purpose {
    Callback { gave_up: bool },
    Apply,
}

/// Registers the callback (see [`intake::register`]) and words it for the phone: the
/// pre-assessment for an application, the ticket twice, the number called back, the place and
/// expected wait, the Art. 23 notice; the ticket also by SMS to a mobile (R6). None when the
/// number was withheld.
async fn register(
    state: &AppState,
    call_sid: &str,
    s: &CallState,
    purpose: Purpose,
) -> Result<Option<Vec<Action>>, HandleError> {
    let call = state
        .db
        .find_call(state.telephony.name(), call_sid)
        .await?
        .ok_or_else(|| HandleError::UnknownCall(call_sid.to_owned()))?;
    let Some(caller_id) = call.caller_id else {
        return Ok(None);
    };
    let intake = Intake {
        caller_id: &caller_id,
        origin: &format!("call:{call_sid}"),
        call_sid: Some(call_sid),
        channel: Channel::Voice,
        state: s,
    };
    let reg = intake::register(state, intake, matches!(purpose, Purpose::Apply)).await?;
    let phone = state
        .db
        .caller_phone(&caller_id)
        .await?
        .and_then(|p| PhoneNumber::parse(&p).ok())
        .ok_or_else(|| HandleError::UnknownCall(call_sid.to_owned()))?;
    let by_sms = phone.is_mobile() && state.messaging.is_configured();
    let mut actions = Vec::new();
    let c = &reg.consultation;
    if let Some(explanation) = &reg.explanation {
        actions.push(script::text(fill(
            &state.prompts.assessment,
            &[("explanation", explanation)],
        )));
        if s.profile.sms_follow_up && by_sms {
            let text = fill(
                &state.prompts.sms_assessment,
                &[("ticket", c.ticket.as_str()), ("explanation", explanation)],
            );
            notify::send_in_background(state.clone(), caller_id.clone(), c.id.clone(), phone.clone(), text);
        }
    }
    if reg.created && by_sms {
        // R6: the ticket, the place in the queue and the number called back, also as text.
        let place = reg.ahead.map_or(String::new(), |n| {
            fill(&state.prompts.sms_place, &[("position", &(n + 1).to_string())])
        });
        let text = fill(
            &state.prompts.sms_ticket,
            &[("ticket", c.ticket.as_str()), ("place", &place)],
        );
        notify::send_in_background(state.clone(), caller_id.clone(), c.id.clone(), phone.clone(), text);
    }
    let gave_up = matches!(purpose, Purpose::Callback { gave_up: true });
    actions.extend(script::callback_registered(
        &state.prompts,
        &Registered {
            ticket: &c.ticket,
            callback_number: &spoken::phone(&phone, state.settings.ivr.one_as_yao),
            ahead: reg.ahead,
            wait_minutes: reg.wait_minutes,
            gave_up,
            by_sms,
        },
    ));
    Ok(Some(actions))
}

/// What the turn said, as the phone says it: a line, or the caller's consultations (or the
/// typed ticket's), each with its status, its place in the queue while waiting, and its
/// pre-assessment when it is an application.
fn spoken(state: &AppState, said: &Said) -> Vec<Action> {
    let p = &state.prompts;
    let cases = match said {
        Said::Line(line) => return vec![script::say(p, line)],
        Said::Cases(None) => return vec![script::say(p, &Line::prompt("progress_not_found"))],
        Said::Cases(Some(cases)) if cases.is_empty() => return vec![script::say(p, &Line::prompt("progress_none"))],
        Said::Cases(Some(cases)) => cases,
    };
    let mut actions = Vec::new();
    for c in cases {
        actions.push(script::text(fill(
            &p.progress_case,
            &[("ticket", &c.ticket.spoken()), ("status", status_words(p, c.status))],
        )));
        if let Some(ahead) = c.ahead {
            actions.push(script::queue_place(p, ahead));
        }
        if let Some(explanation) = &c.explanation {
            actions.push(script::text(fill(&p.assessment, &[("explanation", explanation)])));
        }
    }
    actions
}

/// A consultation's state in words.
pub fn status_words(p: &crate::prompts::Prompts, status: ConsultationStatus) -> &str {
    match status {
        ConsultationStatus::WaitingCallback | ConsultationStatus::Unreachable => &p.status_waiting_callback,
        ConsultationStatus::InProgress => &p.status_in_progress,
        ConsultationStatus::Closed => &p.status_closed,
    }
}

/// A status callback. Reports come in any order and may come before the call's own webhook:
/// the call is then recorded from the report (with its caller, so the menu can register a
/// callback for them), and storage keeps whichever status is further along.
pub async fn status_changed(
    state: &AppState,
    call_sid: &str,
    status: CallStatus,
    duration_secs: Option<u32>,
    from: Option<&str>,
    to: Option<&str>,
    direction: crate::providers::Direction,
) -> Result<Vec<Action>, HandleError> {
    let phone = from.and_then(|f| PhoneNumber::parse(f).ok());
    let caller_id = match phone {
        Some(phone) if state.db.find_call(state.telephony.name(), call_sid).await?.is_none() => {
            Some(state.db.upsert_caller(&phone).await?)
        }
        _ => None,
    };
    let report = crate::storage::calls::StatusReport {
        call_sid,
        status,
        duration_secs,
        caller_id: caller_id.as_deref(),
        to_number: to,
        direction,
    };
    if !state.db.apply_call_status(state.telephony.name(), &report).await? {
        tracing::debug!(call_sid, ?status, "status report behind the call's status; ignored");
    }
    if status.is_final() {
        if let Err(e) = state.kv.end_session(call_sid).await {
            tracing::warn!(call_sid, error = %e, "could not drop the IVR session; it will expire");
        }
    }
    Ok(Vec::new())
}

/// A withheld number and nobody to put the caller through to: how to reach us, then goodbye.
fn no_callback_number(state: &AppState) -> Vec<Action> {
    vec![
        script::say(&state.prompts, &Line::prompt("no_caller_number")),
        script::say(&state.prompts, &Line::prompt("no_caller_number_end")),
        Action::Hangup,
    ]
}

/// The provider could not use an answer of ours: apologise and offer the fallback.
pub fn fallback(state: &AppState, call_sid: &str, error_code: Option<&str>) -> Vec<Action> {
    tracing::error!(call_sid, error_code, "voice fallback requested");
    let f = &state.settings.fallback;
    script::fallback(&state.prompts, &f.human_number, &f.office_hours)
}

/// R2/R4: the profile chosen on this call applies to every later call from the same number.
async fn remember_profile(state: &AppState, call_sid: &str, profile: &Profile) -> Result<(), HandleError> {
    if let Some(caller_id) = state
        .db
        .find_call(state.telephony.name(), call_sid)
        .await?
        .and_then(|c| c.caller_id)
    {
        state.db.set_caller_profile(&caller_id, profile).await?;
    }
    Ok(())
}

/// The rate to speak at on this call; normal when the state cannot be read.
pub async fn speech_rate(state: &AppState, call_sid: &str) -> SpeechRate {
    match load_state(state, call_sid).await {
        Ok(s) => s.speaking_rate(),
        Err(_) => SpeechRate::default(),
    }
}

/// The call's state: from Redis, else from SQL, else (a call we lost track of) a fresh start.
async fn load_state(state: &AppState, call_sid: &str) -> Result<CallState, HandleError> {
    let sealed = match state.kv.load_session::<String>(call_sid).await {
        Ok(Some(sealed)) => open(state, &sealed),
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(call_sid, error = %e, "IVR session unavailable in Redis; reading it from SQL");
            None
        }
    };
    let s = match sealed {
        Some(s) => Some(s),
        None => state
            .db
            .ivr_state(state.telephony.name(), call_sid)
            .await?
            .and_then(|bytes| serde_json::from_slice::<CallState>(&bytes).ok()),
    };
    let mut s = s.unwrap_or_default();
    if !state.flow.nodes.contains_key(&s.node) {
        // A state from before a flow change, or none at all: go on from the top.
        s.node = state.flow.start.clone();
    }
    Ok(s)
}

fn open(state: &AppState, sealed: &str) -> Option<CallState> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD.decode(sealed).ok()?;
    let plain = state.db.key().decrypt(&bytes).ok()?;
    serde_json::from_slice(&plain).ok()
}

/// Keeps the state in Redis (sealed: the answers are personal data) and in SQL.
async fn save_state(state: &AppState, call_sid: &str, s: &CallState, turn: u32) {
    use base64::Engine;
    let plain = serde_json::to_vec(s).expect("the call state serialises");
    let sealed = base64::engine::general_purpose::STANDARD.encode(state.db.key().encrypt(&plain));
    if let Err(e) = state
        .kv
        .save_session(call_sid, &sealed, state.settings.redis.session_ttl_secs)
        .await
    {
        tracing::warn!(call_sid, turn, error = %e, "could not keep the IVR session in Redis");
    }
    if let Err(e) = state.db.save_ivr_state(state.telephony.name(), call_sid, &plain).await {
        tracing::warn!(call_sid, turn, error = %e, "could not keep the IVR state in SQL");
    }
}
