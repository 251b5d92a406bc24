//! Counting events per subject in a fixed window (rate limits).

use super::{Kv, KvError};

impl Kv {
    /// Counts one more `name` event for `subject` and returns the count in the current window
    /// of `window_secs` (the window starts with the first event).
    pub async fn count_in_window(&self, name: &str, subject: &str, window_secs: u64) -> Result<i64, KvError> {
        let key = self.key(name, subject);
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("INCR")
            .arg(&key)
            .cmd("EXPIRE")
            .arg(&key)
            .arg(window_secs)
            .arg("NX")
            .ignore();
        let (count,): (i64,) = self.run_pipeline(&pipe).await?;
        Ok(count)
    }

    /// The count in the window so far, without adding to it.
    pub async fn counted(&self, name: &str, subject: &str) -> Result<i64, KvError> {
        let count: Option<i64> = self.run(redis::cmd("GET").arg(self.key(name, subject))).await?;
        Ok(count.unwrap_or(0))
    }
}
