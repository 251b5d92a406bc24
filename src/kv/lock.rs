//! A short lease in Redis, so that of several service instances only one runs a job at a time
//! (`SET NX PX`; released only by its holder).

use redis::Script;

use super::{Kv, KvError};

const RELEASE: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"#;

impl Kv {
    /// Takes the lease `name` for `ttl_ms` if nobody holds it; returns the holder's token.
    pub async fn try_lock(&self, name: &str, ttl_ms: u64) -> Result<Option<String>, KvError> {
        let token = uuid::Uuid::new_v4().to_string();
        let taken: Option<String> = self
            .run(
                redis::cmd("SET")
                    .arg(self.key("lock", name))
                    .arg(&token)
                    .arg("NX")
                    .arg("PX")
                    .arg(ttl_ms),
            )
            .await?;
        Ok(taken.map(|_| token))
    }

    pub async fn unlock(&self, name: &str, token: &str) -> Result<(), KvError> {
        let _: i64 = self
            .eval(Script::new(RELEASE).key(self.key("lock", name)).arg(token))
            .await?;
        Ok(())
    }
}
