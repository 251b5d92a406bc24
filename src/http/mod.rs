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
mod security;
mod staff;
mod webhook;

use axum::routing::{get, post};
use axum::Router;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;

use crate::app::AppState;
use crate::providers::Route;

/// Provider webhooks are small forms; anything larger is refused before it is read.
const BODY_LIMIT: usize = 64 * 1024;

/// A body over the limit is refused by the limit layer before any extractor sees it: counted
/// here, with the other refusals, and told in the API's error shape on the API.
async fn count_too_large(request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    let webhook = !["/console", "/api/", "/audio/", "/healthz", "/readyz", "/metrics"]
        .iter()
        .any(|p| request.uri().path().starts_with(p));
    let api = request.uri().path().starts_with("/api/");
    let response = next.run(request).await;
    if response.status() != axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        return response;
    }
    if webhook {
        metrics::counter!(crate::meters::WEBHOOKS_REJECTED, "status" => "413").increment(1);
    }
    if api {
        // In the API's error shape, like every other refusal there.
        return axum::response::IntoResponse::into_response(api::ApiError::TooLarge(BODY_LIMIT / 1024));
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
    let mut router = Router::new();
    // Each provider's webhooks, at the paths it names, into the one pipeline.
    for wire in &state.wires {
        for (path, route) in wire.routes() {
            let wire = wire.clone();
            router = router.route(
                path,
                match route {
                    Route::Hook(kind) => post(move |state, request| answer::answer(state, wire, kind, request)),
                    Route::Resume => post(move |state, request| answer::resume(state, wire, request)),
                    Route::Continue => post(move |request| answer::continued(wire, request)),
                },
            );
        }
        for (path, route) in wire.media_routes() {
            router = router.route_service(path, route);
        }
    }
    router
        .merge(api::routes())
        .merge(console::routes())
        .route("/aliyun/sms/{secret}", post(aliyun::upstream_sms))
        .route("/aliyun/sms/report/{secret}", post(aliyun::reports))
        .route("/audio/{file}", get(audio::audio))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .fallback(nothing_here)
        .method_not_allowed_fallback(not_this_method)
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(state.clone(), durable))
        .layer(axum::middleware::from_fn(count_too_large))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            security::same_origin,
        ))
        .layer(axum::middleware::from_fn_with_state(state.clone(), security::headers))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// A path nothing serves: the API answers in its error shape, the console with its page, in
/// Chinese; anything else (a provider's mistyped webhook) a bare 404.
async fn nothing_here(uri: axum::http::Uri) -> axum::response::Response {
    use axum::response::IntoResponse;
    let path = uri.path();
    if path.starts_with("/api/") {
        api::ApiError::Desk(crate::desk::DeskError::NotFound(format!("没有这个接口：{path}"))).into_response()
    } else if path == "/console" || path.starts_with("/console/") {
        console::ConsoleError::Desk(crate::desk::DeskError::NotFound("没有这个页面".into())).into_response()
    } else {
        axum::http::StatusCode::NOT_FOUND.into_response()
    }
}

/// A method a served path does not take: in the API's error shape there.
async fn not_this_method(method: axum::http::Method, uri: axum::http::Uri) -> axum::response::Response {
    use axum::response::IntoResponse;
    if uri.path().starts_with("/api/") {
        api::ApiError::Method(method.to_string()).into_response()
    } else {
        axum::http::StatusCode::METHOD_NOT_ALLOWED.into_response()
    }
}
