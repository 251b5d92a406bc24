//! Texts that a stopped process stored but never handed to the provider. The message's row is
//! the job: stored before the send, given the provider's id after it.

use chrono::{DateTime, Utc};

use crate::app::AppState;
use crate::domain::PhoneNumber;
use crate::storage::StorageError;

/// How long after its last touch a text still without a provider id counts as abandoned: far
/// longer than a live sender's attempts and retries take.
const ABANDONED_AFTER_MINS: i64 = 5;
/// Older texts are not sent any more: their news is stale.
const RESUME_WITHIN_HOURS: i64 = 24;

/// Sends the abandoned texts now, each claimed first so two processes do not both send it. At
/// least once: a process that died between the provider's acceptance and recording it sends
/// that text a second time.
pub async fn resume(state: &AppState, now: DateTime<Utc>) -> Result<usize, StorageError> {
    // Messages are stamped with microseconds (their order in a thread).
    let at = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let after = at(now - chrono::Duration::hours(RESUME_WITHIN_HOURS));
    let before = at(now - chrono::Duration::minutes(ABANDONED_AFTER_MINS));
    let mut resumed = 0;
    for text in state.db.unsent_texts(&after, &before, 100).await? {
        if !state.db.claim_unsent(&text, &at(now)).await? {
            continue;
        }
        let to = state
            .db
            .caller_phone(&text.caller_id)
            .await?
            .and_then(|p| PhoneNumber::parse(&p).ok());
        match to {
            Some(to) => crate::notify::deliver(state, &text.id, &to, &text.body).await?,
            None => state.db.set_message_failed(&text.id, "no phone number").await?,
        }
        resumed += 1;
    }
    Ok(resumed)
}
