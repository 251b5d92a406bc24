//! `POST /aliyun/sms/<secret>`: Aliyun's upstream SMS push into the same SMS conversation as
//! Twilio's webhook; `POST /aliyun/sms/report/<secret>`: the delivery reports of texts sent
//! through Aliyun. Unsigned, so: the secret in the path (compared in constant time; a wrong
//! one gets 404, as if the route did not exist), and only addresses in `aliyun.allowed_ips`.
//! Each message is stored as a provider event once (Aliyun's `sequence_id`), so a redelivery
//! changes nothing; the answers go out through the messaging provider, since Aliyun's reply is
//! fixed. A report only moves a text's status forward, so a redelivered one changes nothing.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;

use crate::app::AppState;
use crate::domain::PhoneNumber;
use crate::notify;
use crate::providers::aliyun::{parse_push, parse_reports, PushError, UpstreamSms, RECEIVED};
use crate::providers::Action;
use crate::storage::events::{Claim, NewEvent};

const PROVIDER: &str = "aliyun";

/// The secret and the sender's address, or the refusal's status.
fn admitted(state: &AppState, secret: &str, peer: SocketAddr, headers: &HeaderMap) -> Result<(), StatusCode> {
    let configured = state.settings.aliyun.sms_secret.expose_secret().as_bytes();
    if configured.is_empty() || !bool::from(configured.ct_eq(secret.as_bytes())) {
        return Err(StatusCode::NOT_FOUND);
    }
    let forwarded = headers.get("x-forwarded-for").and_then(|v| v.to_str().ok());
    let sender = state.settings.aliyun.sender(peer.ip(), forwarded);
    if !state.settings.aliyun.allows(sender) {
        tracing::warn!(%sender, "Aliyun push from an address not in aliyun.allowed_ips refused");
        return Err(StatusCode::FORBIDDEN);
    }
    Ok(())
}

/// Why a push is refused.
enum Refused {
    /// A wrong secret (404) or sender (403).
    Status(StatusCode),
    Malformed(PushError),
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match self {
            Refused::Status(status) => status.into_response(),
            Refused::Malformed(e) => json(
                StatusCode::BAD_REQUEST,
                &serde_json::json!({"code": 1, "msg": e.to_string()}).to_string(),
            ),
        }
    }
}

/// The push's items, once its secret, sender and body are good.
fn admit<T>(
    state: &AppState,
    secret: &str,
    peer: SocketAddr,
    headers: &HeaderMap,
    body: &[u8],
    parse: fn(&[u8]) -> Result<Vec<T>, PushError>,
) -> Result<Vec<T>, Refused> {
    admitted(state, secret, peer, headers).map_err(Refused::Status)?;
    parse(body).map_err(Refused::Malformed)
}

/// What tells Aliyun to deliver the push again.
fn again(what: &str, e: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %e, "Aliyun {what} not processed; Aliyun will deliver it again");
    json(StatusCode::INTERNAL_SERVER_ERROR, r#"{"code":1,"msg":"稍后重试"}"#)
}

pub async fn reports(
    State(state): State<AppState>,
    Path(secret): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let reports = match admit(&state, &secret, peer, &headers, &body, parse_reports) {
        Ok(reports) => reports,
        Err(refused) => return refused.into_response(),
    };
    for r in &reports {
        let error = (!r.success).then_some(r.err_code.as_str());
        if let Err(e) = crate::inbound::sms::status_changed(&state, &r.biz_id, r.status(), error, None).await {
            return again("delivery report", &e);
        }
    }
    json(StatusCode::OK, RECEIVED)
}

pub async fn upstream_sms(
    State(state): State<AppState>,
    Path(secret): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let items = match admit(&state, &secret, peer, &headers, &body, parse_push) {
        Ok(items) => items,
        Err(refused) => return refused.into_response(),
    };
    for item in &items {
        if let Err(e) = receive(&state, item).await {
            return again("upstream SMS", &e);
        }
    }
    json(StatusCode::OK, RECEIVED)
}

async fn receive(state: &AppState, item: &UpstreamSms) -> Result<(), crate::inbound::HandleError> {
    let id = item.message_id();
    let payload = serde_json::json!({
        "phone_number": item.phone_number,
        "content": item.content,
        "send_time": item.send_time,
        "dest_code": item.dest_code,
        "sequence_id": item.sequence_id,
    });
    let lease = std::time::Duration::from_millis(state.settings.ivr.webhook_budget_ms) * 4;
    let event = NewEvent {
        dedup_key: &id,
        provider: PROVIDER,
        kind: "sms_incoming",
        subject_sid: &id,
        payload: &payload,
    };
    match state.db.claim_delivery(&event, None, lease).await? {
        Claim::Owner(_) => {}
        Claim::Answered(_) => return Ok(()),
        // Another push of the same message is being handled: its owner answers for it (and a
        // failing owner's own push is delivered again), so this copy is acknowledged.
        Claim::Busy => {
            tracing::info!("a copy of an Aliyun push already being handled: acknowledged");
            return Ok(());
        }
    }
    let result = handle(state, &id, item).await;
    match &result {
        Ok(()) => state.db.answer_delivery(&id, "processed", None, Vec::new()).await?,
        Err(_) => state.db.release_delivery(&id).await?,
    }
    result
}

async fn handle(state: &AppState, id: &str, item: &UpstreamSms) -> Result<(), crate::inbound::HandleError> {
    let answers = crate::inbound::sms::received(state, id, &item.phone_number, &item.content).await?;
    // Aliyun cannot carry an answer in its push's reply: the answers (already in the thread)
    // go out through the REST API.
    if let Ok(to) = PhoneNumber::parse(&item.phone_number) {
        for answer in answers {
            if let Action::Message {
                body,
                tracked: Some(id),
            } = answer
            {
                notify::deliver(state, &id, &to, &body).await?;
            }
        }
    }
    Ok(())
}

fn json(status: StatusCode, body: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body.to_owned(),
    )
        .into_response()
}
