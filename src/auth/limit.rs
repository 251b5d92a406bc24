//! Login throttling without self-inflicted lock-outs, shared by every instance through Redis.
//!
//! A browser that has signed into an account before carries a device cookie for it
//! ([`super::device`]); its failures count against that device only, so nobody elsewhere can
//! lock the account's owner out. Every other attempt (a new browser, the API) counts against the
//! account and against the address it comes from. Past `console.login_attempts` failures
//! (ten times that for an address, which may be a whole office behind one NAT) each further
//! attempt waits twice as long as the one before, up to `console.login_window_mins`; a waiting
//! attempt is refused (429 with `Retry-After`) without its password being checked, even a right
//! one, so waiting cannot be skipped by guessing. Counts lapse a window after the last failure.
//! Failures since the account's last sign-in are counted for the warning shown at the next one.
//! When Redis is unreachable nothing is throttled (logged): lawyers on duty must still be able
//! to sign in, and argon2 keeps each guess slow.

use std::net::IpAddr;

use crate::config::ConsoleSettings;
use crate::kv::Kv;

/// Where an attempt comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source<'a> {
    /// A browser that signed into this account before (the device cookie's id).
    Device(&'a str),
    /// Anything else, by its address.
    Address(IpAddr),
}

pub struct LoginLimit<'a> {
    kv: &'a Kv,
    settings: &'a ConsoleSettings,
}

/// How long failures are remembered for the warning at the next sign-in.
const WARN_SECS: u64 = 90 * 24 * 3600;

impl<'a> LoginLimit<'a> {
    pub fn new(kv: &'a Kv, settings: &'a ConsoleSettings) -> Self {
        Self { kv, settings }
    }

    /// The counters an attempt is judged by, each with the failures it allows before waits.
    fn counters(&self, username: &str, source: Source<'_>) -> Vec<(String, u32)> {
        let attempts = self.settings.login_attempts;
        match source {
            Source::Device(id) => vec![(self.kv.key("login", &format!("device:{id}")), attempts)],
            Source::Address(ip) => vec![
                (self.kv.key("login", &format!("user:{username}")), attempts),
                (self.kv.key("login", &format!("ip:{ip}")), attempts.saturating_mul(10)),
            ],
        }
    }

    fn cap_secs(&self) -> u64 {
        self.settings.login_window_mins.max(1) * 60
    }

    /// Seconds this attempt must still wait, or None when it may be checked now.
    pub async fn wait(&self, username: &str, source: Source<'_>, now: i64) -> Option<u64> {
        let mut longest = None;
        for (key, allowed) in self.counters(username, source) {
            let got = self
                .kv
                .run::<(Option<u32>, Option<i64>)>(redis::cmd("HMGET").arg(&key).arg("n").arg("last"))
                .await;
            match got {
                Ok((Some(n), Some(last))) => {
                    if let Some(left) = remaining(n, allowed, last, now, self.cap_secs()) {
                        longest = longest.max(Some(left));
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "login throttle not checked: Redis unavailable"),
            }
        }
        longest
    }

    /// Counts a failed attempt (the next [`LoginLimit::wait`] says what it costs).
    pub async fn failed(&self, username: &str, source: Source<'_>, now: i64) {
        for (key, _) in self.counters(username, source) {
            let mut pipe = redis::pipe();
            pipe.cmd("HINCRBY")
                .arg(&key)
                .arg("n")
                .arg(1)
                .ignore()
                .cmd("HSET")
                .arg(&key)
                .arg("last")
                .arg(now)
                .ignore()
                .cmd("EXPIRE")
                .arg(&key)
                .arg(self.cap_secs())
                .ignore();
            if let Err(e) = self.kv.run_pipeline::<()>(&pipe).await {
                tracing::warn!(error = %e, "failed login not counted: Redis unavailable");
            }
        }
        let warn = self.kv.key("login", &format!("warn:{username}"));
        let mut pipe = redis::pipe();
        pipe.cmd("INCR")
            .arg(&warn)
            .ignore()
            .cmd("EXPIRE")
            .arg(&warn)
            .arg(WARN_SECS)
            .ignore();
        if let Err(e) = self.kv.run_pipeline::<()>(&pipe).await {
            tracing::warn!(error = %e, "failed login not remembered for the warning: Redis unavailable");
        }
    }

    /// A successful sign-in clears the count of its own source (a device's, or the account's;
    /// never the address's) and returns how many attempts failed since the last sign-in.
    pub async fn succeeded(&self, username: &str, source: Source<'_>) -> u64 {
        let (key, _) = self.counters(username, source).swap_remove(0);
        if let Err(e) = self.kv.run::<()>(redis::cmd("DEL").arg(&key)).await {
            tracing::warn!(error = %e, "login count not cleared: Redis unavailable");
        }
        let warn = self.kv.key("login", &format!("warn:{username}"));
        match self.kv.run::<Option<u64>>(redis::cmd("GETDEL").arg(&warn)).await {
            Ok(n) => n.unwrap_or(0),
            Err(e) => {
                tracing::warn!(error = %e, "failed logins not read for the warning: Redis unavailable");
                0
            }
        }
    }
}

/// After `n` failures of which `allowed` are free, the last at `last`: the seconds left at
/// `now` of the wait (2 s after the first failure past the free ones, doubling, at most `cap`).
fn remaining(n: u32, allowed: u32, last: i64, now: i64, cap: u64) -> Option<u64> {
    if n < allowed {
        return None;
    }
    let wait = 2u64.saturating_pow((n - allowed).saturating_add(1)).min(cap);
    let until = last.saturating_add(wait as i64);
    (until > now).then(|| (until - now) as u64)
}

#[cfg(test)]
mod tests {
    use super::remaining;

    #[test]
    fn waits_double_past_the_free_attempts_up_to_the_cap() {
        let waits: Vec<_> = (0..16).map(|n| remaining(n, 5, 1000, 1000, 900)).collect();
        assert_eq!(&waits[..5], &[None; 5]);
        assert_eq!(&waits[5..], &[2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900].map(Some));
        assert_eq!(remaining(5, 5, 1000, 1001, 900), Some(1));
        assert_eq!(remaining(5, 5, 1000, 1002, 900), None, "the wait is over");
        assert_eq!(remaining(u32::MAX, 0, 0, 0, 900), Some(900));
    }
}
