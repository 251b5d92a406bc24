//! Outbound texts: stored first (so a failure is visible), then sent through the provider's
//! REST API with a status callback, retried on transient failures.
//!
//! Automatic texts (tickets, assessments, "a lawyer has your case") are not sent to someone who
//! opted out (退订) and are limited per number; a lawyer's reply always goes, split at sentence
//! ends into numbered parts when it is long.

use std::time::Duration;

use crate::app::AppState;
use crate::domain::PhoneNumber;
use crate::prompts::fill;
use crate::providers::{MessageStatus, OutboundSms, ProviderError};
use crate::storage::consultations::Consultation;
use crate::storage::StorageError;

use crate::sms::SIGNATURE;

/// Waits before the second and third try of a send that failed transiently.
const RETRY_AFTER: [Duration; 2] = [Duration::from_millis(500), Duration::from_secs(2)];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sender {
    /// The service: respects opt-out and the rate limit.
    Automatic,
    /// A lawyer replying in an open case: always sent.
    Lawyer,
}

/// What was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    /// Separate messages (a long reply is split).
    pub parts: usize,
    /// SMS segments billed, over all parts.
    pub segments: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("not sent: the person opted out of automatic messages")]
    OptedOut,
    #[error("not sent: too many automatic messages to this number this hour")]
    RateLimited,
    #[error("no phone number on record for the consultation")]
    NoPhone,
}

/// An automatic text, sent off the webhook's time budget.
pub fn send_in_background(state: AppState, caller_id: String, consultation_id: String, to: PhoneNumber, body: String) {
    state.clone().tasks.spawn(async move {
        match send(&state, &caller_id, &consultation_id, &to, &body, Sender::Automatic).await {
            Ok(_) => {}
            Err(e @ (NotifyError::OptedOut | NotifyError::RateLimited)) => {
                tracing::info!(reason = %e, to = %to.redacted(), "automatic text skipped")
            }
            Err(e) => tracing::warn!(error = %e, to = %to.redacted(), "text message not sent"),
        }
    });
}

/// An automatic text about a consultation — `template` with its ticket filled in — to the
/// person's mobile, sent in the background; nothing for a landline or without a provider.
pub async fn tell_person(state: &AppState, c: &Consultation, template: &str) -> Result<(), StorageError> {
    let phone = state
        .db
        .caller_phone(&c.caller_id)
        .await?
        .and_then(|p| PhoneNumber::parse(&p).ok())
        .filter(PhoneNumber::is_mobile);
    if let (Some(phone), true) = (phone, state.messaging.is_configured()) {
        let text = fill(template, &[("ticket", c.ticket.as_str())]);
        send_in_background(state.clone(), c.caller_id.clone(), c.id.clone(), phone, text);
    }
    Ok(())
}

/// A lawyer's reply in a consultation's thread, from the hotline number.
pub async fn lawyer_reply(state: &AppState, consultation_id: &str, body: &str) -> Result<Sent, NotifyError> {
    let c = state
        .db
        .consultation_by_id(consultation_id)
        .await?
        .ok_or(NotifyError::NoPhone)?;
    let to = state
        .db
        .caller_phone(&c.caller_id)
        .await?
        .and_then(|p| PhoneNumber::parse(&p).ok())
        .ok_or(NotifyError::NoPhone)?;
    send(state, &c.caller_id, &c.id, &to, body, Sender::Lawyer).await
}

pub async fn send(
    state: &AppState,
    caller_id: &str,
    consultation_id: &str,
    to: &PhoneNumber,
    body: &str,
    sender: Sender,
) -> Result<Sent, NotifyError> {
    if sender == Sender::Automatic {
        if state.db.is_opted_out(caller_id).await? {
            return Err(NotifyError::OptedOut);
        }
        let sent = state.kv.count_in_window("smsout", caller_id, 3600).await.unwrap_or(0);
        if sent > state.settings.sms.automatic_per_hour {
            return Err(NotifyError::RateLimited);
        }
    }
    let text = body.strip_prefix(SIGNATURE).unwrap_or(body);
    let parts = crate::sms::split(text, SIGNATURE);
    let segments = parts.iter().map(|p| crate::sms::count(p).segments).sum();
    for part in &parts {
        send_one(state, caller_id, consultation_id, to, part).await?;
    }
    Ok(Sent {
        parts: parts.len(),
        segments,
    })
}

async fn send_one(
    state: &AppState,
    caller_id: &str,
    consultation_id: &str,
    to: &PhoneNumber,
    body: &str,
) -> Result<(), StorageError> {
    let id = state
        .db
        .insert_outbound(caller_id, consultation_id, body, MessageStatus::Unknown)
        .await?;
    deliver(state, &id, to, body).await
}

/// Sends a message already stored in the thread (as `id`) through the provider, with delivery
/// reports, retried on transient failures; the outcome is recorded on the message.
pub async fn deliver(state: &AppState, id: &str, to: &PhoneNumber, body: &str) -> Result<(), StorageError> {
    let sms = OutboundSms {
        to: to.e164(),
        from: &state.settings.hotline_number,
        body,
    };
    let mut waits = RETRY_AFTER.iter();
    loop {
        match state.messaging.send_sms(&sms).await {
            Ok(sid) => return state.db.set_message_sent(id, &sid).await,
            Err(e) => match waits.next() {
                Some(wait) if e.is_transient() => {
                    tracing::info!(error = %e, "provider did not take the text message; trying again");
                    tokio::time::sleep(*wait).await;
                }
                _ => {
                    log_refusal(&e);
                    return state.db.set_message_failed(id, &e.to_string()).await;
                }
            },
        }
    }
}

fn log_refusal(e: &ProviderError) {
    tracing::warn!(error = %e, transient = e.is_transient(), "provider did not take the text message");
}
