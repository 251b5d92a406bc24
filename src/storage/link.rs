//! How statements reach the database: PostgreSQL through a pool, SQLite through its one
//! connection taken in turn.
//!
//! SQLite runs on a single connection (see [`super::Db::connect`]). Behind a pool of one, every
//! statement paid the pool's hand-over — the connection went back through a task of its own
//! before the next waiter was woken — and under load each statement waited far longer for the
//! connection than it ran (issue 15: four statements a request, 20 ms each at 64 connections).
//! Here the connection sits behind a fair lock: a statement takes it, runs, and hands it
//! straight to the next. [`Link`] is an executor like the pool, so queries read the same for
//! both backends.

use std::collections::VecDeque;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use either::Either;
use futures_util::future::BoxFuture;
use futures_util::stream::{BoxStream, StreamExt};
use futures_util::FutureExt;
use sqlx::any::{AnyQueryResult, AnyRow, AnyStatement, AnyTypeInfo};
use sqlx::Describe;
use sqlx::{Any, AnyConnection, AnyPool, Connection, Execute, Executor};
use tokio::sync::{mpsc, oneshot, Mutex, OwnedMutexGuard};

use super::batch::{bind, collect, joined, Done, Statement};
use super::StorageError;

/// Statements a connection runs once it is open, before any other.
pub type Setup = fn(&mut AnyConnection) -> BoxFuture<'_, Result<(), sqlx::Error>>;

/// Where a statement goes.
#[derive(Debug, Clone)]
pub enum Link {
    Pool(AnyPool),
    Single(Arc<Single>),
}

/// One connection, opened on first use (so the service starts without its database) and kept,
/// and the trips that carry many requests' statements to it at once.
#[derive(Debug)]
pub struct Single {
    opener: Opener,
    trips: OnceLock<mpsc::UnboundedSender<Job>>,
}

/// How long a failed write keeps the database reported unhealthy (see [`Link::recent_fault`]).
const FAULT_MEMORY: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
struct Opener {
    url: String,
    setup: Setup,
    acquire_timeout: Duration,
    connection: Arc<Mutex<Option<AnyConnection>>>,
    /// When a write last failed for want of storage (a full disk, an I/O error).
    fault: Arc<std::sync::Mutex<Option<std::time::Instant>>>,
}

impl Opener {
    /// Notes a failure that says the storage cannot take writes; passes the error on.
    fn noted(&self, e: sqlx::Error) -> sqlx::Error {
        self.note(&e);
        e
    }

    fn note(&self, e: &sqlx::Error) {
        if is_storage_fault(e) {
            *self.fault.lock().unwrap_or_else(|p| p.into_inner()) = Some(std::time::Instant::now());
        }
    }
}

/// SQLite's full-disk, I/O and cannot-open errors (primary codes 13, 10, 14), and I/O errors.
fn is_storage_fault(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) => true,
        sqlx::Error::Database(db) => db
            .code()
            .and_then(|c| c.parse::<i64>().ok())
            .is_some_and(|c| matches!(c & 0xff, 10 | 13 | 14)),
        _ => false,
    }
}

/// One request's statements and where their outcome goes.
struct Job {
    statements: Vec<Statement>,
    reply: oneshot::Sender<Result<Vec<Done>, StorageError>>,
}

/// At most this many statements in one trip.
const TRIP_STATEMENTS: usize = 256;

impl Single {
    pub fn new(url: &str, setup: Setup, acquire_timeout: Duration) -> Self {
        Self {
            opener: Opener {
                url: url.to_owned(),
                setup,
                acquire_timeout,
                connection: Arc::new(Mutex::new(None)),
                fault: Arc::default(),
            },
            trips: OnceLock::new(),
        }
    }

    async fn take(&self) -> Result<Taken, sqlx::Error> {
        self.opener.take().await
    }

    /// Runs one request's statements in order, in the next trip to the connection: every
    /// request waiting then goes along, so a trip's cost is shared (see [`super::batch`]).
    pub async fn submit(&self, statements: Vec<Statement>) -> Result<Vec<Done>, StorageError> {
        let trips = self.trips.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            let opener = self.opener.clone();
            // A thread of its own: woken by the connection's answers at once, not queued behind
            // the requests on the server's threads. It ends when the database is dropped.
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the SQLite trips");
            std::thread::Builder::new()
                .name("sqlite-trips".into())
                .spawn(move || runtime.block_on(carry(opener, rx)))
                .expect("a thread for the SQLite trips");
            tx
        });
        let (reply, answer) = oneshot::channel();
        trips
            .send(Job { statements, reply })
            .map_err(|_| StorageError::Sql(sqlx::Error::PoolClosed))?;
        answer.await.map_err(|_| StorageError::Sql(sqlx::Error::PoolClosed))?
    }
}

impl Opener {
    /// The connection, in turn: at most `acquire_timeout` waiting for it, as a pool would.
    async fn take(&self) -> Result<Taken, sqlx::Error> {
        let mut guard = tokio::time::timeout(self.acquire_timeout, self.connection.clone().lock_owned())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?;
        if guard.is_none() {
            let mut connection = AnyConnection::connect(&self.url).await?;
            (self.setup)(&mut connection).await?;
            *guard = Some(connection);
        }
        Ok(Taken(guard))
    }
}

/// Takes the requests waiting, in order of arrival, to the connection in as few trips as the
/// limit allows, and gives each its outcome.
async fn carry(opener: Opener, mut jobs: mpsc::UnboundedReceiver<Job>) {
    let mut waiting: VecDeque<Job> = VecDeque::new();
    loop {
        if waiting.is_empty() {
            match jobs.recv().await {
                Some(job) => waiting.push_back(job),
                None => return,
            }
        }
        while let Ok(job) = jobs.try_recv() {
            waiting.push_back(job);
        }
        let mut trip = Vec::new();
        let mut statements = 0;
        while let Some(job) = waiting.front() {
            if !trip.is_empty() && statements + job.statements.len() > TRIP_STATEMENTS {
                break;
            }
            statements += job.statements.len();
            trip.extend(waiting.pop_front());
        }
        one_trip(&opener, trip).await;
    }
}

/// One trip: every job's statements in one transaction on the connection, each job's sent as
/// one text (prepared once and kept: a job has one of a few shapes). A failed statement fails
/// its job and leaves the others; what a job ran before its failed statement stays, as it would
/// on its own. If the transaction itself is lost (a full disk), nothing in it stays and every
/// job hears so.
async fn one_trip(opener: &Opener, trip: Vec<Job>) {
    let mut connection = match opener.take().await {
        Ok(connection) => connection,
        Err(e) => return fail_all(trip, &e),
    };
    if let Err(e) = sqlx::query("BEGIN IMMEDIATE").execute(&mut *connection).await {
        return fail_all(trip, &opener.noted(e));
    }
    let mut outcomes = Vec::with_capacity(trip.len());
    for job in &trip {
        let (sql, args) = joined(&job.statements);
        let query = bind(sqlx::query(&sql), &args);
        let outcome = collect(connection.fetch_many(query), job.statements.len()).await;
        if let Err(StorageError::Sql(e)) = &outcome {
            opener.note(e);
        }
        outcomes.push(outcome);
    }
    if let Err(e) = sqlx::query("COMMIT").execute(&mut *connection).await {
        let e = opener.noted(e);
        if let Err(rollback) = sqlx::query("ROLLBACK").execute(&mut *connection).await {
            tracing::debug!(error = %rollback, "no transaction left to roll back");
        }
        return fail_all(trip, &e);
    }
    drop(connection);
    for (job, outcome) in trip.into_iter().zip(outcomes) {
        let _ = job.reply.send(outcome);
    }
}

fn fail_all(trip: Vec<Job>, e: &sqlx::Error) {
    for job in trip {
        let _ = job.reply.send(Err(StorageError::Sql(sqlx::Error::Protocol(format!(
            "not written: {e}"
        )))));
    }
}

/// The connection while one statement (or transaction) has it.
pub struct Taken(OwnedMutexGuard<Option<AnyConnection>>);

impl std::ops::Deref for Taken {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        self.0.as_ref().expect("taken only once connected")
    }
}

impl std::ops::DerefMut for Taken {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        self.0.as_mut().expect("taken only once connected")
    }
}

/// One connection held throughout (a transaction, the migrations).
pub enum Held {
    Pooled(sqlx::pool::PoolConnection<Any>),
    Single(Taken),
}

impl std::ops::Deref for Held {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        match self {
            Held::Pooled(c) => c,
            Held::Single(c) => c,
        }
    }
}

impl std::ops::DerefMut for Held {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            Held::Pooled(c) => c,
            Held::Single(c) => c,
        }
    }
}

impl Link {
    pub async fn connection(&self) -> Result<Held, sqlx::Error> {
        Ok(match self {
            Link::Pool(pool) => Held::Pooled(pool.acquire().await?),
            Link::Single(single) => Held::Single(single.take().await?),
        })
    }

    /// A write that failed for want of storage within the last half minute: a small write
    /// may still fit where a webhook's did not, so health checks count these too.
    pub fn recent_fault(&self) -> Option<Duration> {
        let Link::Single(single) = self else { return None };
        let at = (*single.opener.fault.lock().unwrap_or_else(|p| p.into_inner()))?;
        Some(at.elapsed()).filter(|ago| *ago < FAULT_MEMORY)
    }

    pub async fn close(&self) {
        match self {
            Link::Pool(pool) => pool.close().await,
            Link::Single(single) => {
                if let Some(connection) = single.opener.connection.lock().await.take() {
                    if let Err(e) = connection.close().await {
                        tracing::warn!(error = %e, "closing the database connection");
                    }
                }
            }
        }
    }
}

impl<'c> Executor<'c> for &'c Link {
    type Database = Any;

    fn fetch_many<'e, 'q: 'e, E>(self, query: E) -> BoxStream<'e, Result<Either<AnyQueryResult, AnyRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Any>,
    {
        match self {
            Link::Pool(pool) => pool.fetch_many(query),
            // Read to the end while the connection is held, then handed out.
            Link::Single(single) => async move {
                let items: Vec<_> = match single.take().await {
                    Ok(mut taken) => {
                        taken
                            .fetch_many(query)
                            .map(|r| r.map_err(|e| single.opener.noted(e)))
                            .collect()
                            .await
                    }
                    Err(e) => vec![Err(e)],
                };
                futures_util::stream::iter(items)
            }
            .flatten_stream()
            .boxed(),
        }
    }

    fn fetch_optional<'e, 'q: 'e, E>(self, query: E) -> BoxFuture<'e, Result<Option<AnyRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Any>,
    {
        match self {
            Link::Pool(pool) => pool.fetch_optional(query),
            Link::Single(single) => async move {
                let result = single.take().await?.fetch_optional(query).await;
                result.map_err(|e| single.opener.noted(e))
            }
            .boxed(),
        }
    }

    fn prepare_with<'e, 'q: 'e>(
        self,
        sql: &'q str,
        parameters: &'e [AnyTypeInfo],
    ) -> BoxFuture<'e, Result<AnyStatement<'q>, sqlx::Error>>
    where
        'c: 'e,
    {
        match self {
            Link::Pool(pool) => pool.prepare_with(sql, parameters),
            Link::Single(single) => async move { single.take().await?.prepare_with(sql, parameters).await }.boxed(),
        }
    }

    fn describe<'e, 'q: 'e>(self, sql: &'q str) -> BoxFuture<'e, Result<Describe<Any>, sqlx::Error>>
    where
        'c: 'e,
    {
        match self {
            Link::Pool(pool) => pool.describe(sql),
            Link::Single(single) => async move { single.take().await?.describe(sql).await }.boxed(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::batch::Statement;
    use super::super::Db;
    use crate::crypto::DataKey;

    async fn memory_db() -> Db {
        let db = Db::connect(
            "sqlite::memory:",
            1,
            std::time::Duration::from_secs(5),
            DataKey::from_hex(&"07".repeat(32)).unwrap(),
        )
        .unwrap();
        sqlx::query("CREATE TABLE t (id INTEGER PRIMARY KEY, who TEXT NOT NULL)")
            .execute(db.pool())
            .await
            .unwrap();
        db
    }

    fn insert(id: i64, who: &str) -> Statement {
        Statement::new("INSERT INTO t (id, who) VALUES ($1, $2)", vec![id.into(), who.into()])
    }

    #[tokio::test]
    async fn requests_sharing_a_trip_each_get_their_own_outcome() {
        let db = memory_db().await;
        for round in 0..20i64 {
            let base = round * 100;
            let jobs: Vec<_> = (0..10i64)
                .map(|i| {
                    let db = db.clone();
                    tokio::spawn(async move {
                        // Every third request's second statement collides with its first.
                        let second = if i % 3 == 0 { base + i } else { base + 50 + i };
                        db.run_together(&[
                            insert(base + i, "first"),
                            insert(second, "second"),
                            Statement::new("SELECT who FROM t WHERE id = $1", vec![(base + i).into()]),
                        ])
                        .await
                    })
                })
                .collect();
            for (i, job) in jobs.into_iter().enumerate() {
                let outcome = job.await.unwrap();
                if i % 3 == 0 {
                    assert!(outcome.is_err(), "round {round}: request {i} collided and hears so");
                } else {
                    let done = outcome.unwrap();
                    assert_eq!(done.len(), 3);
                    assert_eq!(done[0].rows_affected, 1);
                    assert_eq!(done[2].rows.len(), 1, "its own read sees its own write");
                }
            }
        }
        // What a failed request ran before its failure stays, as it would alone; nothing after.
        let rows: Vec<(i64, String)> = sqlx::query_as("SELECT id, who FROM t WHERE id < 100 ORDER BY id")
            .fetch_all(db.pool())
            .await
            .unwrap();
        let expected: Vec<(i64, String)> = (0..10)
            .map(|i| (i, "first".to_owned()))
            .chain((0..10).filter(|i| i % 3 != 0).map(|i| (50 + i, "second".to_owned())))
            .collect();
        assert_eq!(rows, expected);
    }
}
