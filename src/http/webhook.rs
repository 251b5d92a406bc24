//! The provider-neutral side of a webhook request: the request as it arrived (the URL the
//! provider signed is the configured public URL plus this request's path and query, never the
//! Host header), and how a refusal is answered. Unsigned or forged requests get 403 and a log
//! line without the body; a well-signed but malformed one gets 400 or 415 saying what is wrong.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::providers::{Incoming, Refusal};

/// A webhook request, read whole (within the body limit).
#[derive(Debug)]
pub struct WebhookRequest {
    pub path: String,
    pub url: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl WebhookRequest {
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming {
            url: &self.url,
            query: self.query.as_deref(),
            headers: &self.headers,
            body: &self.body,
        }
    }
}

impl FromRequest<AppState> for WebhookRequest {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let path_and_query = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
        let url = format!(
            "{}{path_and_query}",
            state.settings.public_url.as_str().trim_end_matches('/')
        );
        let body = axum::body::to_bytes(body, super::BODY_LIMIT).await.map_err(|e| {
            (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the body could not be read: {e}\n"),
            )
                .into_response()
        })?;
        Ok(Self {
            path: parts.uri.path().to_owned(),
            url,
            query: parts.uri.query().map(str::to_owned),
            headers: parts.headers,
            body,
        })
    }
}

/// The answer to a refused webhook, counted and logged.
pub fn refuse(path: &str, refusal: &Refusal) -> Response {
    let status = match refusal {
        Refusal::Forged(_) => StatusCode::FORBIDDEN,
        Refusal::MediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        Refusal::Malformed(_) => StatusCode::BAD_REQUEST,
    };
    if let Refusal::Forged(_) = refusal {
        metrics::counter!(crate::meters::SIGNATURE_FAILURES).increment(1);
        tracing::warn!(
            path,
            "webhook refused: signature missing or wrong (is HOTLINE_PUBLIC_URL the URL the provider calls?)"
        );
    }
    metrics::counter!(crate::meters::WEBHOOKS_REJECTED, "status" => status.as_str().to_owned()).increment(1);
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{refusal}\n"),
    )
        .into_response()
}
