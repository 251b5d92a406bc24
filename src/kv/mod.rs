//! Redis: short-lived state next to SQL. Per-call IVR sessions with a TTL, webhook
//! de-duplication keys, and (in the `routing` module) the callback queue.
//!
//! Keys are `<prefix>:v1:<kind>:<id>`; the version lets a later layout live beside this one.
//! The connection is made lazily and re-made by the `ConnectionManager`, so the service starts
//! and keeps answering calls while Redis is down: every caller of [`Kv`] treats an error as
//! "no state" and carries on, with SQL as the system of record.

pub mod dedup;
pub mod lock;
pub mod rate;
pub mod session;

use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::Mutex;

#[derive(Debug, thiserror::Error)]
pub enum KvError {
    #[error("redis error: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("redis did not answer within {0:?}")]
    Timeout(Duration),
    #[error("redis was unreachable moments ago; not retrying yet")]
    CoolingDown,
    #[error("stored state is not valid JSON: {0}")]
    Decode(#[from] serde_json::Error),
}

/// A namespaced, lazily connected Redis handle. Cheap to share behind an `Arc`.
pub struct Kv {
    client: redis::Client,
    prefix: String,
    timeout: Duration,
    conn: Mutex<Connection>,
}

enum Connection {
    None,
    Up(ConnectionManager),
    /// The last attempt failed at this instant: callers fail fast for a moment instead of each
    /// waiting out a connection timeout.
    Down(Instant),
}

const RETRY_AFTER: Duration = Duration::from_secs(1);

impl Kv {
    pub fn new(url: &str, prefix: &str, timeout: Duration) -> Result<Self, KvError> {
        Ok(Self {
            client: redis::Client::open(url)?,
            prefix: prefix.to_owned(),
            timeout,
            conn: Mutex::new(Connection::None),
        })
    }

    /// `<prefix>:v1:<kind>:<id>`
    pub fn key(&self, kind: &str, id: &str) -> String {
        format!("{}:v1:{kind}:{id}", self.prefix)
    }

    pub async fn connection(&self) -> Result<ConnectionManager, KvError> {
        let mut conn = self.conn.lock().await;
        match &*conn {
            Connection::Up(m) => return Ok(m.clone()),
            Connection::Down(at) if at.elapsed() < RETRY_AFTER => return Err(KvError::CoolingDown),
            _ => {}
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(1);
        let attempt = tokio::time::timeout(
            self.timeout * 2,
            ConnectionManager::new_with_config(self.client.clone(), config),
        )
        .await;
        match attempt {
            Ok(Ok(m)) => {
                *conn = Connection::Up(m.clone());
                Ok(m)
            }
            Ok(Err(e)) => {
                *conn = Connection::Down(Instant::now());
                Err(e.into())
            }
            Err(_) => {
                *conn = Connection::Down(Instant::now());
                Err(KvError::Timeout(self.timeout * 2))
            }
        }
    }

    /// Runs one command with the configured time limit.
    pub async fn run<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, KvError> {
        let mut conn = self.connection().await?;
        match tokio::time::timeout(self.timeout, cmd.query_async(&mut conn)).await {
            Ok(result) => Ok(result?),
            Err(_) => Err(KvError::Timeout(self.timeout)),
        }
    }

    /// Runs a pipeline, allowing the configured time limit per 100 commands.
    pub async fn run_pipeline<T: redis::FromRedisValue>(&self, pipe: &redis::Pipeline) -> Result<T, KvError> {
        let mut conn = self.connection().await?;
        let limit = self.timeout * (1 + pipe.len() as u32 / 100);
        match tokio::time::timeout(limit, pipe.query_async(&mut conn)).await {
            Ok(result) => Ok(result?),
            Err(_) => Err(KvError::Timeout(limit)),
        }
    }

    /// Runs a Lua script (atomic on the server) with the configured time limit.
    pub async fn eval<T: redis::FromRedisValue>(&self, invocation: &redis::ScriptInvocation<'_>) -> Result<T, KvError> {
        let mut conn = self.connection().await?;
        match tokio::time::timeout(self.timeout, invocation.invoke_async(&mut conn)).await {
            Ok(result) => Ok(result?),
            Err(_) => Err(KvError::Timeout(self.timeout)),
        }
    }

    /// A connection of its own for blocking commands (BLPOP, XREADGROUP … BLOCK), which would
    /// hold up every other command on the shared one; `limit` bounds each answer.
    pub async fn dedicated(&self, limit: Duration) -> Result<redis::aio::MultiplexedConnection, KvError> {
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(limit));
        Ok(self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await?)
    }

    pub async fn ping(&self) -> Result<(), KvError> {
        let _: String = self.run(&redis::cmd("PING")).await?;
        Ok(())
    }
}
