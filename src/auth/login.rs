//! Signing in with a username and password, for the console (a session) and the API (a token).

use std::net::IpAddr;

use super::limit::{LoginLimit, Source};
use super::{password, secret, totp, Staff};
use crate::app::AppState;
use crate::storage::{Db, StorageError};

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// A wrong username, password or second-factor code: one answer for all, so that a guess
    /// does not learn which part was right.
    #[error(
        "用户名、密码或两步验证码不正确（开启了两步验证的账户要填写验证器应用中当前的 6 位验证码，每个只能用一次）"
    )]
    Wrong,
    /// Seconds to wait before the next attempt.
    #[error("登录尝试过多，请{}后再试", wait_words(*.0))]
    TooMany(u64),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// A wait as a caller would say it: seconds under a minute, else minutes rounded up.
fn wait_words(secs: u64) -> String {
    if secs < 60 {
        format!(" {secs} 秒")
    } else {
        format!(" {} 分钟", secs.div_ceil(60))
    }
}

/// A successful sign-in.
#[derive(Debug)]
pub struct SignedIn {
    pub staff: Staff,
    /// Failed attempts on the account since its last sign-in (shown as a warning).
    pub failures_since: u64,
}

/// What a sign-in gives: the username, the password, and the second factor's code if the
/// account has one.
pub struct Attempt<'a> {
    pub username: &'a str,
    pub password: &'a str,
    pub code: Option<&'a str>,
}

/// Checks the password (argon2 off the async runtime) and, for an account with a second
/// factor, the code; throttled and counted by where the attempt comes from: `device` is the
/// request's device cookie, if any. A missing or wrong code counts as a failed attempt.
pub async fn check(
    state: &AppState,
    attempt: &Attempt<'_>,
    ip: IpAddr,
    device: Option<&str>,
) -> Result<SignedIn, LoginError> {
    let (username, given) = (attempt.username, attempt.password);
    let username = username.trim().to_ascii_lowercase();
    let limit = LoginLimit::new(&state.kv, &state.settings.console);
    let source = device
        .and_then(|cookie| super::device::recognise(state.db.key(), &username, cookie))
        .map_or(Source::Address(ip), Source::Device);
    let now = chrono::Utc::now().timestamp();
    let user = state.db.user_by_username(&username).await?;
    // Who the audit names: the account tried, or the name given when there is none.
    let actor = user
        .as_ref()
        .map_or_else(|| format!("username:{username}"), |u| u.id.clone());
    let from = match source {
        Source::Device(id) => format!("device:{id}"),
        Source::Address(ip) => format!("ip:{ip}"),
    };
    if let Some(wait) = limit.wait(&username, source, now).await {
        tracing::warn!(%ip, wait, "login refused: waiting after failed attempts");
        state.db.audit(&actor, "login.throttled", &from).await?;
        return Err(LoginError::TooMany(wait));
    }
    let stored = user
        .as_ref()
        .map_or_else(|| password::decoy().to_owned(), |u| u.password_hash.clone());
    let given = given.to_owned();
    let ok = tokio::task::spawn_blocking(move || password::verify(&stored, &given))
        .await
        .unwrap_or(false);
    // What the audit says was wrong; the person is told the same either way.
    let failed = match user {
        Some(user) if ok => match second_factor(state, &user, attempt.code, now).await? {
            true => {
                let failures_since = limit.succeeded(&username, source).await;
                return Ok(SignedIn {
                    staff: user.into(),
                    failures_since,
                });
            }
            false => "login.code_failed",
        },
        _ => "login.failed",
    };
    limit.failed(&username, source, now).await;
    tracing::info!(%ip, "login failed");
    state.db.audit(&actor, failed, &from).await?;
    Err(LoginError::Wrong)
}

/// Whether the account's second factor is satisfied: no second factor, or a right code whose
/// time step was not used before.
async fn second_factor(
    state: &AppState,
    user: &crate::storage::users::User,
    code: Option<&str>,
    now: i64,
) -> Result<bool, StorageError> {
    let Some(stored) = state.db.totp_of(&user.id).await? else {
        return Ok(true);
    };
    let step = code.and_then(|code| totp::step_of(state.db.key(), &stored, &user.username, code, now as u64));
    match step {
        Some(step) => state.db.use_totp_step(&user.id, step as i64).await,
        None => Ok(false),
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
    let digest = secret::digest(&token);
    db.add_api_token(&digest, staff_id, label).await?;
    db.audit(staff_id, "token.create", &token_subject(&digest)).await?;
    Ok(token)
}

/// How the audit names a token: the start of its digest, which identifies it without
/// revealing it.
pub fn token_subject(digest: &str) -> String {
    format!("token:{}", &digest[..12])
}
