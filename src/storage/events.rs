//! Provider events: every webhook delivery stored once, before it is acted on, with the answer
//! we gave, so that a retried delivery changes nothing and gets the same answer.

use sqlx::Row;

use super::{is_unique_violation, new_id, now, Db, StorageError};

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

/// Whether the delivery is new, and the answer given to it before if it is not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    New,
    Seen { response: Option<String> },
}

impl Db {
    pub async fn record_event(&self, event: &NewEvent<'_>) -> Result<Delivery, StorageError> {
        let payload = self.key().encrypt(event.payload.to_string().as_bytes());
        let inserted = sqlx::query(
            "INSERT INTO provider_events (id, dedup_key, provider, kind, subject_sid, payload_enc, received_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(new_id())
        .bind(event.dedup_key)
        .bind(event.provider)
        .bind(event.kind)
        .bind(event.subject_sid)
        .bind(payload)
        .bind(now())
        .execute(self.pool())
        .await;
        match inserted {
            Ok(_) => Ok(Delivery::New),
            Err(e) if is_unique_violation(&e) => {
                let row = sqlx::query("SELECT response FROM provider_events WHERE dedup_key = $1")
                    .bind(event.dedup_key)
                    .fetch_one(self.pool())
                    .await?;
                Ok(Delivery::Seen {
                    response: row.try_get("response")?,
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    pub async fn set_event_response(&self, dedup_key: &str, response: &str) -> Result<(), StorageError> {
        sqlx::query("UPDATE provider_events SET response = $1 WHERE dedup_key = $2 AND response IS NULL")
            .bind(response)
            .bind(dedup_key)
            .execute(self.pool())
            .await?;
        Ok(())
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
