//! Recording retention: callers' recordings (a problem description, a note, a spoken menu
//! answer) stay with the provider, where the service fetches them for recognition. Once older
//! than `jobs.recording_retention_days`, the audio is deleted there (through the provider port) and the row
//! notes when; the transcript and the consultation stay.
//! A recording the provider no longer has counts as deleted; a failed delete is tried again on
//! the next run.

use chrono::{DateTime, Utc};

use crate::app::AppState;
use crate::providers::{Deleted, ProviderError};
use crate::storage::StorageError;

const BATCH: i64 = 200;

#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Provider(#[from] ProviderError),
}

/// Deletes every recording past its retention at `now`; returns how many.
pub async fn purge(state: &AppState, now: DateTime<Utc>) -> Result<usize, RetentionError> {
    let days = state.settings.jobs.recording_retention_days;
    if days == 0 {
        return Ok(0);
    }
    let before = (now - chrono::Duration::days(days as i64)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut deleted = 0;
    loop {
        let batch = state.db.expired_recordings(&before, BATCH).await?;
        for r in &batch {
            if state.telephony.delete_recording(&r.url).await? == Deleted::NotOurs {
                tracing::warn!(recording = %r.id, "recording URL is not the provider's; nothing deleted");
            }
            state.db.mark_recording_deleted(&r.id).await?;
            deleted += 1;
        }
        if (batch.len() as i64) < BATCH {
            return Ok(deleted);
        }
    }
}
