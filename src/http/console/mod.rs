//! The duty lawyers' and supervisors' console: server-rendered pages (maud) under `/console`,
//! the sign-in page at `/login`. Forms post and redirect (they work without JavaScript); a small
//! script adds live updates of the queue by polling, the SMS segment counter and read-aloud.
//! Accessibility (WCAG 2.1 AA): landmarks and headings, a label on every control, keyboard-only
//! use with a visible focus, text size and high contrast that persist (cookies), no colour-only
//! signals; checked with axe-core in the browser test.

mod admin;
mod assets;
mod case;
mod desk;
mod layout;
mod login;
mod roster;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::html;

use crate::app::AppState;
use crate::desk::DeskError;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login::page).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/console", get(desk::page))
        .route(super::staff::LIVE_PATH, get(desk::live))
        .route("/console/duty", post(desk::duty))
        .route("/console/claim", post(desk::claim))
        .route("/console/offers/{assignment}/accept", post(desk::accept))
        .route("/console/offers/{assignment}/decline", post(desk::decline))
        .route("/console/cases/{ticket}", get(case::page))
        .route("/console/cases/{ticket}/notes", post(case::note))
        .route("/console/cases/{ticket}/close", post(case::close))
        .route("/console/cases/{ticket}/sms", post(case::reply))
        .route("/console/cases/{ticket}/call-back", post(case::call_back))
        .route("/console/cases/{ticket}/recordings/{id}", get(case::audio))
        .route("/console/segments", get(case::segments))
        .route("/console/roster", get(roster::page).post(roster::import))
        .route("/console/accounts", get(admin::accounts_page))
        .route("/console/accounts/sign-out", post(admin::sign_out))
        .route("/console/audit", get(admin::audit_page))
        .route("/console/prefs", post(login::prefs))
        .route("/console/assets/{file}", get(assets::asset))
}

#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error("请先登录")]
    SignIn,
    /// The session expired, was idle too long, or was signed out everywhere.
    #[error("登录已结束，请重新登录")]
    Ended,
    #[error("表单已过期，请刷新页面后重试")]
    Csrf,
    #[error("这个请求来自其他网站，已拒绝。请在热线工作台的页面上操作")]
    Origin,
    /// A form or query the page did not send (a field missing, one given twice).
    #[error("表单内容不完整或无法读取，请刷新页面后重试")]
    Form,
    #[error(transparent)]
    Desk(#[from] DeskError),
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let status = match &self {
            ConsoleError::SignIn => return Redirect::to("/login").into_response(),
            ConsoleError::Ended => return Redirect::to("/login?ended=1").into_response(),
            ConsoleError::Csrf | ConsoleError::Origin | ConsoleError::Desk(DeskError::Forbidden(_)) => {
                StatusCode::FORBIDDEN
            }
            ConsoleError::Desk(DeskError::NotFound(_)) => StatusCode::NOT_FOUND,
            ConsoleError::Desk(DeskError::Invalid(_)) | ConsoleError::Form => StatusCode::UNPROCESSABLE_ENTITY,
            ConsoleError::Desk(DeskError::Conflict(_)) => StatusCode::CONFLICT,
            ConsoleError::Desk(DeskError::Provider(_)) => StatusCode::BAD_GATEWAY,
            ConsoleError::Desk(_) => {
                tracing::error!(error = %self, "console request failed");
                StatusCode::SERVICE_UNAVAILABLE
            }
        };
        let message = match &self {
            ConsoleError::Desk(DeskError::Storage(_) | DeskError::Queue(_)) => "系统暂时不可用，请稍后再试".to_owned(),
            ConsoleError::Desk(DeskError::Provider(_)) => "电话服务商没有接受请求，请稍后再试".to_owned(),
            other => other.to_string(),
        };
        let title = if status == StatusCode::FORBIDDEN {
            "无权访问"
        } else {
            "无法完成"
        };
        let body = html! {
            p role="alert" { (message) }
            p { a href="/console" { "返回工作台" } }
        };
        (status, layout::bare(title, body)).into_response()
    }
}

/// Back to a page after a form, with a message for its status line. The message travels in the
/// URL with a tag keyed by the data key, so a link from anyone else cannot put words there.
fn done(state: &AppState, path: &str, message: &str) -> Redirect {
    let encoded: String = url::form_urlencoded::byte_serialize(message.as_bytes()).collect();
    Redirect::to(&format!("{path}?done={encoded}&tag={}", done_tag(state, message)))
}

fn done_tag(state: &AppState, message: &str) -> String {
    state.db.key().lookup_hash(&format!("console-done:{message}"))[..32].to_owned()
}

/// The status-line message of a page reached through [`done`]; one whose tag does not match
/// (a forged link) is not shown.
struct Done(Option<String>);

impl axum::extract::FromRequestParts<AppState> for Done {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let mut message = None;
        let mut tag = None;
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            match k.as_ref() {
                "done" => message = Some(v.into_owned()),
                "tag" => tag = Some(v.into_owned()),
                _ => {}
            }
        }
        let genuine = |m: &String| {
            tag.as_deref()
                .is_some_and(|t| crate::auth::secret::same(t, &done_tag(state, m)))
        };
        Ok(Done(message.filter(genuine)))
    }
}

/// A console form, refused in Chinese (422) when it is not the form the page sends.
struct ConsoleForm<T>(T);

impl<T: serde::de::DeserializeOwned> axum::extract::FromRequest<AppState> for ConsoleForm<T> {
    type Rejection = ConsoleError;

    async fn from_request(request: axum::extract::Request, state: &AppState) -> Result<Self, Self::Rejection> {
        match axum::Form::<T>::from_request(request, state).await {
            Ok(axum::Form(form)) => Ok(Self(form)),
            Err(e) => {
                tracing::info!(error = %e.body_text(), "console form refused");
                Err(ConsoleError::Form)
            }
        }
    }
}
