//! Calls: one row per provider call, its caller (when the number was shown) and its status.

use sqlx::Row;

use super::{new_id, now, Db, StorageError};
use crate::providers::CallStatus;

/// What the IVR needs to know about a call in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRecord {
    pub id: String,
    pub caller_id: Option<String>,
    pub status: String,
}

impl Db {
    /// Records an incoming call once; a retried webhook finds the same row.
    pub async fn record_incoming_call(
        &self,
        provider: &str,
        call_sid: &str,
        caller_id: Option<&str>,
        to_number: &str,
    ) -> Result<CallRecord, StorageError> {
        sqlx::query(
            "INSERT INTO calls (id, provider, call_sid, caller_id, direction, to_number, status, started_at)
             VALUES ($1, $2, $3, $4, 'inbound', $5, $6, $7)
             ON CONFLICT (provider, call_sid) DO NOTHING",
        )
        .bind(new_id())
        .bind(provider)
        .bind(call_sid)
        .bind(caller_id)
        .bind(to_number)
        .bind(CallStatus::InProgress.as_str())
        .bind(now())
        .execute(self.pool())
        .await?;
        self.find_call(provider, call_sid)
            .await?
            .ok_or(StorageError::Sql(sqlx::Error::RowNotFound))
    }

    pub async fn find_call(&self, provider: &str, call_sid: &str) -> Result<Option<CallRecord>, StorageError> {
        let row = sqlx::query("SELECT id, caller_id, status FROM calls WHERE provider = $1 AND call_sid = $2")
            .bind(provider)
            .bind(call_sid)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| {
            Ok(CallRecord {
                id: r.try_get("id")?,
                caller_id: r.try_get("caller_id")?,
                status: r.try_get("status")?,
            })
        })
        .transpose()
    }

    /// Applies a status callback. A final status is never overwritten by a late non-final one.
    pub async fn update_call_status(
        &self,
        provider: &str,
        call_sid: &str,
        status: CallStatus,
        duration_secs: Option<u32>,
    ) -> Result<(), StorageError> {
        let ended_at = status.is_final().then(now);
        sqlx::query(
            "UPDATE calls SET status = $1,
                 duration_secs = COALESCE($2, duration_secs),
                 ended_at = COALESCE(ended_at, $3)
             WHERE provider = $4 AND call_sid = $5
               AND (ended_at IS NULL OR $3 IS NOT NULL)",
        )
        .bind(status.as_str())
        .bind(duration_secs.map(i64::from))
        .bind(ended_at)
        .bind(provider)
        .bind(call_sid)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Keeps the call's IVR state (sealed) beside the Redis session, so a call goes on where it
    /// was when Redis is unreachable.
    pub async fn save_ivr_state(&self, provider: &str, call_sid: &str, state: &[u8]) -> Result<(), StorageError> {
        sqlx::query("UPDATE calls SET ivr_state_enc = $1 WHERE provider = $2 AND call_sid = $3")
            .bind(self.key().encrypt(state))
            .bind(provider)
            .bind(call_sid)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn ivr_state(&self, provider: &str, call_sid: &str) -> Result<Option<Vec<u8>>, StorageError> {
        let row = sqlx::query("SELECT ivr_state_enc FROM calls WHERE provider = $1 AND call_sid = $2")
            .bind(provider)
            .bind(call_sid)
            .fetch_optional(self.pool())
            .await?;
        let sealed: Option<Vec<u8>> = match row {
            Some(r) => r.try_get("ivr_state_enc")?,
            None => None,
        };
        Ok(sealed.map(|s| self.key().decrypt(&s)).transpose()?)
    }
}
