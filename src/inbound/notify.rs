//! Outbound texts: stored first (so a failure is visible), then sent through the provider's
//! REST API with a status callback, off the webhook's time budget.

use crate::app::AppState;
use crate::domain::PhoneNumber;
use crate::providers::twilio::{twiml, SmsRequest};
use crate::providers::MessageStatus;
use crate::storage::messages::NewMessage;

pub fn send_in_background(state: AppState, caller_id: String, consultation_id: String, to: PhoneNumber, body: String) {
    tokio::spawn(async move {
        if let Err(e) = send(&state, &caller_id, &consultation_id, &to, &body).await {
            tracing::warn!(error = %e, to = %to.redacted(), "text message not sent");
        }
    });
}

async fn send(
    state: &AppState,
    caller_id: &str,
    consultation_id: &str,
    to: &PhoneNumber,
    body: &str,
) -> Result<(), crate::storage::StorageError> {
    let id = state
        .db
        .insert_message(&NewMessage {
            provider_sid: None,
            inbound: false,
            caller_id,
            consultation_id: Some(consultation_id),
            body,
            status: MessageStatus::Unknown,
        })
        .await?
        .expect("a message without a provider id cannot be a duplicate");
    let request = SmsRequest {
        to: to.e164().to_owned(),
        from: state.settings.hotline_number.clone(),
        body: body.to_owned(),
        status_callback: Some(twiml::absolute(&state.settings.public_url, "/twilio/sms/status")),
    };
    match state.rest.send_sms(&request).await {
        Ok(created) => state.db.set_message_sent(&id, &created.sid).await,
        Err(e) => {
            tracing::warn!(error = %e, transient = e.is_transient(), "provider did not take the text message");
            state.db.set_message_failed(&id, &e.to_string()).await
        }
    }
}
