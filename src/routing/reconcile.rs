//! Rebuilds the Redis queue from SQL: every consultation waiting for a callback is queued,
//! keeping the place of those already there.

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
    Ok(CallbackQueue::new(kv).enqueue_many(&entries).await?)
}

/// Stored RFC 3339 time → epoch milliseconds (0 for an unreadable value: served first).
pub fn epoch_ms(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339).map_or(0, |t| t.timestamp_millis())
}
