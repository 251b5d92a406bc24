//! What `hotline queue show` prints: every consultation waiting for a callback, from SQL (the
//! record), with its place and state in the Redis queue (none if Redis has lost it and the
//! reconciler has not put it back yet).

use serde::Serialize;

use super::reconcile::{epoch_ms, ReconcileError};
use super::CallbackQueue;
use crate::kv::Kv;
use crate::storage::Db;

#[derive(Debug, Serialize)]
pub struct WaitingEntry {
    pub id: String,
    pub ticket: String,
    /// Priority class: criminal_notification, urgent, severe_disability, normal.
    pub priority: String,
    /// Minutes of waiting the queue orders by: real waiting plus the class's head start.
    pub effective_priority: Option<i64>,
    pub matter: Option<String>,
    pub prefecture: Option<String>,
    pub county: Option<String>,
    pub channel: String,
    /// The consultation's state in SQL.
    pub state: String,
    /// In Redis: waiting, offered or accepted.
    pub queue_state: Option<String>,
    pub waiting_secs: i64,
    /// 1-based; `None` when the entry is not waiting in Redis.
    pub queue_position: Option<u64>,
}

/// Oldest first. With Redis down every position is `None` rather than an error.
pub async fn waiting(db: &Db, kv: &Kv) -> Result<Vec<WaitingEntry>, ReconcileError> {
    let queue = CallbackQueue::new(kv);
    let now = chrono::Utc::now().timestamp_millis();
    let mut out = Vec::new();
    for c in db.waiting_consultations().await? {
        let queue_position = queue.position(&c.id).await.unwrap_or(None);
        let queue_state = queue.state(&c.id).await.unwrap_or(None).map(|(state, _)| state);
        let effective_priority = queue
            .score(&c.id)
            .await
            .unwrap_or(None)
            .map(|score| (now - score) / 60_000);
        out.push(WaitingEntry {
            waiting_secs: (now - epoch_ms(&c.created_at)).max(0) / 1000,
            ticket: c.ticket.to_string(),
            id: c.id,
            priority: c.priority.as_str().to_owned(),
            effective_priority,
            matter: c.matter,
            prefecture: c.prefecture,
            county: c.county,
            channel: c.channel.as_str().to_owned(),
            state: c.status.as_str().to_owned(),
            queue_state,
            queue_position,
        });
    }
    Ok(out)
}
