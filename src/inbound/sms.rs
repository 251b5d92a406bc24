//! Inbound SMS: every message is stored and threaded into the sender's open consultation, or
//! opens one (queued for a lawyer) and is answered with its ticket number.

use crate::app::AppState;
use crate::domain::{Channel, PhoneNumber};
use crate::ivr::prompts::fill;
use crate::providers::{Action, MessageStatus};
use crate::routing::queue::Waiting;
use crate::routing::CallbackQueue;
use crate::storage::consultations::NewConsultation;
use crate::storage::messages::NewMessage;

use super::HandleError;

pub async fn received(state: &AppState, message_sid: &str, from: &str, body: &str) -> Result<Vec<Action>, HandleError> {
    let Ok(phone) = PhoneNumber::parse(from) else {
        tracing::warn!(message_sid, "text from a sender that is not a phone number ignored");
        return Ok(Vec::new());
    };
    let caller_id = state.db.upsert_caller(&phone).await?;
    let (consultation, created) = state
        .db
        .consultation_for(&NewConsultation {
            origin_key: &format!("sms:{message_sid}"),
            caller_id: &caller_id,
            call_sid: None,
            channel: Channel::Sms,
        })
        .await?;
    state
        .db
        .insert_message(&NewMessage {
            provider_sid: Some(message_sid),
            inbound: true,
            caller_id: &caller_id,
            consultation_id: Some(&consultation.id),
            body,
            status: MessageStatus::Received,
        })
        .await?;
    if !created {
        return Ok(Vec::new());
    }
    if let Err(e) = CallbackQueue::new(&state.kv).enqueue(&Waiting::of(&consultation)).await {
        tracing::warn!(error = %e, "consultation saved but not queued yet; the reconciler will queue it");
    }
    Ok(vec![Action::Message {
        body: fill(&state.prompts.sms_received, &[("ticket", consultation.ticket.as_str())]),
    }])
}

pub async fn status_changed(
    state: &AppState,
    message_sid: &str,
    status: MessageStatus,
    error_code: Option<&str>,
) -> Result<Vec<Action>, HandleError> {
    if !state.db.update_message_status(message_sid, status, error_code).await? {
        tracing::info!(message_sid, "delivery report for a message not on record");
    }
    Ok(Vec::new())
}
