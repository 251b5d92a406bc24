//! `<prefix>:v1:queue:callbacks`, a sorted set of consultation ids scored by when they started
//! waiting (epoch milliseconds): the lowest score is served first.

use crate::kv::{Kv, KvError};

pub struct CallbackQueue<'a> {
    kv: &'a Kv,
}

impl<'a> CallbackQueue<'a> {
    pub fn new(kv: &'a Kv) -> Self {
        Self { kv }
    }

    fn key(&self) -> String {
        self.kv.key("queue", "callbacks")
    }

    /// Adds the consultation unless it is queued already (its place is kept). Returns whether it
    /// was added.
    pub async fn enqueue(&self, consultation_id: &str, waiting_since_ms: i64) -> Result<bool, KvError> {
        let added: i64 = self
            .kv
            .run(
                redis::cmd("ZADD")
                    .arg(self.key())
                    .arg("NX")
                    .arg(waiting_since_ms)
                    .arg(consultation_id),
            )
            .await?;
        Ok(added == 1)
    }

    /// 1-based place in the queue, if queued.
    pub async fn position(&self, consultation_id: &str) -> Result<Option<u64>, KvError> {
        let rank: Option<u64> = self
            .kv
            .run(redis::cmd("ZRANK").arg(self.key()).arg(consultation_id))
            .await?;
        Ok(rank.map(|r| r + 1))
    }
}
