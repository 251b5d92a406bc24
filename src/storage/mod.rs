//! SQL storage, the system of record: SQLite by default, PostgreSQL when the URL says so.
//!
//! One set of portable queries runs on both through sqlx's `Any` driver (`$n` placeholders work
//! on both); each backend has its own migrations folder with the same tables. Ids are UUID
//! text, times RFC 3339 text, personal data ciphertext (see [`crate::crypto`]).

pub mod applications;
pub mod assignments;
pub mod audit;
pub mod batch;
pub mod callers;
pub mod calls;
pub mod cases;
pub mod consultations;
pub mod conversations;
pub mod durable;
pub mod events;
pub mod lawyers;
pub mod link;
pub mod messages;
pub mod notes;
pub mod recordings;
pub mod sessions;
pub mod users;

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use sqlx::AnyConnection;

use link::{Link, Single};

use crate::crypto::{CryptoError, DataKey};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error("could not create the database folder {0}")]
    Folder(String),
    #[error("could not flush the database to disk: {0}")]
    Flush(std::io::Error),
    #[error("a write failed for want of storage {0} s ago")]
    RecentFault(u64),
    #[error("the database at {at} cannot be reached: {reason}")]
    Unreachable { at: String, reason: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The link to the database, which backend it is, the key for personal data, and (SQLite in a file) the group
/// commit that makes a request's writes durable.
#[derive(Debug, Clone)]
pub struct Db {
    link: Link,
    backend: Backend,
    key: DataKey,
    wal: Option<std::sync::Arc<durable::WalSync>>,
    /// The URL connected to (it may hold a password), to say why it cannot be reached.
    url: secrecy::SecretString,
}

impl Db {
    /// Connects lazily: the service starts and answers calls (with the fallback) even when the
    /// database is not reachable yet; each query waits at most `acquire_timeout`.
    ///
    /// SQLite gets one connection in exclusive locking mode, taken in turn by each statement
    /// (see [`link`]). Every write goes through one writer
    /// anyway (SQLite has a single write lock), so a pool of them only sleeps in the busy
    /// handler; and in exclusive mode the WAL index lives in this process's memory instead of a
    /// memory-mapped `-shm` file, whose loss (truncated, or a disk fault) would otherwise kill
    /// the process with SIGBUS on its next query. The price: while `hotline serve` runs, other
    /// processes (the admin commands) cannot open the file; PostgreSQL has no such limit.
    /// Commits are flushed to disk by [`Db::flush`], one fsync for every request waiting (see
    /// [`durable`]).
    pub fn connect(
        url: &str,
        max_connections: u32,
        acquire_timeout: Duration,
        key: DataKey,
    ) -> Result<Self, StorageError> {
        sqlx::any::install_default_drivers();
        let (backend, link, wal) = if url.starts_with("sqlite:") {
            let file = ensure_sqlite_folder(url)?;
            let url = &creating(url, file.is_some());
            // Flushed by `flush` where a file holds the database; in memory, nothing to flush.
            let setup: link::Setup = if file.is_some() {
                sqlite_in_file
            } else {
                sqlite_in_memory
            };
            let wal = file.map(|f| std::sync::Arc::new(durable::WalSync::new(f)));
            let single = Single::new(url, setup, acquire_timeout);
            (Backend::Sqlite, Link::Single(std::sync::Arc::new(single)), wal)
        } else {
            let pool = AnyPoolOptions::new()
                .acquire_timeout(acquire_timeout)
                .max_connections(max_connections)
                .connect_lazy(url)?;
            (Backend::Postgres, Link::Pool(pool), None)
        };
        Ok(Self {
            link,
            backend,
            key,
            wal,
            url: secrecy::SecretString::from(url.to_owned()),
        })
    }

    /// A first statement's failure, with the address and the real reason where the pool says
    /// only that it timed out (the server refused, a name did not resolve, a password was wrong).
    async fn explained(&self, e: sqlx::Error) -> StorageError {
        use secrecy::ExposeSecret;
        use sqlx::Connection;
        if !matches!(e, sqlx::Error::PoolTimedOut) || self.backend != Backend::Postgres {
            return e.into();
        }
        let url = self.url.expose_secret();
        let at = url::Url::parse(url).map_or_else(
            |_| "the configured address".to_owned(),
            |u| format!("{}:{}", u.host_str().unwrap_or("localhost"), u.port().unwrap_or(5432)),
        );
        let attempt = tokio::time::timeout(Duration::from_secs(5), sqlx::AnyConnection::connect(url)).await;
        let reason = match attempt {
            Ok(Err(e)) => e.to_string(),
            Ok(Ok(_)) => "it did not answer in time, and answers now".to_owned(),
            Err(_) => "no answer within 5 s".to_owned(),
        };
        StorageError::Unreachable { at, reason }
    }

    pub async fn migrate(&self) -> Result<(), StorageError> {
        match self.backend {
            Backend::Sqlite => {
                // WAL: one fsync a commit, and a crash loses nothing committed. It is a
                // property of the file and persists.
                sqlx::query("PRAGMA journal_mode = WAL").execute(&self.link).await?;
                SQLITE_MIGRATIONS.run(&mut *self.link.connection().await?).await?
            }
            Backend::Postgres => {
                let mut connection = match self.link.connection().await {
                    Ok(c) => c,
                    Err(e) => return Err(self.explained(e).await),
                };
                POSTGRES_MIGRATIONS.run(&mut *connection).await?
            }
        }
        Ok(())
    }

    /// Makes every write committed so far durable (on PostgreSQL and SQLite in memory they
    /// already are): called before a request that wrote is answered.
    pub async fn flush(&self) -> Result<(), StorageError> {
        match &self.wal {
            Some(wal) => wal.sync().await.map_err(StorageError::Flush),
            None => Ok(()),
        }
    }

    /// A write that must reach the file (or server): what a webhook needs, not only a read.
    /// On SQLite, a write that failed for want of storage in the last half minute fails it too.
    pub async fn check_write(&self) -> Result<(), StorageError> {
        if let Some(ago) = self.link.recent_fault() {
            return Err(StorageError::RecentFault(ago.as_secs()));
        }
        sqlx::query(
            "INSERT INTO health_checks (id, checked_at) VALUES (1, $1)
             ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at",
        )
        .bind(now())
        .execute(&self.link)
        .await?;
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Where statements go: an executor, like a pool.
    pub fn pool(&self) -> &Link {
        &self.link
    }

    pub fn key(&self) -> &DataKey {
        &self.key
    }

    pub async fn close(&self) {
        self.link.close().await;
    }
}

/// SQLite in a file: before the first read, so the WAL index is never shared memory; commits
/// are flushed by [`Db::flush`].
fn sqlite_in_file(connection: &mut AnyConnection) -> BoxFuture<'_, Result<(), sqlx::Error>> {
    sqlite_setup(connection, "NORMAL")
}

fn sqlite_in_memory(connection: &mut AnyConnection) -> BoxFuture<'_, Result<(), sqlx::Error>> {
    sqlite_setup(connection, "FULL")
}

fn sqlite_setup<'a>(
    connection: &'a mut AnyConnection,
    synchronous: &'static str,
) -> BoxFuture<'a, Result<(), sqlx::Error>> {
    async move {
        sqlx::query("PRAGMA locking_mode = EXCLUSIVE")
            .execute(&mut *connection)
            .await?;
        sqlx::query(&format!("PRAGMA synchronous = {synchronous}"))
            .execute(&mut *connection)
            .await?;
        Ok(())
    }
    .boxed()
}

/// A SQLite file URL that creates the file when it is missing (`mode=rwc`) unless it says
/// otherwise: without it SQLite says only "unable to open database file".
fn creating(url: &str, file: bool) -> String {
    if !file || url.contains("mode=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

/// `sqlite://./data/hotline.db?mode=rwc` → make sure `./data` exists; the database file, if the
/// database is one.
fn ensure_sqlite_folder(url: &str) -> Result<Option<PathBuf>, StorageError> {
    let path = url
        .trim_start_matches("sqlite:")
        .trim_start_matches("//")
        .split('?')
        .next()
        .unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Ok(None);
    }
    if let Some(dir) = Path::new(path).parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| StorageError::Folder(format!("{}: {e}", dir.display())))?;
    }
    Ok(Some(PathBuf::from(path)))
}

/// Now, as stored: RFC 3339 UTC with milliseconds.
pub fn now() -> String {
    stamp(chrono::Utc::now())
}

/// A time as stored, so that stored times compare as text.
pub fn stamp(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A stored code (a state, a channel, a priority…) read back as its domain type; a code the
/// type does not know is a decoding error naming the column and the value.
pub(crate) fn coded<T>(
    r: &sqlx::any::AnyRow,
    column: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<T, StorageError> {
    use sqlx::Row;
    let value: String = r.try_get(column)?;
    parse(&value).ok_or_else(|| {
        StorageError::Sql(sqlx::Error::ColumnDecode {
            index: column.to_owned(),
            source: format!("unknown code {value:?}").into(),
        })
    })
}

/// True when an insert hit a unique constraint (the row is there already).
pub(crate) fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}
