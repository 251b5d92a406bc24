//! Rebuilds the Redis queue from SQL: every consultation waiting for a callback is queued,
//! keeping the place of those already there, and one that Redis still holds as taken by a
//! lawyer although no callback of it goes on (its end could not reach Redis) waits again.

use crate::kv::Kv;
use crate::routing::queue::Waiting;
use crate::routing::CallbackQueue;
use crate::storage::Db;

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
    #[error(transparent)]
    Kv(#[from] crate::kv::KvError),
}

/// Returns how many consultations had to be re-queued.
pub async fn reconcile(db: &Db, kv: &Kv) -> Result<usize, ReconcileError> {
    let waiting = db.waiting_consultations().await?;
    let entries: Vec<Waiting> = waiting.iter().map(Waiting::of).collect();
    let queue = CallbackQueue::new(kv);
    let mut fixed = queue.enqueue_many(&entries).await?;
    let now = chrono::Utc::now().timestamp_millis();
    for c in &waiting {
        let taken = matches!(queue.state(&c.id).await?, Some((state, _)) if state == "accepted");
        if taken && !db.is_being_called_back(&c.id).await? && queue.requeue(&c.id, now).await? {
            fixed += 1;
        }
    }
    Ok(fixed)
}

/// Stored RFC 3339 time → epoch milliseconds (0 for an unreadable value: served first).
pub fn epoch_ms(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339).map_or(0, |t| t.timestamp_millis())
}
