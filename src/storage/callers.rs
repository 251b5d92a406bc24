//! Callers: one row per phone number, the number encrypted and found by its keyed hash.

use sqlx::Row;

use super::{new_id, now, Db, StorageError};
use crate::domain::PhoneNumber;
use crate::speech::SpeechRate;

impl Db {
    /// The caller's id, creating the caller on first contact.
    pub async fn upsert_caller(&self, phone: &PhoneNumber) -> Result<String, StorageError> {
        let hash = self.key().lookup_hash(phone.e164());
        let at = now();
        sqlx::query(
            "INSERT INTO callers (id, phone_hash, phone_enc, created_at, last_seen_at) VALUES ($1, $2, $3, $4, $4)
             ON CONFLICT (phone_hash) DO UPDATE SET last_seen_at = excluded.last_seen_at",
        )
        .bind(new_id())
        .bind(&hash)
        .bind(self.key().encrypt(phone.e164().as_bytes()))
        .bind(&at)
        .execute(self.pool())
        .await?;
        let row = sqlx::query("SELECT id FROM callers WHERE phone_hash = $1")
            .bind(&hash)
            .fetch_one(self.pool())
            .await?;
        Ok(row.try_get("id")?)
    }

    /// The caller's phone number, decrypted.
    pub async fn caller_phone(&self, caller_id: &str) -> Result<Option<String>, StorageError> {
        let row = sqlx::query("SELECT phone_enc FROM callers WHERE id = $1")
            .bind(caller_id)
            .fetch_optional(self.pool())
            .await?;
        match row {
            None => Ok(None),
            Some(row) => {
                let sealed: Vec<u8> = row.try_get("phone_enc")?;
                Ok(Some(self.key().decrypt_string(&sealed)?))
            }
        }
    }

    /// The caller's remembered speech rate.
    pub async fn caller_speech_rate(&self, caller_id: &str) -> Result<SpeechRate, StorageError> {
        let row = sqlx::query("SELECT speech_rate FROM callers WHERE id = $1")
            .bind(caller_id)
            .fetch_optional(self.pool())
            .await?;
        let rate: Option<String> = row.map(|r| r.try_get("speech_rate")).transpose()?;
        Ok(rate.as_deref().and_then(SpeechRate::parse).unwrap_or_default())
    }

    pub async fn set_caller_speech_rate(&self, caller_id: &str, rate: SpeechRate) -> Result<(), StorageError> {
        sqlx::query("UPDATE callers SET speech_rate = $1 WHERE id = $2")
            .bind(rate.as_str())
            .bind(caller_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
