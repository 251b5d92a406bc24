//! Recordings whose transcription a stopped process never finished (or never began), within a
//! day of their making.

use chrono::{DateTime, Utc};

use crate::app::AppState;
use crate::inbound::transcribe::{start, STALE_AFTER};
use crate::storage::{stamp, StorageError};

/// Older recordings are left without a transcript: the lawyer has listened to them by then.
const RESUME_WITHIN_HOURS: i64 = 24;

/// Starts the transcriptions due again; how many were started.
pub async fn resume(state: &AppState, now: DateTime<Utc>) -> Result<usize, StorageError> {
    if state.asr.is_none() {
        return Ok(0);
    }
    let after = stamp(now - chrono::Duration::hours(RESUME_WITHIN_HOURS));
    let stale = stamp(now - chrono::Duration::from_std(STALE_AFTER).unwrap_or_default());
    let mut started = 0;
    for r in state.db.untranscribed(&after, &stale, 20).await? {
        if start(state, r, now).await? {
            started += 1;
        }
    }
    Ok(started)
}
