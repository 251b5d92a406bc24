//! Recording retention: callers' recordings (a problem description, a note, a spoken menu
//! answer) stay with the provider, where the service fetches them for recognition. Once older
//! than `jobs.recording_retention_days`, the audio is deleted there (REST `DELETE
//! …/Recordings/{Sid}.json`) and the row notes when; the transcript and the consultation stay.
//! A recording the provider no longer has counts as deleted; a failed delete is tried again on
//! the next run.

use chrono::{DateTime, Utc};

use crate::app::AppState;
use crate::providers::twilio::RestError;
use crate::storage::StorageError;

const BATCH: i64 = 200;

#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Provider(#[from] RestError),
}

/// `https://api.twilio.com/2010-04-01/Accounts/AC…/Recordings/RE…(.wav)` → `RE…`.
pub fn recording_sid(url: &str) -> Option<&str> {
    let last = url.split(['?', '#']).next()?.rsplit('/').next()?;
    let sid = last.split('.').next()?;
    let ok = sid.len() == 34 && sid.starts_with("RE") && sid[2..].bytes().all(|b| b.is_ascii_hexdigit());
    ok.then_some(sid)
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
            match recording_sid(&r.url) {
                Some(sid) => state.rest.delete_recording(sid).await?,
                // Not one of the provider's recordings: there is nothing of ours to delete.
                None => tracing::warn!(recording = %r.id, "recording URL is not the provider's; nothing deleted"),
            }
            state.db.mark_recording_deleted(&r.id).await?;
            deleted += 1;
        }
        if (batch.len() as i64) < BATCH {
            return Ok(deleted);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::recording_sid;

    #[test]
    fn the_sid_comes_from_the_recording_url() {
        let sid = "RE0123456789abcdef0123456789abcdef";
        for url in [
            format!("https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/{sid}"),
            format!("https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/{sid}.wav"),
            format!("https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/{sid}.mp3?x=1"),
        ] {
            assert_eq!(recording_sid(&url), Some(sid), "{url}");
        }
        assert_eq!(recording_sid("https://example.org/audio/RE123.wav"), None);
        assert_eq!(
            recording_sid("https://example.org/audio/CA0123456789abcdef0123456789abcdef"),
            None
        );
    }
}
