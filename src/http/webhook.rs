//! The `SignedWebhook` extractor: a provider webhook whose signature has been checked.
//!
//! The URL the provider signed is the configured public URL plus this request's path and query,
//! never the Host header (behind a proxy or tunnel they differ). Unsigned or forged requests
//! get 403 and a log line without the body; a well-signed but malformed form gets 400 with a
//! message saying what is wrong.

use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::app::AppState;
use crate::inbound::Context;
use crate::providers::twilio::webhook::parse_form;
use crate::providers::twilio::{WebhookError, SIGNATURE_HEADER};

#[derive(Debug)]
pub struct SignedWebhook {
    /// The decoded form, every field in order.
    pub params: Vec<(String, String)>,
    /// Identifies this delivery across retries: a hash of the signed URL and form, never a
    /// header a replay could change (see [`delivery_hash`]).
    pub dedup_key: String,
    /// What the signed URL's query says about the call.
    pub context: Context,
}

#[derive(Debug, thiserror::Error)]
pub enum Rejection {
    #[error("missing or invalid X-Twilio-Signature")]
    Forbidden,
    #[error("{0}")]
    Malformed(#[from] WebhookError),
    #[error("the body could not be read: {0}")]
    Body(String),
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let status = match &self {
            Rejection::Forbidden => StatusCode::FORBIDDEN,
            Rejection::Malformed(WebhookError::NotForm) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Rejection::Malformed(_) => StatusCode::BAD_REQUEST,
            Rejection::Body(_) => StatusCode::PAYLOAD_TOO_LARGE,
        };
        // A body over the limit is counted where every 413 is seen (http::count_too_large).
        if status != StatusCode::PAYLOAD_TOO_LARGE {
            metrics::counter!(crate::meters::WEBHOOKS_REJECTED, "status" => status.as_str().to_owned()).increment(1);
        }
        (
            status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("{self}\n"),
        )
            .into_response()
    }
}

impl FromRequest<AppState> for SignedWebhook {
    type Rejection = Rejection;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let path_and_query = parts.uri.path_and_query().map_or("/", |pq| pq.as_str()).to_owned();
        let header_str = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let is_form = header_str(header::CONTENT_TYPE.as_str())
            .is_some_and(|ct| ct.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"));
        let signature = header_str(SIGNATURE_HEADER);
        let bytes = axum::body::to_bytes(body, super::BODY_LIMIT)
            .await
            .map_err(|e| Rejection::Body(e.to_string()))?;

        let url = crate::providers::twilio::twiml::absolute(&state.settings.public_url, &path_and_query);
        // Verify over the leniently decoded form (as the provider's own libraries do), so a
        // body we would refuse as malformed is still told apart from a forged one.
        let lenient: Vec<(String, String)> = form_urlencoded::parse(&bytes).into_owned().collect();
        let signed = signature
            .as_deref()
            .is_some_and(|sig| state.validator.validate_form(&url, &lenient, sig));
        if !signed {
            metrics::counter!(crate::meters::SIGNATURE_FAILURES).increment(1);
            tracing::warn!(
                path = %parts.uri.path(),
                has_signature = signature.is_some(),
                "webhook refused: signature missing or wrong (is HOTLINE_PUBLIC_URL the URL the provider calls?)"
            );
            return Err(Rejection::Forbidden);
        }
        if !is_form {
            return Err(WebhookError::NotForm.into());
        }
        let params = parse_form(&bytes)?;
        let query = |name: &str| {
            parts
                .uri
                .query()
                .and_then(|q| form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == name))
                .map(|(_, v)| v.into_owned())
        };
        let context = Context {
            // A turn that does not parse is taken as the first: stale for a call past it, so it
            // changes nothing.
            turn: query("turn").map_or(0, |v| v.parse::<u32>().ok().filter(|t| *t > 0).unwrap_or(1)),
            assignment: query("a").filter(|a| a.len() <= 64 && a.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')),
            message: query("m").filter(|m| m.len() <= 64 && m.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')),
            delivery: query("d")
                .filter(|d| d.len() <= 100 && d.bytes().all(|b| b.is_ascii_alphanumeric() || b":-_".contains(&b))),
        };
        // Twilio's I-Twilio-Idempotency-Token is the same on every retry of a delivery, but a
        // replay can carry any token: the signed content alone says which delivery this is.
        let dedup_key = format!("sha:{}", delivery_hash(&url, &lenient));
        Ok(Self {
            params,
            dedup_key,
            context,
        })
    }
}

/// Identifies a delivery: the signed URL (IVR action URLs carry
/// the turn number) and the parameters in sorted order.
fn delivery_hash(url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut hasher = Sha256::new();
    hasher.update(url.as_bytes());
    for (k, v) in sorted {
        hasher.update([0]);
        hasher.update(k.as_bytes());
        hasher.update([0]);
        hasher.update(v.as_bytes());
    }
    hex::encode(hasher.finalize())
}
