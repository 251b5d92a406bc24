//! The audit trail: who read or changed which case, and when. Written before the data is
//! returned, so a read that cannot be recorded does not happen.

use sqlx::Row;

use super::{new_id, now, Db, StorageError};

/// What an admin searches the trail for; every field given must match.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Who acted: an account id, or `username:NAME` for sign-ins to no account. Rows about
    /// the first (an account signed out everywhere) match too.
    pub actors: Vec<String>,
    /// What was acted on: a consultation id, `ip:…`, `token:…`.
    pub subject: Option<String>,
    /// Stored times, from inclusive, to exclusive.
    pub from: Option<String>,
    pub to: Option<String>,
    pub limit: i64,
}

/// A row found by a search, with the account's username and the case's ticket where known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditHit {
    pub row: AuditRow,
    pub username: Option<String>,
    pub ticket: Option<String>,
    /// The username when the subject is an account.
    pub subject_user: Option<String>,
}

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

    /// The newest rows matching the filter, newest first, at most `filter.limit`.
    pub async fn audit_search(&self, filter: &AuditFilter) -> Result<Vec<AuditHit>, StorageError> {
        let mut binds: Vec<&str> = Vec::new();
        let mut conditions: Vec<String> = Vec::new();
        if !filter.actors.is_empty() {
            let first = binds.len() + 1;
            binds.extend(filter.actors.iter().map(String::as_str));
            let marks: Vec<String> = (first..=binds.len()).map(|i| format!("${i}")).collect();
            conditions.push(format!(
                "(a.user_id IN ({0}) OR a.subject = ${first})",
                marks.join(", ")
            ));
        }
        for (value, condition) in [
            (&filter.subject, "a.subject ="),
            (&filter.from, "a.at >="),
            (&filter.to, "a.at <"),
        ] {
            if let Some(v) = value {
                binds.push(v);
                conditions.push(format!("{condition} ${}", binds.len()));
            }
        }
        let filter_sql = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let sql = format!(
            "SELECT a.user_id, a.action, a.subject, a.at, u.username, c.ticket, su.username AS subject_user
             FROM audit_log a LEFT JOIN users u ON u.id = a.user_id
             LEFT JOIN consultations c ON c.id = a.subject LEFT JOIN users su ON su.id = a.subject
             {filter_sql} ORDER BY a.at DESC, a.id DESC LIMIT {}",
            filter.limit.max(1)
        );
        let mut query = sqlx::query(&sql);
        for b in binds {
            query = query.bind(b);
        }
        let rows = query.fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| {
                Ok(AuditHit {
                    row: AuditRow {
                        user_id: r.try_get("user_id")?,
                        action: r.try_get("action")?,
                        subject: r.try_get("subject")?,
                        at: r.try_get("at")?,
                    },
                    username: r.try_get("username")?,
                    ticket: r.try_get("ticket")?,
                    subject_user: r.try_get("subject_user")?,
                })
            })
            .collect()
    }
}
