//! Provider events: every webhook delivery stored once, before it is acted on, with the answer
//! we gave, so that a retried delivery changes nothing and gets the same answer.

use std::time::Duration;

use sqlx::Row;

use super::{new_id, now, Db, StorageError};

/// One delivery to store.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub dedup_key: &'a str,
    pub provider: &'a str,
    pub kind: &'a str,
    pub subject_sid: &'a str,
    /// The raw form, every field, as JSON.
    pub payload: &'a serde_json::Value,
}

/// Who handles a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This copy: it runs the handler and stores the answer.
    Owner(Turn),
    /// Handled before: the answer given then.
    Answered(String),
    /// Another copy is handling it right now.
    Busy,
}

/// A delivery's answer: none stored (no such delivery), still being worked on, or given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Unknown,
    Pending,
    Given(String),
}

/// What an IVR turn delivery (one whose action URL carries `turn=`) is to the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    /// Not a turn, or a call with no row to check it against.
    Unchecked,
    /// The turn the call is at: this delivery moves it on.
    Current,
    /// The call has moved past it (to turn `now`): it changes nothing.
    Stale { now: u32 },
}

/// The turn a delivery claims: the call and the `turn=` of its URL.
#[derive(Debug, Clone, Copy)]
pub struct TurnOf<'a> {
    pub call_sid: &'a str,
    pub turn: u32,
}

impl Db {
    /// Stores the delivery and decides who handles it, atomically: the copy whose insert
    /// lands owns it (and, for an IVR turn, claims the turn in the same transaction); a
    /// concurrent copy is told it is busy; a later one gets the stored answer. A claim older
    /// than `lease` with no answer belonged to a copy that died: a retry takes it over.
    pub async fn claim_delivery(
        &self,
        event: &NewEvent<'_>,
        turn_of: Option<TurnOf<'_>>,
        lease: Duration,
    ) -> Result<Claim, StorageError> {
        let payload = self.key().encrypt(event.payload.to_string().as_bytes());
        let mut tx = self.pool().begin().await?;
        // The turn first, so the insert carries it; both are undone if the insert finds a copy.
        let turn = claim_turn(&mut tx, event, turn_of).await?;
        let turn_moved = (turn == Turn::Current)
            .then(|| turn_of.map(|t| i64::from(t.turn)))
            .flatten();
        let inserted = sqlx::query(
            "INSERT INTO provider_events (id, dedup_key, provider, kind, subject_sid, payload_enc, received_at, claimed_at, turn)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8)
             ON CONFLICT (dedup_key) DO NOTHING",
        )
        .bind(new_id())
        .bind(event.dedup_key)
        .bind(event.provider)
        .bind(event.kind)
        .bind(event.subject_sid)
        .bind(payload)
        .bind(now())
        .bind(turn_moved)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 1 {
            tx.commit().await?;
            return Ok(Claim::Owner(turn));
        }
        tx.rollback().await?;
        let row = sqlx::query("SELECT response, claimed_at FROM provider_events WHERE dedup_key = $1")
            .bind(event.dedup_key)
            .fetch_one(self.pool())
            .await?;
        if let Some(response) = row.try_get::<Option<String>, _>("response")? {
            return Ok(Claim::Answered(response));
        }
        let claimed_at: Option<String> = row.try_get("claimed_at")?;
        let stale_before = stamp(chrono::Utc::now() - lease);
        if claimed_at.as_deref().is_some_and(|at| at > stale_before.as_str()) {
            return Ok(Claim::Busy);
        }
        // Unclaimed (its handler failed) or the owner died: one retry takes it over.
        let mut tx = self.pool().begin().await?;
        let taken = sqlx::query(
            "UPDATE provider_events SET claimed_at = $1
             WHERE dedup_key = $2 AND response IS NULL AND (claimed_at IS NULL OR claimed_at <= $3)",
        )
        .bind(now())
        .bind(event.dedup_key)
        .bind(&stale_before)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if taken == 0 {
            tx.rollback().await?;
            return Ok(Claim::Busy);
        }
        let turn = claim_turn(&mut tx, event, turn_of).await?;
        if turn == Turn::Current {
            sqlx::query("UPDATE provider_events SET turn = $1 WHERE dedup_key = $2")
                .bind(turn_of.map(|t| i64::from(t.turn)))
                .bind(event.dedup_key)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(Claim::Owner(turn))
    }

    /// Keeps the answer the owner gave (the first one wins) and ends its claim.
    pub async fn answer_delivery(&self, dedup_key: &str, response: &str) -> Result<(), StorageError> {
        sqlx::query(
            "UPDATE provider_events SET response = $1, claimed_at = NULL WHERE dedup_key = $2 AND response IS NULL",
        )
        .bind(response)
        .bind(dedup_key)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The handler failed: the delivery is left unanswered and unclaimed, so the provider's
    /// retry runs it again.
    pub async fn release_delivery(&self, dedup_key: &str) -> Result<(), StorageError> {
        sqlx::query("UPDATE provider_events SET claimed_at = NULL WHERE dedup_key = $1 AND response IS NULL")
            .bind(dedup_key)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Where a delivery's answer stands.
    pub async fn delivery_answer(&self, dedup_key: &str) -> Result<Answer, StorageError> {
        let row = sqlx::query("SELECT response FROM provider_events WHERE dedup_key = $1")
            .bind(dedup_key)
            .fetch_optional(self.pool())
            .await?;
        Ok(match row {
            None => Answer::Unknown,
            Some(r) => match r.try_get::<Option<String>, _>("response")? {
                Some(xml) => Answer::Given(xml),
                None => Answer::Pending,
            },
        })
    }

    /// The answer given to the delivery that moved a call on from `turn`.
    pub async fn turn_answer(&self, call_sid: &str, turn: u32) -> Result<Option<String>, StorageError> {
        let row = sqlx::query(
            "SELECT response FROM provider_events
             WHERE subject_sid = $1 AND turn = $2 AND response IS NOT NULL
             ORDER BY received_at LIMIT 1",
        )
        .bind(call_sid)
        .bind(i64::from(turn))
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|r| r.try_get("response")).transpose()?)
    }

    /// The turn a call's current prompt carries (see [`Turn`]); None for a call not on record.
    pub async fn call_turn(&self, provider: &str, call_sid: &str) -> Result<Option<u32>, StorageError> {
        let row = sqlx::query("SELECT ivr_turn FROM calls WHERE provider = $1 AND call_sid = $2")
            .bind(provider)
            .bind(call_sid)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| Ok(u32::try_from(r.try_get::<i64, _>("ivr_turn")?).unwrap_or(u32::MAX)))
            .transpose()
    }

    /// How many deliveries were stored for one call or message (operators, tests).
    pub async fn count_events(&self, subject_sid: &str) -> Result<i64, StorageError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM provider_events WHERE subject_sid = $1")
            .bind(subject_sid)
            .fetch_one(self.pool())
            .await?;
        Ok(row.try_get("n")?)
    }

    /// The stored raw payload of each delivery for a call or message, decrypted, oldest first.
    pub async fn event_payloads(&self, subject_sid: &str) -> Result<Vec<serde_json::Value>, StorageError> {
        let rows =
            sqlx::query("SELECT payload_enc FROM provider_events WHERE subject_sid = $1 ORDER BY received_at, id")
                .bind(subject_sid)
                .fetch_all(self.pool())
                .await?;
        rows.iter()
            .map(|r| {
                let sealed: Vec<u8> = r.try_get("payload_enc")?;
                let plain = self.key().decrypt(&sealed)?;
                Ok(serde_json::from_slice(&plain).unwrap_or(serde_json::Value::Null))
            })
            .collect()
    }
}

/// Not a turn: unchecked. A turn moves the call on from `t.turn` if it is there (or behind: its
/// state was lost), or if this same delivery moved it before and is being run again after a
/// failure. The caller marks the delivery with the turn it moved, so stale copies of the turn
/// get its answer.
async fn claim_turn(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    event: &NewEvent<'_>,
    turn_of: Option<TurnOf<'_>>,
) -> Result<Turn, StorageError> {
    let Some(t) = turn_of else { return Ok(Turn::Unchecked) };
    let next = i64::from(t.turn) + 1;
    let moved = sqlx::query(
        "UPDATE calls SET ivr_turn = $1, ivr_turn_by = $2
         WHERE provider = $3 AND call_sid = $4
           AND (ivr_turn <= $5 OR (ivr_turn = $1 AND ivr_turn_by = $2))",
    )
    .bind(next)
    .bind(event.dedup_key)
    .bind(event.provider)
    .bind(t.call_sid)
    .bind(i64::from(t.turn))
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if moved == 1 {
        return Ok(Turn::Current);
    }
    let row = sqlx::query("SELECT ivr_turn FROM calls WHERE provider = $1 AND call_sid = $2")
        .bind(event.provider)
        .bind(t.call_sid)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(match row {
        Some(r) => Turn::Stale {
            now: u32::try_from(r.try_get::<i64, _>("ivr_turn")?).unwrap_or(u32::MAX),
        },
        None => Turn::Unchecked,
    })
}

/// A time as stored (see [`super::now`]).
fn stamp(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
