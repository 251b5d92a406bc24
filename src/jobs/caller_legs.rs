//! Callbacks whose lawyer answered and waits in the room, but whose caller was never rung: the
//! process that was to place the call stopped first. The assignment's row is the job (state
//! `calling_caller`, no caller's call yet); it is claimed, then the caller's phone rings.

use chrono::{DateTime, Utc};

use crate::app::AppState;
use crate::routing::callback::call_caller_in_background;
use crate::storage::{stamp, StorageError};

/// A live process places the call within the provider's request timeout (10 s by default);
/// one due longer than this was abandoned.
const STALLED_AFTER_SECS: i64 = 30;

/// Rings the callers of stalled callbacks, each claimed first so that two processes do not
/// both ring. At least once: a process that died between the provider's acceptance and
/// recording the call rings that caller a second time.
pub async fn resume(state: &AppState, now: DateTime<Utc>) -> Result<usize, StorageError> {
    let stale = stamp(now - chrono::Duration::seconds(STALLED_AFTER_SECS));
    let mut resumed = 0;
    for a in state.db.stalled_caller_legs(&stale, 20).await? {
        if state.db.claim_caller_leg(&a.id, &stale, &stamp(now)).await? {
            tracing::info!(assignment = %a.id, "callback: ringing the caller a stopped process never rang");
            call_caller_in_background(state.clone(), a.id);
            resumed += 1;
        }
    }
    Ok(resumed)
}
