//! `GET|HEAD /audio/<key>.wav`: rendered prompts for the provider to play. The content never
//! changes for a key (the key is a hash of what made it), so it is served with a strong ETag
//! and cached for a year.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::app::AppState;

pub async fn audio(State(state): State<AppState>, Path(file): Path<String>, headers: HeaderMap) -> Response {
    let Some(key) = file.strip_suffix(".wav") else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let etag = format!("\"{key}\"");
    let Some(bytes) = state.voice.audio(key).await else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let cache = (header::CACHE_CONTROL, "public, max-age=31536000, immutable");
    let not_modified = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if not_modified {
        return (
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, etag), (cache.0, cache.1.to_owned())],
        )
            .into_response();
    }
    (
        [
            (header::CONTENT_TYPE, "audio/wav".to_owned()),
            (header::CONTENT_LENGTH, bytes.len().to_string()),
            (header::ETAG, etag),
            (cache.0, cache.1.to_owned()),
        ],
        bytes,
    )
        .into_response()
}
