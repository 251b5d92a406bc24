//! Signing in and out, and the display settings.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

use super::layout::{self, Page, Prefs, CONTRASTS, SIZES};
use super::{done, ConsoleError, ConsoleForm};
use crate::app::AppState;
use crate::auth::login::{self, LoginError};
use crate::auth::{device, secret};
use crate::http::staff::{cookie, set_cookie, ConsoleStaff, SESSION_COOKIE};

/// The cookie that carries the sign-in form's CSRF token (the form carries it too): a page of
/// another site cannot post the form, so it cannot sign a victim into the attacker's account.
const LOGIN_COOKIE: &str = "hotline_login";
/// How long a sign-in form stays usable.
const LOGIN_FORM_SECS: u64 = 3600;

/// What the sign-in page says above the form.
#[derive(Clone, Copy)]
enum Said<'a> {
    Nothing,
    /// Why the person has to sign in again.
    Notice(&'a str),
    /// What was wrong with the last attempt (the fields are marked invalid).
    Error(&'a str),
}

/// The sign-in form with a fresh CSRF token, in its cookie too.
fn form(state: &AppState, headers: &HeaderMap, status: StatusCode, said: Said<'_>, username: &str) -> Response {
    let csrf = secret::new_secret();
    let error = match said {
        Said::Error(e) => Some(e),
        Said::Nothing | Said::Notice(_) => None,
    };
    let body = html! {
        @if let Said::Notice(notice) = said { p role="status" class="status" { (notice) } }
        @if let Some(error) = error { p role="alert" class="status" { (error) } }
        form method="post" action="/login" {
            input type="hidden" name="csrf" value=(csrf);
            label for="username" { "用户名" }
            input id="username" name="username" type="text" autocomplete="username" required value=(username)
                aria-invalid=[error.map(|_| "true")];
            label for="password" { "密码" }
            input id="password" name="password" type="password" autocomplete="current-password" required
                aria-invalid=[error.map(|_| "true")];
            label for="code" { "两步验证码（仅开启了两步验证的账户填写）" }
            input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code"
                pattern="[0-9 ]{6,7}" aria-describedby="code-hint";
            p id="code-hint" class="hint" { "验证器应用中当前显示的 6 位数字。" }
            p { button type="submit" { "登录" } }
        }
    };
    let page = layout::render(
        &Page {
            title: "登录",
            staff: None,
            csrf: "",
            current: "/login",
            prefs: Prefs::of(headers),
            done: None,
        },
        body,
    );
    let cookie = set_cookie(state, LOGIN_COOKIE, &csrf, LOGIN_FORM_SECS, true);
    (status, [(header::SET_COOKIE, cookie)], page).into_response()
}

#[derive(Deserialize)]
pub struct Why {
    /// Set when a session ended by itself (expired, idle, or signed out everywhere).
    ended: Option<String>,
}

pub async fn page(State(state): State<AppState>, headers: HeaderMap, Query(why): Query<Why>) -> Response {
    let said = if why.ended.is_some() {
        Said::Notice(ENDED)
    } else {
        Said::Nothing
    };
    form(&state, &headers, StatusCode::OK, said, "")
}

/// Said on the sign-in page after a session ended without the person signing out.
const ENDED: &str = "您的登录已结束（长时间未操作、超过有效期，或管理员已让此账户在所有地方退出）。请重新登录。";

#[derive(Deserialize)]
pub struct Credentials {
    username: String,
    password: String,
    /// The second factor's code, for accounts that have one.
    #[serde(default)]
    code: String,
    #[serde(default)]
    csrf: String,
}

pub async fn submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ConsoleForm(c): ConsoleForm<Credentials>,
) -> Response {
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if !secret::same(&expected, &c.csrf) {
        tracing::warn!(ip = %peer.ip(), "login refused: the form's CSRF token does not match");
        let message = "登录页面已过期，请重新输入用户名和密码";
        return form(
            &state,
            &headers,
            StatusCode::FORBIDDEN,
            Said::Error(message),
            &c.username,
        );
    }
    let device = cookie(&headers, device::COOKIE);
    let attempt = login::Attempt {
        username: &c.username,
        password: &c.password,
        code: Some(c.code.as_str()).filter(|code| !code.trim().is_empty()),
    };
    let signed = match login::check(&state, &attempt, peer.ip(), device.as_deref()).await {
        Ok(signed) => signed,
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
            let mut response = form(&state, &headers, status, Said::Error(&message), &c.username);
            if let LoginError::TooMany(secs) = e {
                response.headers_mut().insert(header::RETRY_AFTER, secs.into());
            }
            return response;
        }
    };
    match login::start_session(&state, &signed.staff).await {
        Ok((token, _csrf)) => {
            let max_age = state.settings.console.session_hours * 3600;
            // Failed attempts since the last sign-in are shown on the desk's status line.
            let mut response = match signed.failures_since {
                0 => Redirect::to("/console").into_response(),
                n => done(
                    &state,
                    "/console",
                    &format!("提醒：自您上次登录以来，有人用您的用户名登录失败 {n} 次。如果不是您本人，请告知管理员。"),
                )
                .into_response(),
            };
            let device = device::issue(state.db.key(), &signed.staff.username);
            for cookie in [
                set_cookie(&state, SESSION_COOKIE, &token, max_age, true),
                set_cookie(&state, LOGIN_COOKIE, "", 0, true),
                set_cookie(&state, device::COOKIE, &device, device::MAX_AGE_SECS, true),
            ] {
                if let Ok(value) = cookie.parse() {
                    response.headers_mut().append(header::SET_COOKIE, value);
                }
            }
            response
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
    ConsoleForm(form): ConsoleForm<Csrf>,
) -> Result<Response, ConsoleError> {
    who.check(&form.csrf)?;
    let desk_error = |e: crate::storage::StorageError| ConsoleError::Desk(e.into());
    state
        .db
        .audit(&who.staff.id, "logout", &who.staff.id)
        .await
        .map_err(desk_error)?;
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        state
            .db
            .end_session(&secret::digest(&token))
            .await
            .map_err(desk_error)?;
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
pub async fn prefs(
    State(state): State<AppState>,
    headers: HeaderMap,
    ConsoleForm(form): ConsoleForm<PrefsForm>,
) -> Response {
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
