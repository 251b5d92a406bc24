//! Webhook de-duplication: the answer to each delivery, kept under
//! `<prefix>:v1:dedup:<key>` for a day, so a provider's retry is answered from Redis without
//! touching anything else. SQL keeps the same answer (see `storage::events`) for when
//! Redis has lost it.

use super::{Kv, KvError};

impl Kv {
    pub async fn remembered_response(&self, dedup_key: &str) -> Result<Option<String>, KvError> {
        self.run(redis::cmd("GET").arg(self.key("dedup", dedup_key))).await
    }

    /// Keeps the first answer; a later one for the same key does not replace it.
    pub async fn remember_response(&self, dedup_key: &str, response: &str, ttl_secs: u64) -> Result<(), KvError> {
        let _: Option<String> = self
            .run(
                redis::cmd("SET")
                    .arg(self.key("dedup", dedup_key))
                    .arg(response)
                    .arg("NX")
                    .arg("EX")
                    .arg(ttl_secs),
            )
            .await?;
        Ok(())
    }
}
