//! A recording's audio as an HTTP answer, for the console's player and the JSON API alike: the
//! whole (200) or the byte range asked for (206), `Accept-Ranges: bytes`, and never cached
//! (it is personal data).

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::range::{self, Range};
use crate::desk::recording::Audio;

pub fn respond(audio: Audio, request: &HeaderMap) -> Response {
    let len = audio.bytes.len();
    let asked = request.get(header::RANGE).and_then(|v| v.to_str().ok());
    let (status, content_range, body) = match range::parse(asked, len) {
        Range::Whole => (StatusCode::OK, None, audio.bytes),
        Range::Part { start, end } => (
            StatusCode::PARTIAL_CONTENT,
            Some(format!("bytes {start}-{end}/{len}")),
            audio.bytes[start..=end].to_vec(),
        ),
        Range::Unsatisfiable => (
            StatusCode::RANGE_NOT_SATISFIABLE,
            Some(format!("bytes */{len}")),
            Vec::new(),
        ),
    };
    let mut response = (status, Body::from(body)).into_response();
    let headers = response.headers_mut();
    if status != StatusCode::RANGE_NOT_SATISFIABLE {
        if let Ok(t) = HeaderValue::from_str(&audio.content_type) {
            headers.insert(header::CONTENT_TYPE, t);
        }
    }
    if let Some(value) = content_range.and_then(|v| HeaderValue::from_str(&v).ok()) {
        headers.insert(header::CONTENT_RANGE, value);
    }
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}
