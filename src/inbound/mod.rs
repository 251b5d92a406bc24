//! What the service does with each provider event: runs the IVR against storage and Redis,
//! threads SMS into consultations, and sends the texts that go with them.

pub mod conversation;
pub mod intake;
pub mod listen;
pub mod sms;
pub mod transcribe;
pub mod voice;

use crate::app::AppState;
use crate::providers::{Action, InboundEvent};

#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
    #[error("call {0} is not on record (its first webhook was not stored)")]
    UnknownCall(String),
    #[error("a callback webhook without a valid assignment (a=, the id the service gave the leg)")]
    NoAssignment,
    #[error(transparent)]
    Callback(#[from] crate::routing::callback::CallbackError),
}

impl HandleError {
    /// The delivery names something we do not have: a retry could never succeed.
    pub fn is_permanent(&self) -> bool {
        match self {
            HandleError::Storage(_) => false,
            HandleError::UnknownCall(_) | HandleError::NoAssignment => true,
            HandleError::Callback(e) => {
                use crate::routing::callback::CallbackError as E;
                matches!(e, E::Unknown(_) | E::NotYours | E::NoPhone(_))
            }
        }
    }
}

pub use crate::providers::Context;

/// The actions answering one event; on a call, what is said is rendered as audio at the
/// caller's speech rate.
pub async fn handle(state: AppState, event: InboundEvent, context: Context) -> Result<Vec<Action>, HandleError> {
    let call_sid = match &event {
        InboundEvent::CallStarted { call_sid, .. }
        | InboundEvent::KeysGathered { call_sid, .. }
        | InboundEvent::DialFinished { call_sid, .. }
        | InboundEvent::RecordingReady { call_sid, .. }
        | InboundEvent::VoiceFallback { call_sid, .. }
        | InboundEvent::CallbackAnswered { call_sid, .. }
        | InboundEvent::CallbackScreened { call_sid, .. } => Some(call_sid.clone()),
        _ => None,
    };
    let actions = act(&state, event, context).await?;
    match call_sid {
        Some(sid) => Ok(state.voice.speak(actions, voice::speech_rate(&state, &sid).await).await),
        None => Ok(actions),
    }
}

async fn act(state: &AppState, event: InboundEvent, context: Context) -> Result<Vec<Action>, HandleError> {
    let state = state.clone();
    let turn = context.turn;
    match event {
        InboundEvent::CallStarted { call_sid, from, to } => voice::call_started(&state, &call_sid, &from, &to).await,
        InboundEvent::KeysGathered { call_sid, digits, .. } => voice::keys(&state, &call_sid, &digits, turn).await,
        InboundEvent::DialFinished { call_sid, status } => voice::dial_finished(&state, &call_sid, status, turn).await,
        InboundEvent::CallStatusChanged {
            call_sid,
            status,
            duration_secs,
            from,
            to,
            direction,
        } => {
            let (from, to) = (from.as_deref(), to.as_deref());
            voice::status_changed(&state, &call_sid, status, duration_secs, from, to, direction).await
        }
        InboundEvent::VoiceFallback { call_sid, error_code } => {
            Ok(voice::fallback(&state, &call_sid, error_code.as_deref()))
        }
        InboundEvent::CallbackAnswered { leg, answered_by, .. } => {
            use crate::routing::callback::{answered, ended, CallbackError};
            // A stale or mistaken leg: whoever answered is told the callback is over.
            let Some(assignment) = context.assignment else {
                tracing::warn!("a callback leg without an assignment answered");
                return Ok(ended(&state));
            };
            match answered(&state, &assignment, leg, answered_by.as_deref()).await {
                Err(CallbackError::Unknown(id)) => {
                    tracing::warn!(assignment = %id, "a callback leg for an unknown assignment answered");
                    Ok(ended(&state))
                }
                done => Ok(done?),
            }
        }
        InboundEvent::CallbackScreened { answered_by, .. } => {
            let assignment = context.assignment.ok_or(HandleError::NoAssignment)?;
            Ok(crate::routing::callback::screened(&state, &assignment, &answered_by).await?)
        }
        InboundEvent::CallbackStatus { call_sid, leg, status } => {
            let assignment = context.assignment.ok_or(HandleError::NoAssignment)?;
            match crate::routing::callback::leg_status(&state, &assignment, leg, &call_sid, status).await {
                // A report about an assignment we do not have: acknowledged (a retry would
                // change nothing), not an outage.
                Err(crate::routing::callback::CallbackError::Unknown(id)) => {
                    tracing::warn!(assignment = %id, "status report for an unknown callback ignored");
                    Ok(Vec::new())
                }
                done => done.map(|_| Vec::new()).map_err(Into::into),
            }
        }
        InboundEvent::SmsReceived {
            message_sid,
            from,
            body,
            ..
        } => sms::received(&state, &message_sid, &from, &body).await,
        InboundEvent::SmsStatusChanged {
            message_sid,
            status,
            error_code,
        } => {
            sms::status_changed(
                &state,
                &message_sid,
                status,
                error_code.as_deref(),
                context.message.as_deref(),
            )
            .await
        }
        InboundEvent::RecordingReady {
            call_sid,
            recording_url,
            duration_secs,
            digits,
        } => {
            // Nothing was recorded (a key at once, silence): the turn goes on without audio.
            let recording = recording_url
                .map(|url| crate::ivr::Recording {
                    url,
                    secs: duration_secs.unwrap_or_default(),
                })
                .filter(|r| r.secs > 0);
            voice::recorded(&state, &call_sid, recording, digits, turn).await
        }
    }
}
