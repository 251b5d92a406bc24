//! SMS messages in and out, the text encrypted, each with its delivery status.

use sqlx::Row;

use super::{is_unique_violation, new_id, now, Db, StorageError};
use crate::providers::MessageStatus;

#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    /// The provider's message id; unknown for an outbound message until the provider answers.
    pub provider_sid: Option<&'a str>,
    pub inbound: bool,
    pub caller_id: &'a str,
    pub consultation_id: Option<&'a str>,
    pub body: &'a str,
    pub status: MessageStatus,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    pub id: String,
    pub provider_sid: Option<String>,
    pub direction: String,
    pub body: String,
    pub status: String,
    pub error_code: Option<String>,
    pub created_at: String,
}

/// An outbound text stored but never handed to the provider.
#[derive(Debug, Clone)]
pub struct Unsent {
    pub id: String,
    pub caller_id: String,
    pub body: String,
    /// When it was last touched: the claim's check that nobody else took it since.
    pub updated_at: String,
}

impl Db {
    /// Stores a message. Returns `None` when a message with the same provider id is stored
    /// already (a duplicate delivery).
    pub async fn insert_message(&self, m: &NewMessage<'_>) -> Result<Option<String>, StorageError> {
        let id = new_id();
        // Microseconds: the parts of one answer, stored within a millisecond, keep their order.
        let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let result = sqlx::query(
            "INSERT INTO sms_messages (id, provider_sid, direction, caller_id, consultation_id, body_enc, status, status_rank, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
        )
        .bind(&id)
        .bind(m.provider_sid)
        .bind(if m.inbound { "in" } else { "out" })
        .bind(m.caller_id)
        .bind(m.consultation_id)
        .bind(self.key().encrypt(m.body.as_bytes()))
        .bind(m.status.as_str())
        .bind(m.status.rank())
        .bind(&at)
        .execute(self.pool())
        .await;
        match result {
            Ok(_) => Ok(Some(id)),
            Err(e) if is_unique_violation(&e) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Threads a stored message into its consultation.
    /// An outbound text in a consultation's thread, before it is sent (no provider id yet).
    pub async fn insert_outbound(
        &self,
        caller_id: &str,
        consultation_id: &str,
        body: &str,
        status: MessageStatus,
    ) -> Result<String, StorageError> {
        let stored = self
            .insert_message(&NewMessage {
                provider_sid: None,
                inbound: false,
                caller_id,
                consultation_id: Some(consultation_id),
                body,
                status,
            })
            .await?;
        Ok(stored.expect("a message without a provider id cannot be a duplicate"))
    }

    pub async fn set_message_consultation(&self, id: &str, consultation_id: &str) -> Result<(), StorageError> {
        sqlx::query("UPDATE sms_messages SET consultation_id = $1, updated_at = $2 WHERE id = $3")
            .bind(consultation_id)
            .bind(now())
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Records the provider's id once the provider has accepted an outbound message.
    pub async fn set_message_sent(&self, id: &str, provider_sid: &str) -> Result<(), StorageError> {
        sqlx::query(
            "UPDATE sms_messages SET provider_sid = $1, status = CASE WHEN status_rank < $2 THEN $3 ELSE status END,
                 status_rank = CASE WHEN status_rank < $2 THEN $2 ELSE status_rank END, updated_at = $4
             WHERE id = $5",
        )
        .bind(provider_sid)
        .bind(MessageStatus::Queued.rank())
        .bind(MessageStatus::Queued.as_str())
        .bind(now())
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The provider's id of a reply we sent in a webhook answer, from its first delivery report.
    pub async fn set_message_sid_if_missing(&self, id: &str, provider_sid: &str) -> Result<(), StorageError> {
        sqlx::query(
            "UPDATE sms_messages SET provider_sid = $1, updated_at = $2
             WHERE id = $3 AND provider_sid IS NULL AND direction = 'out'",
        )
        .bind(provider_sid)
        .bind(now())
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Records that the provider refused or never got an outbound message.
    pub async fn set_message_failed(&self, id: &str, error: &str) -> Result<(), StorageError> {
        sqlx::query(
            "UPDATE sms_messages SET status = $1, status_rank = $2, error_code = $3, updated_at = $4 WHERE id = $5",
        )
        .bind(MessageStatus::Failed.as_str())
        .bind(MessageStatus::Failed.rank())
        .bind(error)
        .bind(now())
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Applies a delivery report. Reports arrive out of order: a status never moves back to an
    /// earlier stage. Returns whether a message with that id exists.
    pub async fn update_message_status(
        &self,
        provider_sid: &str,
        status: MessageStatus,
        error_code: Option<&str>,
    ) -> Result<bool, StorageError> {
        let done = sqlx::query(
            "UPDATE sms_messages SET status = $1, status_rank = $2, error_code = COALESCE($3, error_code), updated_at = $4
             WHERE provider_sid = $5 AND status_rank <= $2",
        )
        .bind(status.as_str())
        .bind(status.rank())
        .bind(error_code)
        .bind(now())
        .bind(provider_sid)
        .execute(self.pool())
        .await?;
        if done.rows_affected() > 0 {
            return Ok(true);
        }
        Ok(self.message_by_sid(provider_sid).await?.is_some())
    }

    /// Outbound texts sent through the REST API that never reached the provider (no provider
    /// id, no error, status still unknown: the process stopped first), last touched between
    /// `after` and `before`, oldest first.
    pub async fn unsent_texts(&self, after: &str, before: &str, limit: i64) -> Result<Vec<Unsent>, StorageError> {
        let rows = sqlx::query(
            "SELECT id, caller_id, body_enc, updated_at FROM sms_messages
             WHERE direction = 'out' AND status = $1 AND provider_sid IS NULL AND error_code IS NULL
               AND updated_at > $2 AND updated_at < $3
             ORDER BY updated_at, id LIMIT $4",
        )
        .bind(MessageStatus::Unknown.as_str())
        .bind(after)
        .bind(before)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let sealed: Vec<u8> = r.try_get("body_enc")?;
                Ok(Unsent {
                    id: r.try_get("id")?,
                    caller_id: r.try_get("caller_id")?,
                    body: self.key().decrypt_string(&sealed)?,
                    updated_at: r.try_get("updated_at")?,
                })
            })
            .collect()
    }

    /// Takes an unsent text for sending at `at` (the resumer's clock, so the text is out of
    /// every resumer's window for a while), if nobody touched it since it was read (another
    /// process resuming the same text).
    pub async fn claim_unsent(&self, t: &Unsent, at: &str) -> Result<bool, StorageError> {
        let result = sqlx::query(
            "UPDATE sms_messages SET updated_at = $1
             WHERE id = $2 AND updated_at = $3 AND provider_sid IS NULL AND status = $4",
        )
        .bind(at)
        .bind(&t.id)
        .bind(&t.updated_at)
        .bind(MessageStatus::Unknown.as_str())
        .execute(self.pool())
        .await?;
        Ok(result.rows_affected() == 1)
    }

    pub async fn message_by_sid(&self, provider_sid: &str) -> Result<Option<StoredMessage>, StorageError> {
        let row = sqlx::query(
            "SELECT id, provider_sid, direction, body_enc, status, error_code, created_at FROM sms_messages WHERE provider_sid = $1",
        )
        .bind(provider_sid)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| self.message(&r)).transpose()
    }

    /// A consultation's messages, oldest first.
    pub async fn messages_of(&self, consultation_id: &str) -> Result<Vec<StoredMessage>, StorageError> {
        let rows = sqlx::query(
            "SELECT id, provider_sid, direction, body_enc, status, error_code, created_at FROM sms_messages
             WHERE consultation_id = $1 ORDER BY created_at, id",
        )
        .bind(consultation_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| self.message(r)).collect()
    }

    fn message(&self, r: &sqlx::any::AnyRow) -> Result<StoredMessage, StorageError> {
        let sealed: Vec<u8> = r.try_get("body_enc")?;
        Ok(StoredMessage {
            id: r.try_get("id")?,
            provider_sid: r.try_get("provider_sid")?,
            direction: r.try_get("direction")?,
            body: self.key().decrypt_string(&sealed)?,
            status: r.try_get("status")?,
            error_code: r.try_get("error_code")?,
            created_at: r.try_get("created_at")?,
        })
    }
}
