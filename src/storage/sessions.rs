//! Console sessions and API tokens, stored as SHA-256 hashes of the secret the browser or client
//! holds. A session ends at `expires_at` (absolute) or when not used for the idle time.

use sqlx::{Connection, Row};

use super::users::{user, User, COLUMNS};
use super::{now, Db, StorageError};

/// An account as the accounts page lists it: who, and what they are signed in with.
#[derive(Debug, Clone)]
pub struct Account {
    pub user: User,
    /// Console sessions that have not expired.
    pub sessions: i64,
    pub tokens: i64,
}

impl Db {
    pub async fn add_session(
        &self,
        token_hash: &str,
        user_id: &str,
        csrf: &str,
        expires_at: &str,
    ) -> Result<(), StorageError> {
        let at = now();
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf, expires_at, created_at, seen_at)
             VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(csrf)
        .bind(expires_at)
        .bind(at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The account and CSRF token of a session that has not expired and was last used after
    /// `idle_since`.
    pub async fn session(&self, token_hash: &str, idle_since: &str) -> Result<Option<(User, String)>, StorageError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS}, s.csrf FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND COALESCE(s.seen_at, s.created_at) > $3"
        ))
        .bind(token_hash)
        .bind(now())
        .bind(idle_since)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| Ok((user(&r)?, r.try_get("csrf")?))).transpose()
    }

    /// Marks a session as used now (a person's request, not the page's own polling).
    pub async fn touch_session(&self, token_hash: &str) -> Result<(), StorageError> {
        sqlx::query("UPDATE sessions SET seen_at = $2 WHERE token_hash = $1")
            .bind(token_hash)
            .bind(now())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Logs a session out; expired ones go with it.
    pub async fn end_session(&self, token_hash: &str) -> Result<(), StorageError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1 OR expires_at <= $2")
            .bind(token_hash)
            .bind(now())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Signs an account out everywhere: every console session ends and every API token is
    /// revoked. Returns (sessions, tokens) removed.
    pub async fn sign_out_everywhere(&self, user_id: &str) -> Result<(u64, u64), StorageError> {
        let mut held = self.pool().connection().await?;
        let mut tx = held.begin().await?;
        let sessions = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let tokens = sqlx::query("DELETE FROM api_tokens WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok((sessions, tokens))
    }

    pub async fn add_api_token(&self, token_hash: &str, user_id: &str, label: &str) -> Result<(), StorageError> {
        sqlx::query("INSERT INTO api_tokens (token_hash, user_id, label, created_at) VALUES ($1, $2, $3, $4)")
            .bind(token_hash)
            .bind(user_id)
            .bind(label)
            .bind(now())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn user_by_api_token(&self, token_hash: &str) -> Result<Option<User>, StorageError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1"
        ))
        .bind(token_hash)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| user(&r)).transpose()
    }

    /// Records a token's use unless it was recorded after `since`; true when this call did (so
    /// that of concurrent requests exactly one audits the use).
    pub async fn token_used(&self, token_hash: &str, since: &str) -> Result<bool, StorageError> {
        let done = sqlx::query(
            "UPDATE api_tokens SET used_at = $2 WHERE token_hash = $1 AND (used_at IS NULL OR used_at <= $3)",
        )
        .bind(token_hash)
        .bind(now())
        .bind(since)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Every account, by username, with its live sessions and tokens.
    pub async fn accounts(&self) -> Result<Vec<Account>, StorageError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS},
                (SELECT COUNT(*) FROM sessions s WHERE s.user_id = u.id AND s.expires_at > $1) AS sessions,
                (SELECT COUNT(*) FROM api_tokens t WHERE t.user_id = u.id) AS tokens
             FROM users u ORDER BY u.username"
        ))
        .bind(now())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Account {
                    user: user(r)?,
                    sessions: r.try_get("sessions")?,
                    tokens: r.try_get("tokens")?,
                })
            })
            .collect()
    }
}
