//! Calls: one row per provider call, its caller (when the number was shown) and its status.
//!
//! Status callbacks arrive in any order, concurrently, and sometimes before the call's own
//! webhook. A call's status only moves forward ([`CallStatus::rank`]: queued → ringing →
//! in progress → one final status, the first final one reported kept), decided inside the one
//! statement that writes it, so two callbacks racing each other cannot undo one another. The
//! rank of the stored status is computed in SQL from its text ([`rank_sql`]).

use std::sync::LazyLock;

use sqlx::Row;

use super::batch::Statement;
use super::callers::{on_record, CallerOnRecord};
use super::{new_id, now, Db, StorageError};
use crate::domain::PhoneNumber;
use crate::providers::{CallStatus, Direction};

/// What the IVR needs to know about a call in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRecord {
    pub id: String,
    pub caller_id: Option<String>,
    pub status: String,
}

/// One status callback, with what it says about the call for when the call is not on record.
#[derive(Debug, Clone)]
pub struct StatusReport<'a> {
    pub call_sid: &'a str,
    pub status: CallStatus,
    pub duration_secs: Option<u32>,
    /// The caller (see `upsert_caller`), when the report showed a number.
    pub caller_id: Option<&'a str>,
    pub to_number: Option<&'a str>,
    pub direction: Direction,
}

/// `CASE column WHEN 'queued' THEN 1 … ELSE 0 END`: a stored status's [`CallStatus::rank`] in
/// SQL (the same on SQLite and PostgreSQL); a text we do not know ranks lowest.
fn rank_sql(column: &str) -> String {
    let whens: String = CallStatus::ALL
        .iter()
        .map(|s| format!(" WHEN '{}' THEN {}", s.as_str(), s.rank()))
        .collect();
    format!("(CASE {column}{whens} ELSE 0 END)")
}

/// A status report: a new call row, or the existing one moved on if the report is further along.
/// `excluded` is the row the report would have inserted.
static APPLY_STATUS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO calls (id, provider, call_sid, caller_id, direction, to_number, status, duration_secs,
                            started_at, ended_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (provider, call_sid) DO UPDATE SET
             status = excluded.status,
             duration_secs = COALESCE(excluded.duration_secs, calls.duration_secs),
             ended_at = COALESCE(calls.ended_at, excluded.ended_at),
             caller_id = COALESCE(calls.caller_id, excluded.caller_id),
             to_number = CASE WHEN calls.to_number = '' THEN excluded.to_number ELSE calls.to_number END
         WHERE {} < {}",
        rank_sql("calls.status"),
        rank_sql("excluded.status"),
    )
});

/// The incoming call's webhook: a new row in progress, or — when a status report came first —
/// that row given what the report lacked (the caller, the number called) and moved on to in
/// progress if it was not that far yet. Changes nothing on a retry.
static RECORD_INCOMING: LazyLock<String> = LazyLock::new(|| record_incoming("$4"));

/// The same, the caller found by the keyed hash of their number (in `$4`): sent together with
/// the caller's upsert, which runs first.
static RECORD_INCOMING_BY_HASH: LazyLock<String> =
    LazyLock::new(|| record_incoming("(SELECT id FROM callers WHERE phone_hash = $4)"));

fn record_incoming(caller: &str) -> String {
    let (stored, incoming) = (rank_sql("calls.status"), rank_sql("excluded.status"));
    format!(
        "INSERT INTO calls (id, provider, call_sid, caller_id, direction, to_number, status, started_at)
         VALUES ($1, $2, $3, {caller}, 'inbound', $5, $6, $7)
         ON CONFLICT (provider, call_sid) DO UPDATE SET
             status = CASE WHEN {stored} < {incoming} THEN excluded.status ELSE calls.status END,
             caller_id = COALESCE(calls.caller_id, excluded.caller_id),
             to_number = CASE WHEN calls.to_number = '' THEN excluded.to_number ELSE calls.to_number END
         WHERE {stored} < {incoming}
            OR (calls.caller_id IS NULL AND excluded.caller_id IS NOT NULL)
            OR calls.to_number = ''"
    )
}

impl Db {
    /// An incoming call from a number shown (or withheld): the caller on record, created on
    /// first contact, and the call recorded as [`Db::record_incoming_call`] does — in one trip.
    pub async fn call_arrives(
        &self,
        provider: &str,
        call_sid: &str,
        phone: Option<&PhoneNumber>,
        to_number: &str,
    ) -> Result<Option<CallerOnRecord>, StorageError> {
        let Some(phone) = phone else {
            self.record_incoming_call(provider, call_sid, None, to_number).await?;
            return Ok(None);
        };
        let call = Statement::new(
            RECORD_INCOMING_BY_HASH.as_str(),
            vec![
                new_id().into(),
                provider.into(),
                call_sid.into(),
                self.key().lookup_hash(phone.e164()).into(),
                to_number.into(),
                CallStatus::InProgress.as_str().into(),
                now().into(),
            ],
        );
        let done = self.run_together(&[self.caller_upsert(phone, call_sid), call]).await?;
        Ok(Some(on_record(&done[0].rows)?))
    }

    /// Records an incoming call once; a retried webhook finds the same row, and a call a status
    /// report recorded first keeps its status if that is further along.
    pub async fn record_incoming_call(
        &self,
        provider: &str,
        call_sid: &str,
        caller_id: Option<&str>,
        to_number: &str,
    ) -> Result<(), StorageError> {
        sqlx::query(&RECORD_INCOMING)
            .bind(new_id())
            .bind(provider)
            .bind(call_sid)
            .bind(caller_id)
            .bind(to_number)
            .bind(CallStatus::InProgress.as_str())
            .bind(now())
            .execute(self.pool())
            .await?;
        Ok(())
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

    /// Applies a status callback in one statement: records the call if this is the first we hear
    /// of it, else moves it on only if the report is further along (a final status sets
    /// `ended_at`; the first final status wins). False when the report was older than the call.
    pub async fn apply_call_status(&self, provider: &str, report: &StatusReport<'_>) -> Result<bool, StorageError> {
        let at = now();
        let ended_at = report.status.is_final().then(|| at.clone());
        let done = sqlx::query(&APPLY_STATUS)
            .bind(new_id())
            .bind(provider)
            .bind(report.call_sid)
            .bind(report.caller_id)
            .bind(report.direction.as_str())
            .bind(report.to_number.unwrap_or_default())
            .bind(report.status.as_str())
            .bind(report.duration_secs.map(i64::from))
            .bind(&at)
            .bind(ended_at)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Keeps the call's IVR state (sealed) beside the Redis session, so a call goes on where it
    /// was when Redis is unreachable.
    /// Keeps the call's IVR state (sealed); inside [`Db::deferring`], sent with the answer.
    pub async fn save_ivr_state(&self, provider: &str, call_sid: &str, state: &[u8]) -> Result<(), StorageError> {
        self.write_soon(Statement::new(
            "UPDATE calls SET ivr_state_enc = $1 WHERE provider = $2 AND call_sid = $3",
            vec![self.key().encrypt(state).into(), provider.into(), call_sid.into()],
        ))
        .await
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
