//! The HTTP edge (axum): provider webhooks, prompt audio, the console and JSON API, health and
//! metrics. Every route is
//! listed here.

mod aliyun;
mod answer;
mod api;
mod audio;
mod console;
mod health;
mod range;
mod recording;
mod staff;
mod webhook;

use axum::routing::{get, post};
use axum::Router;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;

use crate::app::AppState;
use crate::providers::twilio::WebhookKind;

pub use webhook::SignedWebhook;

/// Provider webhooks are small forms; anything larger is refused before it is read.
const BODY_LIMIT: usize = 64 * 1024;

/// A body over the limit is refused by the limit layer before any extractor sees it: counted
/// here, with the other refusals.
async fn count_too_large(request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    let webhook = ["/twilio/", "/aliyun/"]
        .iter()
        .any(|p| request.uri().path().starts_with(p));
    let response = next.run(request).await;
    if webhook && response.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        metrics::counter!(crate::meters::WEBHOOKS_REJECTED, "status" => "413").increment(1);
    }
    response
}

/// A request that may have written is answered only once its writes are on disk (SQLite's
/// group commit, see [`crate::storage::durable`]).
async fn durable(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let writes = !matches!(*request.method(), axum::http::Method::GET | axum::http::Method::HEAD);
    let response = next.run(request).await;
    if writes {
        if let Err(e) = state.db.flush().await {
            tracing::error!(error = %e, "a request's writes may not be on disk");
            metrics::counter!(crate::meters::FLUSH_FAILURES).increment(1);
        }
    }
    response
}

pub fn router(state: AppState) -> Router {
    let hook = |kind: WebhookKind| post(move |state, hook: SignedWebhook| answer::answer(state, kind, hook));
    Router::new()
        .route("/twilio/voice", hook(WebhookKind::VoiceIncoming))
        .route("/twilio/voice/menu", hook(WebhookKind::VoiceGather))
        .route("/twilio/voice/recording", hook(WebhookKind::VoiceRecording))
        .route("/twilio/voice/dial", hook(WebhookKind::VoiceDial))
        .route("/twilio/voice/status", hook(WebhookKind::VoiceStatus))
        .route("/twilio/voice/fallback", hook(WebhookKind::VoiceFallback))
        .route("/twilio/voice/resume", post(answer::resume))
        .route("/twilio/callback/lawyer", hook(WebhookKind::CallbackLawyer))
        .route(
            "/twilio/callback/lawyer/status",
            hook(WebhookKind::CallbackLawyerStatus),
        )
        .route("/twilio/callback/caller", hook(WebhookKind::CallbackCaller))
        .route(
            "/twilio/callback/caller/status",
            hook(WebhookKind::CallbackCallerStatus),
        )
        .route("/twilio/sms", hook(WebhookKind::SmsIncoming))
        .route("/twilio/sms/status", hook(WebhookKind::SmsStatus))
        .merge(api::routes())
        .merge(console::routes())
        .route("/aliyun/sms/{secret}", post(aliyun::upstream_sms))
        .route("/audio/{file}", get(audio::audio))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(state.clone(), durable))
        .layer(axum::middleware::from_fn(count_too_large))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
