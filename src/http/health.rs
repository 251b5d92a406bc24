//! `/healthz` (the process is up), `/readyz` (the database takes a write and Redis answers, with
//! details, whether speech input is on and which voice speaks) and `/metrics` (Prometheus text format).

use std::time::Instant;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use crate::app::AppState;

pub async fn healthz() -> &'static str {
    "ok\n"
}

#[derive(Serialize)]
struct Check {
    ok: bool,
    latency_ms: u128,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Serialize)]
struct Readiness {
    ready: bool,
    database: Check,
    redis: Check,
    speech_input: SpeechInput,
    /// Which voice speaks the prompts.
    speech_output: String,
}

/// Speech input is optional: without a model the IVR is keypad-only, and still ready.
#[derive(Serialize)]
struct SpeechInput {
    enabled: bool,
    detail: String,
}

async fn check<E: std::fmt::Display>(probe: impl std::future::Future<Output = Result<(), E>>) -> Check {
    let started = Instant::now();
    let result = probe.await;
    Check {
        ok: result.is_ok(),
        latency_ms: started.elapsed().as_millis(),
        error: result.err().map(|e| e.to_string()),
    }
}

pub async fn readyz(State(state): State<AppState>) -> Response {
    let (database, redis) = tokio::join!(check(state.db.check_write()), check(state.kv.ping()));
    let ready = database.ok && redis.ok;
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let speech_input = match &state.asr {
        Some(crate::asr::Asr::Local(_)) => SpeechInput {
            enabled: true,
            detail: format!("Whisper model {}", state.settings.whisper.model),
        },
        Some(crate::asr::Asr::Remote(_)) => SpeechInput {
            enabled: true,
            detail: "recognised by hotline worker processes through Redis".into(),
        },
        None => SpeechInput {
            enabled: false,
            detail: "no Whisper model (whisper.model): keypad only".into(),
        },
    };
    let body = Readiness {
        ready,
        database,
        redis,
        speech_input,
        speech_output: state.voice.described().to_owned(),
    };
    (status, Json(body)).into_response()
}

pub async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        state.metrics.render(),
    )
        .into_response()
}
