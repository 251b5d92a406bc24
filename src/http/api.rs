//! The JSON API under `/api/v1`, for now the SMS thread of a consultation: read it, count a
//! reply's segments before sending, reply as a lawyer. Every request needs
//! `Authorization: Bearer <api.token>` (a service token until lawyers' own accounts arrive with
//! the console); every error has one shape: `{"error": {"code": "…", "message": "…"}}`.

use axum::extract::{Path, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::app::AppState;
use crate::domain::Ticket;
use crate::inbound::notify::{self, NotifyError};
use crate::inbound::sms::SIGNATURE;
use crate::storage::consultations::Consultation;
use crate::storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("a valid Authorization: Bearer token is required")]
    Unauthorized,
    #[error("no consultation with ticket {0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotSent(NotifyError),
    #[error("the database is unavailable")]
    Storage(#[from] StorageError),
}

#[derive(Serialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Serialize)]
struct ErrorDetail {
    code: &'static str,
    message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            ApiError::NotSent(_) => (StatusCode::CONFLICT, "not_sent"),
            ApiError::Storage(e) => {
                tracing::error!(error = %e, "API request failed");
                (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
            }
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code,
                message: self.to_string(),
            },
        };
        (status, Json(body)).into_response()
    }
}

pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/api/v1/sms/segments", post(segments))
        .route("/api/v1/consultations/{ticket}/messages", get(thread).post(reply))
        .route_layer(axum::middleware::from_fn_with_state(state, authorise))
}

async fn authorise(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let token = state.settings.api.token.expose_secret().as_bytes();
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .as_bytes();
    if token.is_empty() || !bool::from(token.ct_eq(given)) {
        return ApiError::Unauthorized.into_response();
    }
    next.run(request).await
}

#[derive(Deserialize)]
struct Text {
    text: String,
}

#[derive(Serialize)]
struct Segments {
    encoding: &'static str,
    /// Separate messages the text is sent as (numbered when more than one).
    parts: usize,
    /// SMS segments over all parts.
    segments: usize,
}

fn text_of(body: Result<Json<Text>, axum::extract::rejection::JsonRejection>) -> Result<String, ApiError> {
    let Json(Text { text }) = body.map_err(|e| ApiError::Invalid(e.body_text()))?;
    let text = text.trim().to_owned();
    if text.is_empty() || text.chars().count() > 1000 {
        return Err(ApiError::Invalid("text must be 1 to 1000 characters".into()));
    }
    Ok(text)
}

/// What a reply would cost, before it is sent.
async fn segments(
    body: Result<Json<Text>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Segments>, ApiError> {
    let text = text_of(body)?;
    let parts = crate::sms::split(&text, SIGNATURE);
    Ok(Json(Segments {
        encoding: encoding_of(&text),
        parts: parts.len(),
        segments: parts.iter().map(|p| crate::sms::count(p).segments).sum(),
    }))
}

fn encoding_of(text: &str) -> &'static str {
    match crate::sms::count(&format!("{SIGNATURE}{text}")).encoding {
        crate::sms::Encoding::Gsm7 => "gsm7",
        crate::sms::Encoding::Ucs2 => "ucs2",
    }
}

async fn consultation(state: &AppState, ticket: &str) -> Result<Consultation, ApiError> {
    let not_found = || ApiError::NotFound(ticket.to_owned());
    let parsed = Ticket::parse(ticket).map_err(|_| not_found())?;
    state.db.consultation_by_ticket(&parsed).await?.ok_or_else(not_found)
}

#[derive(Serialize)]
struct Message {
    id: String,
    direction: String,
    body: String,
    status: String,
    error_code: Option<String>,
}

async fn thread(State(state): State<AppState>, Path(ticket): Path<String>) -> Result<Json<Vec<Message>>, ApiError> {
    let c = consultation(&state, &ticket).await?;
    tracing::info!(consultation = %c.id, "SMS thread read through the API");
    let messages = state.db.messages_of(&c.id).await?;
    Ok(Json(
        messages
            .into_iter()
            .map(|m| Message {
                id: m.id,
                direction: m.direction,
                body: m.body,
                status: m.status,
                error_code: m.error_code,
            })
            .collect(),
    ))
}

async fn reply(
    State(state): State<AppState>,
    Path(ticket): Path<String>,
    body: Result<Json<Text>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Segments>), ApiError> {
    let text = text_of(body)?;
    let c = consultation(&state, &ticket).await?;
    let sent = notify::lawyer_reply(&state, &c.id, &text).await.map_err(|e| match e {
        NotifyError::Storage(e) => ApiError::Storage(e),
        other => ApiError::NotSent(other),
    })?;
    tracing::info!(consultation = %c.id, parts = sent.parts, "lawyer's SMS reply sent through the API");
    Ok((
        StatusCode::CREATED,
        Json(Segments {
            encoding: encoding_of(&text),
            parts: sent.parts,
            segments: sent.segments,
        }),
    ))
}
