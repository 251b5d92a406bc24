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

/// How often a recording's transcription is tried before it is left without a transcript.
pub const TRANSCRIBE_TRIES: i64 = 3;

/// A recording whose transcription is to be done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Untranscribed {
    pub id: String,
    pub consultation_id: String,
    pub url: String,
}

/// A recording whose audio is past its retention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expired {
    pub id: String,
    pub url: String,
}

impl Db {
    /// Adds a recording to a consultation once (a retried webhook adds nothing); its id when
    /// added.
    pub async fn add_recording(
        &self,
        consultation_id: &str,
        call_sid: &str,
        purpose: &str,
        url: &str,
        duration_secs: u32,
    ) -> Result<Option<String>, StorageError> {
        let id = new_id();
        let added = sqlx::query(
            "INSERT INTO recordings (id, consultation_id, call_sid, purpose, url, duration_secs, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (call_sid, url) DO NOTHING",
        )
        .bind(&id)
        .bind(consultation_id)
        .bind(call_sid)
        .bind(purpose)
        .bind(url)
        .bind(i64::from(duration_secs))
        .bind(now())
        .execute(self.pool())
        .await?;
        Ok((added.rows_affected() > 0).then_some(id))
    }

    /// Takes a recording's transcription for this process at `now`: true unless it is
    /// transcribed, its audio is gone, it was tried [`TRANSCRIBE_TRIES`] times, or another
    /// process claimed it at or after `stale_before` (that one is still at it).
    pub async fn claim_transcription(&self, id: &str, stale_before: &str, now: &str) -> Result<bool, StorageError> {
        let claimed = sqlx::query(
            "UPDATE recordings SET transcribe_claimed_at = $1, transcribe_tries = transcribe_tries + 1
             WHERE id = $2 AND transcript IS NULL AND deleted_at IS NULL AND transcribe_tries < $3
               AND (transcribe_claimed_at IS NULL OR transcribe_claimed_at < $4)",
        )
        .bind(now)
        .bind(id)
        .bind(TRANSCRIBE_TRIES)
        .bind(stale_before)
        .execute(self.pool())
        .await?;
        Ok(claimed.rows_affected() == 1)
    }

    /// Recordings made after `after` and still without a transcript whose transcription nobody
    /// claimed (or whose claim is stale) since `stale_before`, oldest first.
    pub async fn untranscribed(
        &self,
        after: &str,
        stale_before: &str,
        limit: i64,
    ) -> Result<Vec<Untranscribed>, StorageError> {
        let rows = sqlx::query(
            "SELECT id, consultation_id, url FROM recordings
             WHERE transcript IS NULL AND deleted_at IS NULL AND transcribe_tries < $1
               AND created_at > $2 AND COALESCE(transcribe_claimed_at, created_at) < $3
             ORDER BY created_at, id LIMIT $4",
        )
        .bind(TRANSCRIBE_TRIES)
        .bind(after)
        .bind(stale_before)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Untranscribed {
                    id: r.try_get("id")?,
                    consultation_id: r.try_get("consultation_id")?,
                    url: r.try_get("url")?,
                })
            })
            .collect()
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
