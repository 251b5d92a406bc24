//! The audit trail: who read or changed which case, and when. Written before the data is
//! returned, so a read that cannot be recorded does not happen.

use sqlx::Row;

use super::{new_id, now, Db, StorageError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    pub user_id: String,
    pub action: String,
    pub subject: String,
    pub at: String,
}

impl Db {
    pub async fn audit(&self, user_id: &str, action: &str, subject: &str) -> Result<(), StorageError> {
        sqlx::query("INSERT INTO audit_log (id, user_id, action, subject, at) VALUES ($1, $2, $3, $4, $5)")
            .bind(new_id())
            .bind(user_id)
            .bind(action)
            .bind(subject)
            .bind(now())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Everything done to a subject, oldest first.
    pub async fn audit_trail(&self, subject: &str) -> Result<Vec<AuditRow>, StorageError> {
        let rows = sqlx::query("SELECT user_id, action, subject, at FROM audit_log WHERE subject = $1 ORDER BY at, id")
            .bind(subject)
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditRow {
                    user_id: r.try_get("user_id")?,
                    action: r.try_get("action")?,
                    subject: r.try_get("subject")?,
                    at: r.try_get("at")?,
                })
            })
            .collect()
    }
}
