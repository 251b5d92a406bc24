//! Who is asking: the extractors that turn an API bearer token or a console session cookie into
//! the signed-in [`Staff`] account, and the cookie helpers.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};

use super::api::ApiError;
use super::console::ConsoleError;
use crate::app::AppState;
use crate::auth::{secret, Staff};

pub const SESSION_COOKIE: &str = "hotline_session";

/// The desk page's polling for queue changes, which does not keep a session alive.
pub const LIVE_PATH: &str = "/console/live";

/// A value of the request's `Cookie` header.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, Secure when the service is reached by https.
pub fn set_cookie(state: &AppState, name: &str, value: &str, max_age_secs: u64, http_only: bool) -> String {
    let secure = if state.settings.public_url.scheme() == "https" {
        "; Secure"
    } else {
        ""
    };
    let http_only = if http_only { "; HttpOnly" } else { "" };
    format!("{name}={value}; Path=/; Max-Age={max_age_secs}; SameSite=Strict{http_only}{secure}")
}

/// The account behind `Authorization: Bearer <token>` (tokens from `hotline user token` or
/// `POST /api/v1/tokens`).
pub struct ApiStaff(pub Staff);

impl FromRequestParts<AppState> for ApiStaff {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .filter(|t| !t.is_empty())
            .ok_or(ApiError::Unauthorized)?;
        let hash = secret::digest(token.trim());
        let desk_error = |e: crate::storage::StorageError| ApiError::Desk(e.into());
        let user = state
            .db
            .user_by_api_token(&hash)
            .await
            .map_err(desk_error)?
            .ok_or(ApiError::Unauthorized)?;
        // A token's use is audited once an hour: who used which token, not every request.
        let hour_ago = crate::storage::stamp(chrono::Utc::now() - chrono::Duration::hours(1));
        if state.db.token_used(&hash, &hour_ago).await.map_err(desk_error)? {
            let subject = crate::auth::login::token_subject(&hash);
            state
                .db
                .audit(&user.id, "token.use", &subject)
                .await
                .map_err(desk_error)?;
        }
        Ok(ApiStaff(user.into()))
    }
}

/// The account behind the console's session cookie, and the session's CSRF token (every form
/// that changes something carries it).
pub struct ConsoleStaff {
    pub staff: Staff,
    pub csrf: String,
}

impl ConsoleStaff {
    pub fn check(&self, csrf: &str) -> Result<(), ConsoleError> {
        if secret::same(&self.csrf, csrf) {
            Ok(())
        } else {
            Err(ConsoleError::Csrf)
        }
    }
}

impl FromRequestParts<AppState> for ConsoleStaff {
    type Rejection = ConsoleError;

    /// A session that expired or was idle too long sends the browser to sign in again, saying
    /// why. Every request but the desk's own polling counts as use.
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = cookie(&parts.headers, SESSION_COOKIE).ok_or(ConsoleError::SignIn)?;
        let hash = secret::digest(&token);
        let idle = chrono::Duration::minutes(state.settings.console.session_idle_mins as i64);
        let idle_since = crate::storage::stamp(chrono::Utc::now() - idle);
        let desk_error = |e: crate::storage::StorageError| ConsoleError::Desk(e.into());
        let (user, csrf) = state
            .db
            .session(&hash, &idle_since)
            .await
            .map_err(desk_error)?
            .ok_or(ConsoleError::Ended)?;
        if parts.uri.path() != LIVE_PATH {
            state.db.touch_session(&hash).await.map_err(desk_error)?;
        }
        Ok(ConsoleStaff {
            staff: user.into(),
            csrf,
        })
    }
}
