//! What the service does with each provider event: runs the IVR against storage and Redis,
//! threads SMS into consultations, and sends the texts that go with them.

pub mod notify;
pub mod sms;
pub mod voice;

use crate::app::AppState;
use crate::providers::{Action, InboundEvent};

#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
    #[error("call {0} is not on record (its first webhook was not stored)")]
    UnknownCall(String),
}

/// The actions answering one event; on a call, what is said is rendered as audio at the
/// caller's speech rate.
pub async fn handle(state: AppState, event: InboundEvent, turn: u32) -> Result<Vec<Action>, HandleError> {
    let call_sid = match &event {
        InboundEvent::CallStarted { call_sid, .. }
        | InboundEvent::KeysGathered { call_sid, .. }
        | InboundEvent::DialFinished { call_sid, .. }
        | InboundEvent::RecordingReady { call_sid, .. }
        | InboundEvent::VoiceFallback { call_sid, .. } => Some(call_sid.clone()),
        _ => None,
    };
    let actions = act(&state, event, turn).await?;
    match call_sid {
        Some(sid) => Ok(state.voice.speak(actions, voice::speech_rate(&state, &sid).await).await),
        None => Ok(actions),
    }
}

async fn act(state: &AppState, event: InboundEvent, turn: u32) -> Result<Vec<Action>, HandleError> {
    let state = state.clone();
    match event {
        InboundEvent::CallStarted { call_sid, from, to } => voice::call_started(&state, &call_sid, &from, &to).await,
        InboundEvent::KeysGathered { call_sid, digits, .. } => voice::keys(&state, &call_sid, &digits, turn).await,
        InboundEvent::DialFinished { call_sid, status } => voice::dial_finished(&state, &call_sid, status, turn).await,
        InboundEvent::CallStatusChanged {
            call_sid,
            status,
            duration_secs,
        } => voice::status_changed(&state, &call_sid, status, duration_secs).await,
        InboundEvent::VoiceFallback { call_sid, error_code } => {
            Ok(voice::fallback(&state, &call_sid, error_code.as_deref()))
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
        } => sms::status_changed(&state, &message_sid, status, error_code.as_deref()).await,
        InboundEvent::RecordingReady {
            call_sid,
            recording_url,
            duration_secs,
            digits,
        } => {
            let recording = crate::ivr::Recording {
                url: recording_url,
                secs: duration_secs.unwrap_or_default(),
            };
            voice::recorded(&state, &call_sid, recording, digits, turn).await
        }
    }
}
