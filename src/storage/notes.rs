//! Lawyers' notes on a case (encrypted), and how the case was closed.

use sqlx::Row;

use super::{new_id, now, Db, StorageError};
use crate::domain::{ConsultationStatus, ServiceForm};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub author: String,
    pub body: String,
    pub created_at: String,
}

/// How a closed case ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closing {
    pub service_form: ServiceForm,
    pub outcome: String,
    pub closed_at: String,
    pub closed_by: String,
}

impl Db {
    pub async fn add_note(&self, consultation_id: &str, user_id: &str, body: &str) -> Result<(), StorageError> {
        sqlx::query(
            "INSERT INTO case_notes (id, consultation_id, user_id, body_enc, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(new_id())
        .bind(consultation_id)
        .bind(user_id)
        .bind(self.key().encrypt(body.as_bytes()))
        .bind(now())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The case's notes with their authors' names, oldest first.
    pub async fn notes_of(&self, consultation_id: &str) -> Result<Vec<Note>, StorageError> {
        let rows = sqlx::query(
            "SELECT u.display_name, n.body_enc, n.created_at FROM case_notes n JOIN users u ON u.id = n.user_id
             WHERE n.consultation_id = $1 ORDER BY n.created_at, n.id",
        )
        .bind(consultation_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let sealed: Vec<u8> = r.try_get("body_enc")?;
                Ok(Note {
                    author: r.try_get("display_name")?,
                    body: self.key().decrypt_string(&sealed)?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// Closes a case that is not closed yet; false if it was (a repeated request changes nothing).
    pub async fn close_consultation(
        &self,
        id: &str,
        form: ServiceForm,
        outcome: &str,
        user_id: &str,
    ) -> Result<bool, StorageError> {
        let at = now();
        let done = sqlx::query(
            "UPDATE consultations SET status = $1, service_form = $2, outcome_enc = $3, closed_at = $4,
             closed_by = $5, updated_at = $4 WHERE id = $6 AND status <> $1",
        )
        .bind(ConsultationStatus::Closed.as_str())
        .bind(form.as_str())
        .bind(self.key().encrypt(outcome.as_bytes()))
        .bind(&at)
        .bind(user_id)
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn closing_of(&self, id: &str) -> Result<Option<Closing>, StorageError> {
        let row = sqlx::query(
            "SELECT c.service_form, c.outcome_enc, c.closed_at, u.display_name FROM consultations c
             JOIN users u ON u.id = c.closed_by WHERE c.id = $1 AND c.closed_at IS NOT NULL",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        let Some(r) = row else { return Ok(None) };
        let form: String = r.try_get("service_form")?;
        let sealed: Vec<u8> = r.try_get("outcome_enc")?;
        Ok(Some(Closing {
            service_form: ServiceForm::parse(&form).unwrap_or(ServiceForm::Other),
            outcome: self.key().decrypt_string(&sealed)?,
            closed_at: r.try_get("closed_at")?,
            closed_by: r.try_get("display_name")?,
        }))
    }
}
