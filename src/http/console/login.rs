//! Signing in and out, and the display settings.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::html;
use serde::Deserialize;

use super::layout::{self, Page, Prefs, CONTRASTS, SIZES};
use super::ConsoleError;
use crate::app::AppState;
use crate::auth::login::{self, LoginError};
use crate::auth::secret;
use crate::http::staff::{cookie, set_cookie, ConsoleStaff, SESSION_COOKIE};

fn form(headers: &HeaderMap, error: Option<&str>, username: &str) -> maud::Markup {
    let body = html! {
        @if let Some(error) = error { p role="alert" class="status" { (error) } }
        form method="post" action="/login" {
            label for="username" { "用户名" }
            input id="username" name="username" type="text" autocomplete="username" required value=(username)
                aria-invalid=[error.map(|_| "true")];
            label for="password" { "密码" }
            input id="password" name="password" type="password" autocomplete="current-password" required
                aria-invalid=[error.map(|_| "true")];
            p { button type="submit" { "登录" } }
        }
    };
    layout::render(
        &Page {
            title: "登录",
            staff: None,
            csrf: "",
            current: "/login",
            prefs: Prefs::of(headers),
            done: None,
        },
        body,
    )
}

pub async fn page(headers: HeaderMap) -> maud::Markup {
    form(&headers, None, "")
}

#[derive(Deserialize)]
pub struct Credentials {
    username: String,
    password: String,
}

pub async fn submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(c): Form<Credentials>,
) -> Response {
    let staff = match login::check(&state, &c.username, &c.password, peer.ip()).await {
        Ok(staff) => staff,
        Err(e) => {
            let status = match e {
                LoginError::Wrong => StatusCode::UNAUTHORIZED,
                LoginError::TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
                LoginError::Storage(_) => StatusCode::SERVICE_UNAVAILABLE,
            };
            let message = match &e {
                LoginError::Storage(_) => "系统暂时不可用，请稍后再试".to_owned(),
                other => other.to_string(),
            };
            return (status, form(&headers, Some(&message), &c.username)).into_response();
        }
    };
    match login::start_session(&state, &staff).await {
        Ok((token, _csrf)) => {
            let max_age = state.settings.console.session_hours * 3600;
            (
                [(
                    header::SET_COOKIE,
                    set_cookie(&state, SESSION_COOKIE, &token, max_age, true),
                )],
                Redirect::to("/console"),
            )
                .into_response()
        }
        Err(e) => ConsoleError::Desk(e.into()).into_response(),
    }
}

#[derive(Deserialize)]
pub struct Csrf {
    csrf: String,
}

pub async fn logout(
    State(state): State<AppState>,
    who: ConsoleStaff,
    headers: HeaderMap,
    Form(form): Form<Csrf>,
) -> Result<Response, ConsoleError> {
    who.check(&form.csrf)?;
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        state
            .db
            .end_session(&secret::digest(&token))
            .await
            .map_err(|e| ConsoleError::Desk(e.into()))?;
    }
    Ok((
        [(header::SET_COOKIE, set_cookie(&state, SESSION_COOKIE, "", 0, true))],
        Redirect::to("/login"),
    )
        .into_response())
}

#[derive(Deserialize)]
pub struct PrefsForm {
    size: String,
    contrast: String,
}

/// Saves the display settings for a year and goes back to the page they were changed on.
pub async fn prefs(State(state): State<AppState>, headers: HeaderMap, Form(form): Form<PrefsForm>) -> Response {
    let year = 365 * 24 * 3600;
    let size = SIZES.iter().find(|(v, _)| *v == form.size).map_or("normal", |(v, _)| v);
    let contrast = CONTRASTS
        .iter()
        .find(|(v, _)| *v == form.contrast)
        .map_or("normal", |(v, _)| v);
    // Back to the same page on this site only.
    let back = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| url::Url::parse(r).ok())
        .map(|u| u.path().to_owned())
        .filter(|p| p.starts_with("/console") || p == "/login")
        .unwrap_or_else(|| "/console".to_owned());
    let mut response = Redirect::to(&back).into_response();
    for (name, value) in [("text_size", size), ("contrast", contrast)] {
        if let Ok(v) = set_cookie(&state, name, value, year, false).parse() {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}
