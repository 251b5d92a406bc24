//! A recorded description or note is transcribed into the consultation off the call's path.
//! The recording's row is the job: it is claimed before recognition starts, so a process that
//! stops meanwhile leaves a claim that goes stale, and the transcripts job of any process
//! takes it over (at most [`TRANSCRIBE_TRIES`](crate::storage::recordings::TRANSCRIBE_TRIES)
//! tries in all).

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::app::AppState;
use crate::asr::Mode;
use crate::storage::recordings::Untranscribed;
use crate::storage::{stamp, StorageError};

/// A description may take this long to fetch and recognise.
const TIMEOUT: Duration = Duration::from_secs(600);
/// A claim older than this belongs to a process that stopped: longer than [`TIMEOUT`].
pub const STALE_AFTER: Duration = Duration::from_secs(900);

/// Claims the recording's transcription and runs it in the background (a shutdown lets it
/// finish); false when there is no recogniser, or the recording is transcribed, gone, tried
/// out, or being transcribed by a live process.
pub async fn start(state: &AppState, r: Untranscribed, now: DateTime<Utc>) -> Result<bool, StorageError> {
    let Some(asr) = state.asr.clone() else {
        return Ok(false);
    };
    let stale = now - chrono::Duration::from_std(STALE_AFTER).unwrap_or_default();
    if !state.db.claim_transcription(&r.id, &stamp(stale), &stamp(now)).await? {
        return Ok(false);
    }
    let state = state.clone();
    state.clone().tasks.spawn(async move {
        let max_secs = state.settings.whisper.max_recording_secs;
        match asr.recognise_url(&r.url, Mode::Free, max_secs, TIMEOUT).await {
            Ok(t) => {
                if let Err(e) = state.db.set_transcript(&r.consultation_id, &r.url, &t.text).await {
                    tracing::warn!(recording = %r.id, error = %e, "transcript not stored");
                }
                tracing::info!(
                    recording = %r.id,
                    audio_secs = t.audio_secs,
                    ms = t.ms,
                    "recording transcribed"
                );
            }
            Err(e) => tracing::warn!(recording = %r.id, error = %e, "recording not transcribed"),
        }
    });
    Ok(true)
}
