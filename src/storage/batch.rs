//! Several statements sent as one: on SQLite one trip to its connection, on PostgreSQL one
//! after the other.
//!
//! On SQLite every statement is a round trip to the connection's thread, and each trip costs
//! more in waking threads than the statement costs to run (issue 15). Statements that do not
//! need each other's results in Rust — a later one may read what an earlier one wrote — go
//! together: their `$n` placeholders are renumbered into one list and the statements joined.
//! PostgreSQL cannot prepare several statements at once, so there they run in turn. On SQLite
//! the statements of every request waiting at that moment go in the same trip (see
//! [`super::link`]). Either way each statement commits on its own, as it would alone: a failure
//! stops that request's remaining statements and reports the error, and what ran before it
//! stays.

use std::cell::RefCell;
use std::future::Future;
use std::sync::LazyLock;

use either::Either;
use futures_util::TryStreamExt;
use regex::Regex;
use sqlx::any::AnyRow;
use sqlx::Executor;

use super::link::Link;
use super::{Db, StorageError};

/// A value to bind.
#[derive(Debug, Clone)]
pub enum Value {
    Text(Option<String>),
    Int(Option<i64>),
    Blob(Vec<u8>),
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(Some(v.to_owned()))
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(Some(v))
    }
}

impl From<Option<&str>> for Value {
    fn from(v: Option<&str>) -> Self {
        Value::Text(v.map(str::to_owned))
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(Some(v))
    }
}

impl From<Option<i64>> for Value {
    fn from(v: Option<i64>) -> Self {
        Value::Int(v)
    }
}

impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Blob(v)
    }
}

/// One statement with its own `$1…$n`.
#[derive(Debug, Clone)]
pub struct Statement {
    pub sql: String,
    pub args: Vec<Value>,
}

impl Statement {
    pub fn new(sql: impl Into<String>, args: Vec<Value>) -> Self {
        Self { sql: sql.into(), args }
    }
}

/// What one statement did.
#[derive(Default)]
pub struct Done {
    pub rows_affected: u64,
    pub rows: Vec<AnyRow>,
}

tokio::task_local! {
    /// Statements held back to be sent with the answer (see [`Db::deferring`]).
    static DEFERRED: RefCell<Vec<Statement>>;
}

static PLACEHOLDER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\$(\d+)").expect("a valid pattern"));

impl Db {
    /// Runs `work`, holding back the statements it sends with [`Db::write_soon`]; returns them,
    /// to be sent in one trip with what the caller writes last (a webhook's answer). Only
    /// `work`'s own task defers: a task it spawns writes at once.
    pub async fn deferring<F: Future>(work: F) -> (F::Output, Vec<Statement>) {
        DEFERRED
            .scope(RefCell::new(Vec::new()), async move {
                let out = work.await;
                (out, DEFERRED.with(RefCell::take))
            })
            .await
    }

    /// Sends a write now, or, inside [`Db::deferring`], with the answer: for writes whose result
    /// nothing reads before the answer is given.
    pub async fn write_soon(&self, statement: Statement) -> Result<(), StorageError> {
        let mut held = Some(statement);
        if DEFERRED.try_with(|d| d.borrow_mut().extend(held.take())).is_ok() {
            return Ok(());
        }
        self.run_together(&held.into_iter().collect::<Vec<_>>()).await?;
        Ok(())
    }

    /// Runs the statements in order; one [`Done`] for each.
    pub async fn run_together(&self, statements: &[Statement]) -> Result<Vec<Done>, StorageError> {
        match self.pool() {
            Link::Pool(_) => {
                let mut done = Vec::with_capacity(statements.len());
                for s in statements {
                    done.push(
                        collect(self.pool().fetch_many(bind(sqlx::query(&s.sql), &s.args)), 1)
                            .await?
                            .remove(0),
                    );
                }
                Ok(done)
            }
            Link::Single(single) => single.submit(statements.to_vec()).await,
        }
    }
}

/// The statements as one text, each one's placeholders moved past the ones before it.
pub(super) fn joined(statements: &[Statement]) -> (String, Vec<Value>) {
    let mut sql = String::new();
    let mut args = Vec::new();
    for s in statements {
        let offset = args.len();
        let renumbered = PLACEHOLDER.replace_all(&s.sql, |c: &regex::Captures| {
            let n: usize = c[1].parse().expect("digits");
            format!("${}", n + offset)
        });
        sql.push_str(renumbered.trim_end().trim_end_matches(';'));
        sql.push_str(";\n");
        args.extend(s.args.iter().cloned());
    }
    (sql, args)
}

pub(super) fn bind<'q>(
    mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    args: &[Value],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for a in args {
        query = match a.clone() {
            Value::Text(v) => query.bind(v),
            Value::Int(v) => query.bind(v),
            Value::Blob(v) => query.bind(v),
        };
    }
    query
}

/// Rows and results as they come: each statement's rows, then its result.
pub(super) async fn collect<S>(mut stream: S, statements: usize) -> Result<Vec<Done>, StorageError>
where
    S: futures_util::Stream<Item = Result<Either<sqlx::any::AnyQueryResult, AnyRow>, sqlx::Error>> + Unpin,
{
    let mut done = Vec::with_capacity(statements);
    let mut current = Done::default();
    while let Some(item) = stream.try_next().await? {
        match item {
            Either::Right(row) => current.rows.push(row),
            Either::Left(result) => {
                current.rows_affected = result.rows_affected();
                done.push(std::mem::take(&mut current));
            }
        }
    }
    if done.len() != statements {
        return Err(StorageError::Sql(sqlx::Error::Protocol(format!(
            "{statements} statements sent, {} answered",
            done.len()
        ))));
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_renumbered_past_the_statements_before() {
        let (sql, args) = joined(&[
            Statement::new("INSERT INTO t (a, b) VALUES ($1, $2)", vec!["x".into(), 1i64.into()]),
            Statement::new(
                "UPDATE u SET c = $1 WHERE d = $2 AND e = $1;",
                vec!["y".into(), "z".into()],
            ),
        ]);
        assert_eq!(
            sql,
            "INSERT INTO t (a, b) VALUES ($1, $2);\nUPDATE u SET c = $3 WHERE d = $4 AND e = $3;\n"
        );
        assert_eq!(args.len(), 4);
    }
}
