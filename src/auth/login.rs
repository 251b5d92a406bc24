//! Signing in with a username and password, for the console (a session) and the API (a token).

use std::net::IpAddr;

use super::limit::LoginLimit;
use super::{password, secret, Staff};
use crate::app::AppState;
use crate::storage::{Db, StorageError};

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("用户名或密码不正确")]
    Wrong,
    #[error("登录失败次数过多，请 {0} 分钟后再试")]
    TooMany(u64),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Checks the password (argon2 off the async runtime), counting failures against the limit.
pub async fn check(state: &AppState, username: &str, given: &str, ip: IpAddr) -> Result<Staff, LoginError> {
    let username = username.trim().to_ascii_lowercase();
    let limit = LoginLimit::new(&state.kv, &state.settings.console);
    if limit.blocked(&username, ip).await {
        tracing::warn!(%ip, "login refused: too many failed attempts");
        return Err(LoginError::TooMany(state.settings.console.login_window_mins));
    }
    let user = state.db.user_by_username(&username).await?;
    let stored = user
        .as_ref()
        .map_or_else(|| password::decoy().to_owned(), |u| u.password_hash.clone());
    let given = given.to_owned();
    let ok = tokio::task::spawn_blocking(move || password::verify(&stored, &given))
        .await
        .unwrap_or(false);
    match user {
        Some(user) if ok => {
            limit.succeeded(&username, ip).await;
            Ok(user.into())
        }
        _ => {
            limit.failed(&username, ip).await;
            tracing::info!(%ip, "login failed");
            Err(LoginError::Wrong)
        }
    }
}

/// A new console session; returns (cookie value, CSRF token).
pub async fn start_session(state: &AppState, staff: &Staff) -> Result<(String, String), StorageError> {
    let (token, csrf) = (secret::new_secret(), secret::new_secret());
    let hours = state.settings.console.session_hours as i64;
    let expires =
        (chrono::Utc::now() + chrono::Duration::hours(hours)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    state
        .db
        .add_session(&secret::digest(&token), &staff.id, &csrf, &expires)
        .await?;
    state.db.audit(&staff.id, "login", &staff.id).await?;
    Ok((token, csrf))
}

/// A new API token for the account; only its digest is kept.
pub async fn new_token(db: &Db, staff_id: &str, label: &str) -> Result<String, StorageError> {
    let token = secret::new_secret();
    db.add_api_token(&secret::digest(&token), staff_id, label).await?;
    db.audit(staff_id, "token.create", staff_id).await?;
    Ok(token)
}
