//! What callers said into a recording prompt: the provider's recording, kept per consultation.
//! The transcript is filled in by speech recognition.

use sqlx::Row;

use super::{new_id, now, Db, StorageError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingRow {
    pub id: String,
    pub purpose: String,
    pub url: String,
    pub duration_secs: i64,
    pub transcript: Option<String>,
    /// When the retention job deleted the audio at the provider.
    pub deleted_at: Option<String>,
}

/// A recording whose audio is past its retention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expired {
    pub id: String,
    pub url: String,
}

impl Db {
    /// Adds a recording to a consultation once (a retried webhook adds nothing); true when added.
    pub async fn add_recording(
        &self,
        consultation_id: &str,
        call_sid: &str,
        purpose: &str,
        url: &str,
        duration_secs: u32,
    ) -> Result<bool, StorageError> {
        let added = sqlx::query(
            "INSERT INTO recordings (id, consultation_id, call_sid, purpose, url, duration_secs, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (call_sid, url) DO NOTHING",
        )
        .bind(new_id())
        .bind(consultation_id)
        .bind(call_sid)
        .bind(purpose)
        .bind(url)
        .bind(i64::from(duration_secs))
        .bind(now())
        .execute(self.pool())
        .await?;
        Ok(added.rows_affected() > 0)
    }

    /// The recognised text of a recording.
    pub async fn set_transcript(&self, consultation_id: &str, url: &str, transcript: &str) -> Result<(), StorageError> {
        sqlx::query("UPDATE recordings SET transcript = $1 WHERE consultation_id = $2 AND url = $3")
            .bind(transcript)
            .bind(consultation_id)
            .bind(url)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Recordings made before `before` whose audio has not been deleted yet, oldest first.
    pub async fn expired_recordings(&self, before: &str, limit: i64) -> Result<Vec<Expired>, StorageError> {
        let rows = sqlx::query(
            "SELECT id, url FROM recordings WHERE deleted_at IS NULL AND created_at < $1 ORDER BY created_at, id LIMIT $2",
        )
        .bind(before)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Expired {
                    id: r.try_get("id")?,
                    url: r.try_get("url")?,
                })
            })
            .collect()
    }

    pub async fn mark_recording_deleted(&self, id: &str) -> Result<(), StorageError> {
        sqlx::query("UPDATE recordings SET deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL")
            .bind(now())
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn recordings_of(&self, consultation_id: &str) -> Result<Vec<RecordingRow>, StorageError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM recordings WHERE consultation_id = $1 ORDER BY created_at, id"
        ))
        .bind(consultation_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(recording).collect()
    }

    /// One recording of a consultation (a recording id under another consultation is not found).
    pub async fn recording_of(&self, consultation_id: &str, id: &str) -> Result<Option<RecordingRow>, StorageError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM recordings WHERE consultation_id = $1 AND id = $2"
        ))
        .bind(consultation_id)
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(recording).transpose()
    }
}

const COLUMNS: &str = "id, purpose, url, duration_secs, transcript, deleted_at";

fn recording(r: &sqlx::any::AnyRow) -> Result<RecordingRow, StorageError> {
    Ok(RecordingRow {
        id: r.try_get("id")?,
        purpose: r.try_get("purpose")?,
        url: r.try_get("url")?,
        duration_secs: r.try_get("duration_secs")?,
        transcript: r.try_get("transcript")?,
        deleted_at: r.try_get("deleted_at")?,
    })
}
