//! Callback assignments: every offer of a consultation to a lawyer and its outcome, the record
//! the Redis queue's reservations mirror. State changes are conditional updates (`WHERE state
//! IN …`), so a retried or late webhook cannot move an assignment backwards.

use sqlx::Row;

use super::{coded, new_id, now, Db, StorageError};
use crate::domain::callback::{AssignmentState, Presence};
use crate::domain::ConsultationStatus;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub id: String,
    pub consultation_id: String,
    pub lawyer_id: String,
    pub state: AssignmentState,
    pub attempt: i64,
    pub lapses_at: String,
    pub lawyer_call_sid: Option<String>,
    pub caller_call_sid: Option<String>,
    pub answered_by: Option<String>,
}

const COLUMNS: &str =
    "id, consultation_id, lawyer_id, state, attempt, lapses_at, lawyer_call_sid, caller_call_sid, answered_by";

impl Db {
    /// Records the offer the queue holds for the lawyer, once. A lawyer has at most one
    /// `offered` assignment (a unique index), and the queue answers a repeated claim with the
    /// offer already held, so the repeat finds the row the first claim wrote — whichever of two
    /// claims at once gets here first writes it. Any other offer still recorded for the lawyer
    /// is one the queue has taken back (its lapse not written yet, or the claim took back one
    /// whose time was up): it ends as lapsed. `None` if the offer ended meanwhile.
    pub async fn record_offer(
        &self,
        consultation_id: &str,
        lawyer_id: &str,
        lapses_at: &str,
    ) -> Result<Option<Assignment>, StorageError> {
        let attempts: i64 = sqlx::query("SELECT callback_attempts FROM consultations WHERE id = $1")
            .bind(consultation_id)
            .fetch_one(self.pool())
            .await?
            .try_get("callback_attempts")?;
        let (id, at) = (new_id(), now());
        sqlx::query(
            "UPDATE assignments SET state = 'lapsed', ended_at = $1, updated_at = $1
             WHERE lawyer_id = $2 AND state = 'offered' AND consultation_id <> $3",
        )
        .bind(&at)
        .bind(lawyer_id)
        .bind(consultation_id)
        .execute(self.pool())
        .await?;
        // The conflict is the unique index `assignments_one_offer_per_lawyer`.
        sqlx::query(
            "INSERT INTO assignments (id, consultation_id, lawyer_id, state, attempt, offered_at, lapses_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $6)
             ON CONFLICT DO NOTHING",
        )
        .bind(&id)
        .bind(consultation_id)
        .bind(lawyer_id)
        .bind(AssignmentState::Offered.as_str())
        .bind(attempts + 1)
        .bind(&at)
        .bind(lapses_at)
        .execute(self.pool())
        .await?;
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM assignments
             WHERE lawyer_id = $1 AND consultation_id = $2 AND state = 'offered'"
        ))
        .bind(lawyer_id)
        .bind(consultation_id)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| assignment(&r)).transpose()
    }

    pub async fn assignment(&self, id: &str) -> Result<Option<Assignment>, StorageError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM assignments WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| assignment(&r)).transpose()
    }

    /// The lawyer's assignments that are still going on (offered … connected).
    pub async fn active_assignments_of(&self, lawyer_id: &str) -> Result<Vec<Assignment>, StorageError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM assignments WHERE lawyer_id = $1 ORDER BY offered_at, id"
        ))
        .bind(lawyer_id)
        .fetch_all(self.pool())
        .await?;
        let all: Vec<Assignment> = rows.iter().map(assignment).collect::<Result<_, _>>()?;
        Ok(all.into_iter().filter(|a| a.state.is_active()).collect())
    }

    /// Closing a case ends whatever of it still goes on: a case taken (a callback under way, an
    /// SMS thread) is completed, an offer not yet taken lapses. Returns the lawyers whose
    /// assignment it ended.
    pub async fn end_assignments_of(&self, consultation_id: &str) -> Result<Vec<String>, StorageError> {
        let rows = sqlx::query(
            "SELECT DISTINCT lawyer_id FROM assignments WHERE consultation_id = $1
             AND state IN ('offered', 'accepted', 'calling_lawyer', 'calling_caller', 'connected')",
        )
        .bind(consultation_id)
        .fetch_all(self.pool())
        .await?;
        let lawyers = rows
            .iter()
            .map(|r| r.try_get("lawyer_id"))
            .collect::<Result<Vec<String>, _>>()?;
        let at = now();
        for (to, from) in [
            (
                "completed",
                "'accepted', 'calling_lawyer', 'calling_caller', 'connected'",
            ),
            ("lapsed", "'offered'"),
        ] {
            sqlx::query(&format!(
                "UPDATE assignments SET state = $1, ended_at = $2, updated_at = $2
                 WHERE consultation_id = $3 AND state IN ({from})"
            ))
            .bind(to)
            .bind(&at)
            .bind(consultation_id)
            .execute(self.pool())
            .await?;
        }
        Ok(lawyers)
    }

    /// Cases the lawyer holds: assignments going on, and connected ones whose consultation
    /// they have not closed yet.
    pub async fn open_cases_of(&self, lawyer_id: &str) -> Result<i64, StorageError> {
        let row = sqlx::query(
            "SELECT COUNT(DISTINCT a.consultation_id) AS n FROM assignments a
             JOIN consultations c ON c.id = a.consultation_id
             WHERE a.lawyer_id = $1
               AND (a.state IN ('offered', 'accepted', 'calling_lawyer', 'calling_caller', 'connected')
                    OR (a.state = 'completed' AND c.status = $2))",
        )
        .bind(lawyer_id)
        .bind(ConsultationStatus::InProgress.as_str())
        .fetch_one(self.pool())
        .await?;
        Ok(row.try_get("n")?)
    }

    /// Moves an assignment on, but only from one of `from`; false if it was elsewhere (a late
    /// or repeated webhook).
    pub async fn move_assignment(
        &self,
        id: &str,
        from: &[AssignmentState],
        to: AssignmentState,
    ) -> Result<bool, StorageError> {
        let at = now();
        let placeholders: Vec<String> = (0..from.len()).map(|i| format!("${}", i + 4)).collect();
        let stamp = match to {
            AssignmentState::Accepted => ", accepted_at = $2",
            AssignmentState::Connected => ", connected_at = $2",
            s if !s.is_active() => ", ended_at = $2",
            _ => "",
        };
        let sql = format!(
            "UPDATE assignments SET state = $1, updated_at = $2{stamp} WHERE id = $3 AND state IN ({})",
            placeholders.join(", ")
        );
        let mut q = sqlx::query(&sql).bind(to.as_str()).bind(&at).bind(id);
        for s in from {
            q = q.bind(s.as_str());
        }
        Ok(q.execute(self.pool()).await?.rows_affected() == 1)
    }

    pub async fn set_lawyer_call(&self, id: &str, call_sid: &str) -> Result<(), StorageError> {
        self.set_assignment_text(id, "lawyer_call_sid", call_sid).await
    }

    pub async fn set_caller_call(&self, id: &str, call_sid: &str) -> Result<(), StorageError> {
        self.set_assignment_text(id, "caller_call_sid", call_sid).await
    }

    pub async fn set_answered_by(&self, id: &str, answered_by: &str) -> Result<(), StorageError> {
        self.set_assignment_text(id, "answered_by", answered_by).await
    }

    async fn set_assignment_text(&self, id: &str, column: &'static str, value: &str) -> Result<(), StorageError> {
        sqlx::query(&format!(
            "UPDATE assignments SET {column} = $1, updated_at = $2 WHERE id = $3"
        ))
        .bind(value)
        .bind(now())
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Whether a lawyer is being offered, or is calling back, this consultation now.
    pub async fn is_being_called_back(&self, consultation_id: &str) -> Result<bool, StorageError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM assignments WHERE consultation_id = $1
               AND state IN ('offered', 'accepted', 'calling_lawyer', 'calling_caller', 'connected')",
        )
        .bind(consultation_id)
        .fetch_one(self.pool())
        .await?;
        Ok(row.try_get::<i64, _>("n")? > 0)
    }

    /// Callbacks whose lawyer answered and whose caller's call was due but never placed since
    /// `stale_before` (the process placing it stopped), oldest first.
    pub async fn stalled_caller_legs(&self, stale_before: &str, limit: i64) -> Result<Vec<Assignment>, StorageError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM assignments
             WHERE state = 'calling_caller' AND caller_call_sid IS NULL AND updated_at < $1
             ORDER BY updated_at, id LIMIT $2"
        ))
        .bind(stale_before)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(assignment).collect()
    }

    /// Takes over a stalled caller's leg: true for the one process whose update found it still
    /// stalled (the claim renews `updated_at`, so a second claim finds it fresh).
    pub async fn claim_caller_leg(&self, id: &str, stale_before: &str, now: &str) -> Result<bool, StorageError> {
        let claimed = sqlx::query(
            "UPDATE assignments SET updated_at = $1
             WHERE id = $2 AND state = 'calling_caller' AND caller_call_sid IS NULL AND updated_at < $3",
        )
        .bind(now)
        .bind(id)
        .bind(stale_before)
        .execute(self.pool())
        .await?;
        Ok(claimed.rows_affected() == 1)
    }

    /// Offers whose time is up end as lapsed, even if Redis lost them (and so never returned
    /// them as lapsed): a lawyer is never held by an offer that no longer exists.
    pub async fn lapse_stale_offers(&self, now: &str) -> Result<u64, StorageError> {
        let done = sqlx::query(
            "UPDATE assignments SET state = 'lapsed', ended_at = $1, updated_at = $1
             WHERE state = 'offered' AND lapses_at < $1",
        )
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected())
    }

    /// Offers the queue took back (lapsed): their assignments end as lapsed.
    pub async fn lapse_offers(&self, consultation_ids: &[String]) -> Result<(), StorageError> {
        for id in consultation_ids {
            sqlx::query(
                "UPDATE assignments SET state = 'lapsed', ended_at = $1, updated_at = $1
                 WHERE consultation_id = $2 AND state = 'offered'",
            )
            .bind(now())
            .bind(id)
            .execute(self.pool())
            .await?;
        }
        Ok(())
    }

    /// Seconds from connection to hang-up of the most recent completed callbacks.
    pub async fn recent_handling_secs(&self, limit: i64) -> Result<Vec<i64>, StorageError> {
        let rows = sqlx::query(
            "SELECT connected_at, ended_at FROM assignments
             WHERE state = 'completed' AND connected_at IS NOT NULL AND ended_at IS NOT NULL
             ORDER BY ended_at DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        let secs = |t: &str| {
            chrono::DateTime::parse_from_rfc3339(t)
                .map(|d| d.timestamp())
                .unwrap_or(0)
        };
        rows.iter()
            .map(|r| {
                let start: String = r.try_get("connected_at")?;
                let end: String = r.try_get("ended_at")?;
                Ok((secs(&end) - secs(&start)).max(0))
            })
            .collect()
    }

    /// A lawyer's presence (`None` if there is no such lawyer).
    pub async fn presence_of(&self, lawyer_id: &str) -> Result<Option<Presence>, StorageError> {
        let row = sqlx::query("SELECT presence FROM lawyers WHERE id = $1")
            .bind(lawyer_id)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| coded(&r, "presence", Presence::parse)).transpose()
    }

    pub async fn set_presence(&self, lawyer_id: &str, presence: Presence) -> Result<(), StorageError> {
        sqlx::query("UPDATE lawyers SET presence = $1, updated_at = $2 WHERE id = $3")
            .bind(presence.as_str())
            .bind(now())
            .bind(lawyer_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Fairness: the time the lawyer last accepted a case.
    pub async fn mark_assigned(&self, lawyer_id: &str) -> Result<(), StorageError> {
        sqlx::query("UPDATE lawyers SET last_assigned_at = $1, updated_at = $1 WHERE id = $2")
            .bind(now())
            .bind(lawyer_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The lawyer's phone number, decrypted.
    pub async fn lawyer_phone(&self, lawyer_id: &str) -> Result<Option<String>, StorageError> {
        let row = sqlx::query("SELECT phone_enc FROM lawyers WHERE id = $1")
            .bind(lawyer_id)
            .fetch_optional(self.pool())
            .await?;
        match row {
            None => Ok(None),
            Some(r) => Ok(Some(self.key().decrypt_string(&r.try_get::<Vec<u8>, _>("phone_enc")?)?)),
        }
    }

    pub async fn set_consultation_status(&self, id: &str, status: ConsultationStatus) -> Result<(), StorageError> {
        sqlx::query("UPDATE consultations SET status = $1, updated_at = $2 WHERE id = $3")
            .bind(status.as_str())
            .bind(now())
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Counts a failed callback attempt; returns how many have failed.
    pub async fn add_callback_attempt(&self, id: &str) -> Result<i64, StorageError> {
        sqlx::query(
            "UPDATE consultations SET callback_attempts = callback_attempts + 1, updated_at = $1 WHERE id = $2",
        )
        .bind(now())
        .bind(id)
        .execute(self.pool())
        .await?;
        let row = sqlx::query("SELECT callback_attempts FROM consultations WHERE id = $1")
            .bind(id)
            .fetch_one(self.pool())
            .await?;
        Ok(row.try_get("callback_attempts")?)
    }
}

fn assignment(r: &sqlx::any::AnyRow) -> Result<Assignment, StorageError> {
    Ok(Assignment {
        id: r.try_get("id")?,
        consultation_id: r.try_get("consultation_id")?,
        lawyer_id: r.try_get("lawyer_id")?,
        state: coded(r, "state", AssignmentState::parse)?,
        attempt: r.try_get("attempt")?,
        lapses_at: r.try_get("lapses_at")?,
        lawyer_call_sid: r.try_get("lawyer_call_sid")?,
        caller_call_sid: r.try_get("caller_call_sid")?,
        answered_by: r.try_get("answered_by")?,
    })
}
