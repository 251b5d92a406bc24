//! The login rate limit: failed attempts counted in Redis per account and per client address
//! over a window, so a password cannot be guessed by trying many. Shared by every instance.
//! When Redis is unreachable the limit is not enforced (logged): lawyers on duty must still be
//! able to sign in during a Redis outage, and argon2 keeps each guess slow.

use std::net::IpAddr;

use crate::config::ConsoleSettings;
use crate::kv::Kv;

pub struct LoginLimit<'a> {
    kv: &'a Kv,
    settings: &'a ConsoleSettings,
}

impl<'a> LoginLimit<'a> {
    pub fn new(kv: &'a Kv, settings: &'a ConsoleSettings) -> Self {
        Self { kv, settings }
    }

    fn keys(&self, username: &str, ip: IpAddr) -> [(String, u32); 2] {
        let attempts = self.settings.login_attempts;
        [
            (self.kv.key("login", &format!("user:{username}")), attempts),
            (self.kv.key("login", &format!("ip:{ip}")), attempts.saturating_mul(10)),
        ]
    }

    /// Whether this account or address has used up its attempts.
    pub async fn blocked(&self, username: &str, ip: IpAddr) -> bool {
        for (key, max) in self.keys(username, ip) {
            match self.kv.run::<Option<u32>>(redis::cmd("GET").arg(&key)).await {
                Ok(Some(n)) if n >= max => return true,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "login limit not checked: Redis unavailable"),
            }
        }
        false
    }

    pub async fn failed(&self, username: &str, ip: IpAddr) {
        let window = self.settings.login_window_mins * 60;
        for (key, _) in self.keys(username, ip) {
            let mut pipe = redis::pipe();
            pipe.cmd("INCR")
                .arg(&key)
                .ignore()
                .cmd("EXPIRE")
                .arg(&key)
                .arg(window)
                .arg("NX")
                .ignore();
            if let Err(e) = self.kv.run_pipeline::<()>(&pipe).await {
                tracing::warn!(error = %e, "failed login not counted: Redis unavailable");
            }
        }
    }

    /// A successful login clears the account's count (not the address's).
    pub async fn succeeded(&self, username: &str, ip: IpAddr) {
        let [(key, _), _] = self.keys(username, ip);
        if let Err(e) = self.kv.run::<()>(redis::cmd("DEL").arg(&key)).await {
            tracing::warn!(error = %e, "login count not cleared: Redis unavailable");
        }
    }
}
