//! Per-call IVR session state: a JSON value under `<prefix>:v1:session:<CallSid>` that expires
//! some hours after the call's last webhook.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{Kv, KvError};

impl Kv {
    pub async fn load_session<S: DeserializeOwned>(&self, call_sid: &str) -> Result<Option<S>, KvError> {
        let raw: Option<String> = self.run(redis::cmd("GET").arg(self.key("session", call_sid))).await?;
        raw.map(|r| serde_json::from_str(&r).map_err(KvError::from)).transpose()
    }

    pub async fn save_session<S: Serialize>(&self, call_sid: &str, session: &S, ttl_secs: u64) -> Result<(), KvError> {
        let value = serde_json::to_string(session)?;
        let () = self
            .run(
                redis::cmd("SET")
                    .arg(self.key("session", call_sid))
                    .arg(value)
                    .arg("EX")
                    .arg(ttl_secs),
            )
            .await?;
        Ok(())
    }

    pub async fn end_session(&self, call_sid: &str) -> Result<(), KvError> {
        let _: i64 = self.run(redis::cmd("DEL").arg(self.key("session", call_sid))).await?;
        Ok(())
    }
}
