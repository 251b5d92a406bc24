//! One pipeline for every webhook: replay a remembered answer, store the delivery, handle the
//! event off the request task within a time budget, remember the answer.
//!
//! A voice turn always gets 200 and valid TwiML: when handling fails, panics or runs out of
//! time, the caller hears the apology and the configured fallback instead of the provider's
//! "application error". Other webhooks (status reports, SMS) get 503 on failure, which the
//! provider logs and may retry.

use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::app::{AppState, PROVIDER};
use crate::inbound;
use crate::ivr::script;
use crate::providers::twilio::{parse_event, twiml, WebhookKind};
use crate::providers::InboundEvent;
use crate::speech::SpeechRate;
use crate::storage::events::{Delivery, NewEvent};
use crate::storage::StorageError;

use super::webhook::{Rejection, SignedWebhook};

pub async fn answer(State(state): State<AppState>, kind: WebhookKind, hook: SignedWebhook) -> Response {
    let event = match parse_event(kind, &hook.params) {
        Ok(event) => event,
        Err(e) => return Rejection::Malformed(e).into_response(),
    };
    let failure = match deliver(&state, kind, &hook, event).await {
        Ok(xml) => return twiml_response(xml),
        Err(failure) => failure,
    };
    tracing::error!(kind = kind.as_str(), error = %failure, "webhook handling failed");
    metrics::counter!(crate::meters::WEBHOOKS, "kind" => kind.as_str(), "outcome" => "failed").increment(1);
    if is_voice_turn(kind) {
        twiml_response(fallback_twiml(&state).await)
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily unavailable, please retry\n",
        )
            .into_response()
    }
}

/// The answer to one delivery: the one given before, or the handler's.
async fn deliver(
    state: &AppState,
    kind: WebhookKind,
    hook: &SignedWebhook,
    event: InboundEvent,
) -> Result<String, String> {
    let replayed = |xml: String| {
        metrics::counter!(crate::meters::WEBHOOKS, "kind" => kind.as_str(), "outcome" => "replayed").increment(1);
        Ok(xml)
    };
    match state.kv.remembered_response(&hook.dedup_key).await {
        Ok(Some(xml)) => return replayed(xml),
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "redis unavailable for de-duplication; using SQL alone"),
    }
    // Nothing is acted on before it is stored; and when the database cannot store it, the
    // handler could not work either, so the caller hears the fallback without waiting twice.
    match store_delivery(state, kind, hook, &event).await {
        Ok(Delivery::Seen { response: Some(xml) }) => return replayed(xml),
        Ok(_) => {}
        Err(e) => return Err(format!("could not store the delivery: {e}")),
    }
    let budget = Duration::from_millis(state.settings.ivr.webhook_budget_ms);
    // Spawned, so a panic is caught as a JoinError and the work finishes even if the provider
    // hangs up on us.
    let work = tokio::spawn(inbound::handle(state.clone(), event, hook.context.clone()));
    match tokio::time::timeout(budget, work).await {
        Ok(Ok(Ok(actions))) => {
            let xml = twiml::render(&actions, &state.settings.public_url);
            remember(state, &hook.dedup_key, &xml).await;
            metrics::counter!(crate::meters::WEBHOOKS, "kind" => kind.as_str(), "outcome" => "ok").increment(1);
            Ok(xml)
        }
        Ok(Ok(Err(e))) => Err(e.to_string()),
        Ok(Err(join)) => Err(format!("handler panicked: {join}")),
        Err(_) => Err(format!("handler took longer than {budget:?}")),
    }
}

/// Turns where a caller is listening and must hear something.
fn is_voice_turn(kind: WebhookKind) -> bool {
    matches!(
        kind,
        WebhookKind::VoiceIncoming
            | WebhookKind::VoiceGather
            | WebhookKind::VoiceRecording
            | WebhookKind::VoiceDial
            | WebhookKind::VoiceFallback
            | WebhookKind::CallbackLawyer
            | WebhookKind::CallbackCaller
    )
}

/// The apology and fallback, built from configuration and the prompt audio on disk alone.
async fn fallback_twiml(state: &AppState) -> String {
    let f = &state.settings.fallback;
    let actions = script::fallback(&state.prompts, &f.human_number, &f.office_hours);
    let spoken = state.voice.speak(actions, SpeechRate::default()).await;
    twiml::render(&spoken, &state.settings.public_url)
}

/// Stores the delivery (raw form encrypted) once; a repeat finds the answer given before.
async fn store_delivery(
    state: &AppState,
    kind: WebhookKind,
    hook: &SignedWebhook,
    event: &InboundEvent,
) -> Result<Delivery, StorageError> {
    let payload = serde_json::Value::Object(
        hook.params
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect(),
    );
    state
        .db
        .record_event(&NewEvent {
            dedup_key: &hook.dedup_key,
            provider: PROVIDER,
            kind: kind.as_str(),
            subject_sid: subject_sid(event),
            payload: &payload,
        })
        .await
}

async fn remember(state: &AppState, dedup_key: &str, xml: &str) {
    if let Err(e) = state.db.set_event_response(dedup_key, xml).await {
        tracing::warn!(error = %e, "could not keep the webhook answer in SQL");
    }
    if let Err(e) = state
        .kv
        .remember_response(dedup_key, xml, state.settings.redis.dedup_ttl_secs)
        .await
    {
        tracing::warn!(error = %e, "could not keep the webhook answer in redis");
    }
}

fn subject_sid(event: &InboundEvent) -> &str {
    match event {
        InboundEvent::CallStarted { call_sid, .. }
        | InboundEvent::KeysGathered { call_sid, .. }
        | InboundEvent::RecordingReady { call_sid, .. }
        | InboundEvent::DialFinished { call_sid, .. }
        | InboundEvent::CallStatusChanged { call_sid, .. }
        | InboundEvent::VoiceFallback { call_sid, .. }
        | InboundEvent::CallbackAnswered { call_sid, .. }
        | InboundEvent::CallbackStatus { call_sid, .. } => call_sid,
        InboundEvent::SmsReceived { message_sid, .. } | InboundEvent::SmsStatusChanged { message_sid, .. } => {
            message_sid
        }
    }
}

fn twiml_response(xml: String) -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, twiml::CONTENT_TYPE)], xml).into_response()
}
