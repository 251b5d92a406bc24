//! Voice turns: the first menu, run against storage (the record) and Redis (the session).
//!
//! Redis trouble never stops a call: the session falls back to a fresh one, the queue entry is
//! written later by the reconciler, and a cap on turns keeps R1 (no endless menu) even when the
//! session's try counter cannot be kept.

use crate::app::{AppState, PROVIDER};
use crate::domain::{spoken, Channel, PhoneNumber};
use crate::ivr::{script, step, Decision, Session, Turn};
use crate::providers::{Action, CallStatus};
use crate::routing::queue::Waiting;
use crate::routing::CallbackQueue;
use crate::speech::SpeechRate;
use crate::storage::consultations::NewConsultation;

use super::{notify, HandleError};

/// However the session fares, after this many menu turns the caller is given a callback.
const MAX_TURNS: u32 = 10;

fn menu_url(turn: u32) -> String {
    format!("/twilio/voice/menu?turn={turn}")
}

fn dial_url(turn: u32) -> String {
    format!("/twilio/voice/dial?turn={turn}")
}

pub async fn call_started(state: &AppState, call_sid: &str, from: &str, to: &str) -> Result<Vec<Action>, HandleError> {
    let caller_id = match PhoneNumber::parse(from) {
        Ok(phone) => Some(state.db.upsert_caller(&phone).await?),
        Err(_) => None,
    };
    state
        .db
        .record_incoming_call(PROVIDER, call_sid, caller_id.as_deref(), to)
        .await?;
    let rate = match &caller_id {
        Some(id) => state.db.caller_speech_rate(id).await?,
        None => SpeechRate::default(),
    };
    let open_ticket = match &caller_id {
        Some(id) => state.db.open_consultation_of(id).await?.map(|c| c.ticket),
        None => None,
    };
    save_session(state, call_sid, Session { tries: 0, rate }).await;
    tracing::info!(call_sid, number_shown = caller_id.is_some(), "call started");
    Ok(script::menu(
        &state.prompts,
        script::greeting(&state.prompts, open_ticket.as_ref()),
        None,
        &menu_url(1),
        state.settings.ivr.no_input_timeout_secs,
    ))
}

pub async fn keys(state: &AppState, call_sid: &str, digits: &str, turn: u32) -> Result<Vec<Action>, HandleError> {
    let session = match state.kv.load_session::<Session>(call_sid).await {
        Ok(s) => s.unwrap_or_default(),
        Err(e) => {
            tracing::warn!(call_sid, error = %e, "IVR session unavailable; continuing with a fresh one");
            Session::default()
        }
    };
    let rate_before = session.rate;
    let (session, mut decision) = step(session, &Turn::Keys(digits.to_owned()), state.settings.ivr.max_tries);
    if turn >= MAX_TURNS && matches!(decision, Decision::Menu(_)) {
        decision = Decision::Callback { gave_up: true };
    }
    save_session(state, call_sid, session).await;
    if session.rate != rate_before {
        remember_rate(state, call_sid, session.rate).await?;
    }
    let timeout = state.settings.ivr.no_input_timeout_secs;
    match decision {
        Decision::Welcome => Ok(script::menu(
            &state.prompts,
            script::greeting(&state.prompts, None),
            None,
            &menu_url(turn + 1),
            timeout,
        )),
        Decision::Menu(notice) => Ok(script::menu(
            &state.prompts,
            Vec::new(),
            notice,
            &menu_url(turn + 1),
            timeout,
        )),
        Decision::Human if !state.settings.fallback.human_number.is_empty() => Ok(script::transfer(
            &state.prompts,
            &state.settings.fallback.human_number,
            &dial_url(turn + 1),
        )),
        Decision::Human => callback(state, call_sid, false, turn).await,
        Decision::Callback { gave_up } => callback(state, call_sid, gave_up, turn).await,
    }
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
    let mut actions = vec![Action::Say {
        text: state.prompts.transfer_failed.clone(),
        key: Some("transfer_failed".into()),
    }];
    actions.extend(callback(state, call_sid, false, turn).await?);
    Ok(actions)
}

/// Opens (once per call) a consultation waiting for a callback, queues it, reads the ticket
/// back and texts it to a mobile number (R6).
async fn callback(state: &AppState, call_sid: &str, gave_up: bool, turn: u32) -> Result<Vec<Action>, HandleError> {
    let call = state
        .db
        .find_call(PROVIDER, call_sid)
        .await?
        .ok_or_else(|| HandleError::UnknownCall(call_sid.to_owned()))?;
    let Some(caller_id) = call.caller_id else {
        // No number, no callback. If the caller could not choose either, a person or the
        // office hours are all that is left.
        if gave_up {
            return Ok(fallback(state, call_sid, None));
        }
        return Ok(script::no_caller_number(
            &state.prompts,
            &menu_url(turn + 1),
            state.settings.ivr.no_input_timeout_secs,
        ));
    };
    // A caller already waiting keeps their place and ticket.
    let (consultation, created) = state
        .db
        .consultation_for(&NewConsultation {
            origin_key: &format!("call:{call_sid}:callback"),
            caller_id: &caller_id,
            call_sid: Some(call_sid),
            channel: Channel::Voice,
        })
        .await?;
    let queue = CallbackQueue::new(&state.kv);
    if let Err(e) = queue.enqueue(&Waiting::of(&consultation)).await {
        tracing::warn!(error = %e, "consultation saved but not queued yet; the reconciler will queue it");
    }
    let ahead = queue.position(&consultation.id).await.ok().flatten().map(|p| p - 1);
    let phone = state
        .db
        .caller_phone(&caller_id)
        .await?
        .and_then(|p| PhoneNumber::parse(&p).ok())
        .ok_or_else(|| HandleError::UnknownCall(call_sid.to_owned()))?;
    let callback_number = spoken::phone(&phone, state.settings.ivr.one_as_yao);
    let by_sms = phone.is_mobile() && state.rest.is_configured();
    if created && by_sms {
        let text = crate::ivr::prompts::fill(&state.prompts.sms_ticket, &[("ticket", consultation.ticket.as_str())]);
        notify::send_in_background(state.clone(), caller_id.clone(), consultation.id.clone(), phone, text);
    }
    tracing::info!(call_sid, consultation = %consultation.id, created, gave_up, "callback registered");
    Ok(script::callback_registered(
        &state.prompts,
        &script::Registered {
            ticket: &consultation.ticket,
            callback_number: &callback_number,
            ahead,
            gave_up,
            by_sms,
        },
    ))
}

pub async fn status_changed(
    state: &AppState,
    call_sid: &str,
    status: CallStatus,
    duration_secs: Option<u32>,
) -> Result<Vec<Action>, HandleError> {
    state
        .db
        .update_call_status(PROVIDER, call_sid, status, duration_secs)
        .await?;
    if status.is_final() {
        if let Err(e) = state.kv.end_session(call_sid).await {
            tracing::warn!(call_sid, error = %e, "could not drop the IVR session; it will expire");
        }
    }
    Ok(Vec::new())
}

/// The provider could not use an answer of ours: apologise and offer the fallback.
pub fn fallback(state: &AppState, call_sid: &str, error_code: Option<&str>) -> Vec<Action> {
    tracing::error!(call_sid, error_code, "voice fallback requested");
    let f = &state.settings.fallback;
    script::fallback(&state.prompts, &f.human_number, &f.office_hours)
}

/// R4: the rate chosen on this call applies to every later call from the same number.
async fn remember_rate(state: &AppState, call_sid: &str, rate: SpeechRate) -> Result<(), HandleError> {
    if let Some(caller_id) = state.db.find_call(PROVIDER, call_sid).await?.and_then(|c| c.caller_id) {
        state.db.set_caller_speech_rate(&caller_id, rate).await?;
    }
    Ok(())
}

/// The rate to speak at on this call; normal when the session cannot be read.
pub async fn speech_rate(state: &AppState, call_sid: &str) -> SpeechRate {
    match state.kv.load_session::<Session>(call_sid).await {
        Ok(Some(session)) => session.speaking_rate(),
        _ => SpeechRate::default(),
    }
}

async fn save_session(state: &AppState, call_sid: &str, session: Session) {
    if let Err(e) = state
        .kv
        .save_session(call_sid, &session, state.settings.redis.session_ttl_secs)
        .await
    {
        tracing::warn!(call_sid, error = %e, "could not keep the IVR session");
    }
}
