//! Admins' API: the accounts, signing one out everywhere, and searching the audit trail.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::Json;

use super::{ApiError, ErrorBody};
use crate::app::AppState;
use crate::desk::accounts::{self, AccountView, AuditEntry, AuditQuery, SignedOut};
use crate::http::staff::ApiStaff;

/// Every account, with its live console sessions and API tokens. Admins only.
#[utoipa::path(get, path = "/api/v1/accounts",
    responses((status = 200, body = Vec<AccountView>), (status = 403, body = ErrorBody)))]
pub async fn list(State(state): State<AppState>, ApiStaff(s): ApiStaff) -> Result<Json<Vec<AccountView>>, ApiError> {
    Ok(Json(accounts::accounts(&state, &s).await?))
}

/// Sign an account out everywhere: its console sessions end and its API tokens are revoked
/// (the caller's own too, if it is their account). Admins only; audited.
#[utoipa::path(post, path = "/api/v1/accounts/{username}/sign-out", params(("username" = String, Path)),
    responses((status = 200, body = SignedOut), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn sign_out(
    State(state): State<AppState>,
    ApiStaff(s): ApiStaff,
    Path(username): Path<String>,
) -> Result<Json<SignedOut>, ApiError> {
    Ok(Json(accounts::sign_out_everywhere(&state, &s, &username).await?))
}

/// Search the audit trail by account, case and days (Beijing time), newest first, at most 200
/// entries. Admins only; every search is itself audited.
#[utoipa::path(get, path = "/api/v1/audit", params(AuditQuery),
    responses((status = 200, body = Vec<AuditEntry>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn search(
    State(state): State<AppState>,
    ApiStaff(s): ApiStaff,
    q: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Json<Vec<AuditEntry>>, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::Body(e.body_text()))?;
    Ok(Json(accounts::search(&state, &s, &q).await?))
}
