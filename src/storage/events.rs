//! Provider events: every webhook delivery stored once, before it is acted on, with the answer
//! we gave, so that a retried delivery changes nothing and gets the same answer.

use std::time::Duration;

use sqlx::Row;

use super::batch::Statement;
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
    /// Stores the delivery and decides who handles it: the copy whose insert lands owns it; a
    /// concurrent copy is told it is busy; a later one gets the stored answer. A claim older
    /// than `lease` with no answer belonged to a copy that died: a retry takes it over. The
    /// owner of an IVR turn then claims the turn (see [`Turn`]); if that cannot be decided the
    /// claim is released, so a retry runs it all again. Each step is one statement on its own:
    /// the insert alone decides the owner, and the turn's update alone decides whether it is
    /// current.
    pub async fn claim_delivery(
        &self,
        event: &NewEvent<'_>,
        turn_of: Option<TurnOf<'_>>,
        lease: Duration,
    ) -> Result<Claim, StorageError> {
        let payload = self.key().encrypt(event.payload.to_string().as_bytes());
        let id = new_id();
        let mut statements = vec![Statement::new(
            "INSERT INTO provider_events (id, dedup_key, provider, kind, subject_sid, payload_enc, received_at, claimed_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
             ON CONFLICT (dedup_key) DO NOTHING",
            vec![
                id.as_str().into(),
                event.dedup_key.into(),
                event.provider.into(),
                event.kind.into(),
                event.subject_sid.into(),
                payload.into(),
                now().into(),
            ],
        )];
        // The turn in the same trip, moved only if the insert above landed (this copy owns it).
        statements.extend(turn_of.map(|t| {
            let mut s = move_turn(event, t);
            s.sql
                .push_str(" AND EXISTS (SELECT 1 FROM provider_events WHERE id = $6)");
            s.args.push(id.as_str().into());
            s
        }));
        let done = match self.run_together(&statements).await {
            Ok(done) => done,
            Err(e) => {
                // The insert may have landed before what followed failed: give it up again.
                let released =
                    sqlx::query("UPDATE provider_events SET claimed_at = NULL WHERE id = $1 AND response IS NULL")
                        .bind(&id)
                        .execute(self.pool())
                        .await;
                if let Err(release) = released {
                    tracing::warn!(error = %release, "could not release a delivery whose claim failed");
                }
                return Err(e);
            }
        };
        if done[0].rows_affected == 1 {
            let moved = done.get(1).map(|d| d.rows_affected == 1);
            return match moved {
                None => Ok(Claim::Owner(Turn::Unchecked)),
                Some(true) => Ok(Claim::Owner(Turn::Current)),
                Some(false) => self.own_turn(event, turn_of, Some(false)).await,
            };
        }
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
        let taken = sqlx::query(
            "UPDATE provider_events SET claimed_at = $1
             WHERE dedup_key = $2 AND response IS NULL AND (claimed_at IS NULL OR claimed_at <= $3)",
        )
        .bind(now())
        .bind(event.dedup_key)
        .bind(&stale_before)
        .execute(self.pool())
        .await?
        .rows_affected();
        if taken == 0 {
            return Ok(Claim::Busy);
        }
        self.own_turn(event, turn_of, None).await
    }

    /// The owner's claim of its turn (`moved`: whether it was tried already, and how it went);
    /// a failure gives the delivery up again.
    async fn own_turn(
        &self,
        event: &NewEvent<'_>,
        turn_of: Option<TurnOf<'_>>,
        moved: Option<bool>,
    ) -> Result<Claim, StorageError> {
        match claim_turn(self, event, turn_of, moved).await {
            Ok(turn) => Ok(Claim::Owner(turn)),
            Err(e) => {
                if let Err(release) = self.release_delivery(event.dedup_key).await {
                    tracing::warn!(error = %release, "could not release a delivery whose turn was not claimed");
                }
                Err(e)
            }
        }
    }

    /// Keeps the answer the owner gave (the first one wins) and ends its claim; `moved` is the
    /// turn it moved the call on from, so stale copies of that turn get this answer. `first`
    /// are the handler's held-back writes (see [`Db::deferring`]), sent in the same trip.
    pub async fn answer_delivery(
        &self,
        dedup_key: &str,
        response: &str,
        moved: Option<u32>,
        first: Vec<Statement>,
    ) -> Result<(), StorageError> {
        let mut statements = first;
        statements.push(Statement::new(
            "UPDATE provider_events SET response = $1, claimed_at = NULL, turn = $2
             WHERE dedup_key = $3 AND response IS NULL",
            vec![response.into(), moved.map(i64::from).into(), dedup_key.into()],
        ));
        self.run_together(&statements).await?;
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
/// failure. The owner's answer is marked with the turn it moved, so stale copies of the turn
/// get it.
async fn claim_turn(
    db: &Db,
    event: &NewEvent<'_>,
    turn_of: Option<TurnOf<'_>>,
    moved: Option<bool>,
) -> Result<Turn, StorageError> {
    let Some(t) = turn_of else { return Ok(Turn::Unchecked) };
    let moved = match moved {
        Some(moved) => moved,
        None => db.run_together(&[move_turn(event, t)]).await?[0].rows_affected == 1,
    };
    if moved {
        return Ok(Turn::Current);
    }
    let row = sqlx::query("SELECT ivr_turn FROM calls WHERE provider = $1 AND call_sid = $2")
        .bind(event.provider)
        .bind(t.call_sid)
        .fetch_optional(db.pool())
        .await?;
    Ok(match row {
        Some(r) => Turn::Stale {
            now: u32::try_from(r.try_get::<i64, _>("ivr_turn")?).unwrap_or(u32::MAX),
        },
        None => Turn::Unchecked,
    })
}

/// The update that moves a call on from turn `t.turn` (see [`claim_turn`]).
fn move_turn(event: &NewEvent<'_>, t: TurnOf<'_>) -> Statement {
    Statement::new(
        "UPDATE calls SET ivr_turn = $1, ivr_turn_by = $2
         WHERE provider = $3 AND call_sid = $4
           AND (ivr_turn <= $5 OR (ivr_turn = $1 AND ivr_turn_by = $2))",
        vec![
            (i64::from(t.turn) + 1).into(),
            event.dedup_key.into(),
            event.provider.into(),
            t.call_sid.into(),
            i64::from(t.turn).into(),
        ],
    )
}

/// A time as stored (see [`super::now`]).
fn stamp(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
