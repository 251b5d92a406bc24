//! The console's views of consultations: a lawyer's own cases, a region's, everyone's.

use sqlx::Row;

use super::consultations::{consultation, Consultation, COLUMNS};
use super::{Db, StorageError};

/// Assignment states in which the lawyer has taken (or is being offered) the case; declined,
/// lapsed and unanswered offers give no access.
const HANDLING: &str =
    "('offered', 'accepted', 'calling_lawyer', 'calling_caller', 'connected', 'completed', 'no_answer')";

impl Db {
    /// Cases the lawyer took, open ones first, then the most recent.
    pub async fn cases_of_lawyer(&self, lawyer_id: &str, limit: i64) -> Result<Vec<Consultation>, StorageError> {
        let columns = COLUMNS
            .split(", ")
            .map(|c| format!("c.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let rows = sqlx::query(&format!(
            "SELECT {columns} FROM consultations c WHERE c.id IN (
               SELECT a.consultation_id FROM assignments a
               WHERE a.lawyer_id = $1 AND a.state IN {HANDLING} AND a.state <> 'offered')
             ORDER BY CASE WHEN c.status = 'closed' THEN 1 ELSE 0 END, c.created_at DESC, c.id LIMIT $2"
        ))
        .bind(lawyer_id)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(consultation).collect()
    }

    /// The most recent cases, of one prefecture or of all.
    /// `unplaced`: also those whose prefecture is not known yet.
    pub async fn recent_cases(
        &self,
        prefecture: Option<&str>,
        unplaced: bool,
        limit: i64,
    ) -> Result<Vec<Consultation>, StorageError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM consultations
             WHERE (CAST($1 AS TEXT) IS NULL OR prefecture = $1 OR ($3 = 1 AND prefecture IS NULL))
             ORDER BY CASE WHEN status = 'closed' THEN 1 ELSE 0 END, created_at DESC, id LIMIT $2"
        ))
        .bind(prefecture)
        .bind(limit)
        .bind(i64::from(unplaced))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(consultation).collect()
    }

    /// Whether the lawyer holds or is offered any case of this caller: then the caller's whole
    /// archive is theirs to read (一户一档).
    pub async fn lawyer_handles_caller(&self, caller_id: &str, lawyer_id: &str) -> Result<bool, StorageError> {
        let row = sqlx::query(&format!(
            "SELECT COUNT(*) AS n FROM assignments a JOIN consultations c ON c.id = a.consultation_id
             WHERE c.caller_id = $1 AND a.lawyer_id = $2 AND a.state IN {HANDLING}"
        ))
        .bind(caller_id)
        .bind(lawyer_id)
        .fetch_one(self.pool())
        .await?;
        Ok(row.try_get::<i64, _>("n")? > 0)
    }

    /// The latest assignment of the case to the lawyer, if any (what "call back" acts on).
    pub async fn latest_assignment(
        &self,
        consultation_id: &str,
        lawyer_id: &str,
    ) -> Result<Option<super::assignments::Assignment>, StorageError> {
        let row = sqlx::query(
            "SELECT id FROM assignments WHERE consultation_id = $1 AND lawyer_id = $2 ORDER BY offered_at DESC, id LIMIT 1",
        )
        .bind(consultation_id)
        .bind(lawyer_id)
        .fetch_optional(self.pool())
        .await?;
        match row {
            Some(r) => self.assignment(&r.try_get::<String, _>("id")?).await,
            None => Ok(None),
        }
    }
}
