//! Recognition by `hotline worker` processes, for scale-out: web processes (`whisper.remote`)
//! add a job to a Redis stream and wait for its answer on a list of its own; workers, each with
//! the model loaded, read the stream as one consumer group, so each job goes to one worker.
//! Menu answers and descriptions' transcripts have a stream each, as they have lanes of their
//! own in the recogniser: a worker takes up to `whisper.workers` answers at once beside one
//! transcript, so a caller's spoken answer never waits behind someone's long description.
//!
//! A job carries its deadline: a worker skips jobs whose caller has already been asked for keys
//! instead. A job a worker took and then died with stays pending in the group; after
//! `whisper.reclaim_after_secs` another worker claims it (XAUTOCLAIM) and answers it if it is
//! still awaited (a description's transcript), or drops it (a menu answer long given up).

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::{AsrError, Local, Mode, Transcript};
use crate::kv::Kv;

const GROUP: &str = "recognisers";
/// How long a worker's read blocks before it checks whether to stop.
const READ_BLOCK_MS: u64 = 2000;
/// With no worker running, jobs would pile up: the stream keeps about this many.
const MAX_QUEUED_JOBS: u64 = 1000;
/// How often a worker looks for jobs of stopped workers.
const RECLAIM_EVERY: Duration = Duration::from_secs(30);
/// Answers nobody collected expire.
const REPLY_TTL_SECS: i64 = 60;

/// One recognition job.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Job {
    id: String,
    url: String,
    mode: Mode,
    max_secs: u32,
    /// Unix milliseconds after which the answer is of no use.
    deadline_ms: i64,
}

#[derive(Debug, Serialize, Deserialize)]
enum Answer {
    Done(Transcript),
    Failed(String),
}

/// The web side: sends jobs, waits for answers.
#[derive(Clone)]
pub struct Remote {
    kv: Arc<Kv>,
}

impl Remote {
    pub fn new(kv: Arc<Kv>) -> Self {
        Self { kv }
    }

    pub async fn recognise_url(
        &self,
        url: &str,
        mode: Mode,
        max_secs: u32,
        timeout: Duration,
    ) -> Result<Transcript, AsrError> {
        let redis_err = |e: crate::kv::KvError| AsrError::Remote(e.to_string());
        let job = Job {
            id: uuid::Uuid::new_v4().to_string(),
            url: url.to_owned(),
            mode,
            max_secs,
            deadline_ms: chrono::Utc::now().timestamp_millis() + timeout.as_millis() as i64,
        };
        let body = serde_json::to_string(&job).expect("a job serialises");
        let _: String = self
            .kv
            .run(
                redis::cmd("XADD")
                    .arg(jobs_key(&self.kv, Lane::of(&job.mode)))
                    .arg("MAXLEN")
                    .arg("~")
                    .arg(MAX_QUEUED_JOBS)
                    .arg("*")
                    .arg("job")
                    .arg(body),
            )
            .await
            .map_err(redis_err)?;
        let mut conn = self
            .kv
            .dedicated(timeout + Duration::from_secs(1))
            .await
            .map_err(redis_err)?;
        let reply: Option<(String, String)> = redis::cmd("BLPOP")
            .arg(reply_key(&self.kv, &job.id))
            .arg(timeout.as_secs_f64())
            .query_async(&mut conn)
            .await
            .map_err(|e| AsrError::Remote(e.to_string()))?;
        let (_, answer) = reply.ok_or(AsrError::Busy)?;
        match serde_json::from_str(&answer).map_err(|e| AsrError::Remote(e.to_string()))? {
            Answer::Done(t) => Ok(t),
            Answer::Failed(e) => Err(AsrError::Remote(e)),
        }
    }
}

/// Which stream a job goes to: the recogniser's lane for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lane {
    Answers,
    Transcripts,
}

impl Lane {
    fn of(mode: &Mode) -> Self {
        match mode {
            Mode::Menu { .. } => Lane::Answers,
            Mode::Free | Mode::Default => Lane::Transcripts,
        }
    }
}

/// The worker side: takes jobs until `stop` turns true, up to `answers` menu answers at once
/// and one transcript beside them.
pub async fn serve_jobs(
    kv: Arc<Kv>,
    local: Local,
    consumer: String,
    reclaim_after: Duration,
    answers: usize,
    stop: watch::Receiver<bool>,
) {
    let lane = |lane, at_once| {
        serve_lane(
            kv.clone(),
            local.clone(),
            consumer.clone(),
            reclaim_after,
            (lane, at_once),
            stop.clone(),
        )
    };
    tokio::join!(lane(Lane::Answers, answers.max(1)), lane(Lane::Transcripts, 1));
}

/// One lane's stream: a job is read only when one of `at_once` slots is free, and answered
/// on a task of its own.
async fn serve_lane(
    kv: Arc<Kv>,
    local: Local,
    consumer: String,
    reclaim_after: Duration,
    (lane, at_once): (Lane, usize),
    mut stop: watch::Receiver<bool>,
) {
    let key = jobs_key(&kv, lane);
    let mut conn = loop {
        match kv.dedicated(Duration::from_millis(READ_BLOCK_MS * 2)).await {
            Ok(conn) => break conn,
            Err(e) => {
                tracing::warn!(error = %e, "recognition worker cannot reach Redis; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = stop.changed() => return,
                }
            }
        }
    };
    create_group(&mut conn, &key).await;
    tracing::info!(consumer, ?lane, at_once, "recognition worker taking jobs from Redis");
    let slots = Arc::new(tokio::sync::Semaphore::new(at_once));
    let mut running = tokio::task::JoinSet::new();
    let mut last_reclaim: Option<std::time::Instant> = None;
    while !*stop.borrow() {
        while running.try_join_next().is_some() {}
        let Ok(slot) = slots.clone().acquire_owned().await else {
            break;
        };
        let reclaim = last_reclaim.is_none_or(|at| at.elapsed() >= reclaim_after.min(RECLAIM_EVERY));
        let entries = if reclaim {
            last_reclaim = Some(std::time::Instant::now());
            let claimed: redis::RedisResult<redis::streams::StreamAutoClaimReply> = redis::cmd("XAUTOCLAIM")
                .arg(&key)
                .arg(GROUP)
                .arg(&consumer)
                .arg(reclaim_after.as_millis() as u64)
                .arg("0-0")
                .arg("COUNT")
                .arg(1)
                .query_async(&mut conn)
                .await;
            match claimed {
                Ok(reply) => {
                    for entry in &reply.claimed {
                        tracing::info!(entry = entry.id, "recognition job of a stopped worker taken over");
                    }
                    reply.claimed
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not look for abandoned recognition jobs");
                    Vec::new()
                }
            }
        } else {
            Vec::new()
        };
        let entries = if entries.is_empty() {
            let read: redis::RedisResult<redis::streams::StreamReadReply> = redis::cmd("XREADGROUP")
                .arg("GROUP")
                .arg(GROUP)
                .arg(&consumer)
                .arg("COUNT")
                .arg(1)
                .arg("BLOCK")
                .arg(READ_BLOCK_MS)
                .arg("STREAMS")
                .arg(&key)
                .arg(">")
                .query_async(&mut conn)
                .await;
            match read {
                Ok(reply) => reply.keys.into_iter().flat_map(|k| k.ids).collect::<Vec<_>>(),
                Err(e) => {
                    tracing::warn!(error = %e, "reading recognition jobs failed; retrying");
                    // Redis lost the stream and its group (a failover, a flush): make them again.
                    if e.to_string().contains("NOGROUP") {
                        create_group(&mut conn, &key).await;
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            }
        } else {
            entries
        };
        // At most one entry (COUNT 1): it takes the slot until it is answered.
        if let Some(entry) = entries.into_iter().next() {
            let (kv, local, key) = (kv.clone(), local.clone(), key.clone());
            running.spawn(async move {
                handle(&kv, &local, &key, entry).await;
                drop(slot);
            });
        }
    }
    while running.join_next().await.is_some() {}
}

/// The lane's stream and its consumer group, unless they are there already.
async fn create_group(conn: &mut redis::aio::MultiplexedConnection, key: &str) {
    let created: Result<String, _> = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(key)
        .arg(GROUP)
        .arg("$")
        .arg("MKSTREAM")
        .query_async(conn)
        .await;
    match created {
        Err(e) if !e.to_string().contains("BUSYGROUP") => {
            tracing::warn!(error = %e, "could not create the recognition consumer group");
        }
        _ => {}
    }
}

/// Answers one stream entry, then acknowledges and deletes it.
async fn handle(kv: &Kv, local: &Local, key: &str, entry: redis::streams::StreamId) {
    let job: Option<Job> = entry
        .get::<String>("job")
        .and_then(|body| serde_json::from_str(&body).ok());
    if let Some(job) = job {
        answer(kv, local, job).await;
    }
    let mut pipe = redis::pipe();
    pipe.cmd("XACK")
        .arg(key)
        .arg(GROUP)
        .arg(&entry.id)
        .ignore()
        .cmd("XDEL")
        .arg(key)
        .arg(&entry.id)
        .ignore();
    if let Err(e) = kv.run_pipeline::<()>(&pipe).await {
        tracing::warn!(entry = entry.id, error = %e, "recognition job not acknowledged; another worker may redo it");
    }
}

async fn answer(kv: &Kv, local: &Local, job: Job) {
    let left_ms = job.deadline_ms - chrono::Utc::now().timestamp_millis();
    if left_ms <= 0 {
        tracing::info!(job = job.id, "recognition job past its deadline; skipped");
        return;
    }
    let timeout = Duration::from_millis(left_ms as u64);
    let answer = match local.recognise_url(&job.url, job.mode, job.max_secs, timeout).await {
        Ok(t) => Answer::Done(t),
        Err(e) => Answer::Failed(e.to_string()),
    };
    let key = reply_key(kv, &job.id);
    let mut pipe = redis::pipe();
    pipe.cmd("RPUSH")
        .arg(&key)
        .arg(serde_json::to_string(&answer).expect("an answer serialises"))
        .ignore()
        .cmd("EXPIRE")
        .arg(&key)
        .arg(REPLY_TTL_SECS)
        .ignore();
    if let Err(e) = kv.run_pipeline::<()>(&pipe).await {
        tracing::warn!(job = job.id, error = %e, "recognition answer not delivered");
    }
}

fn jobs_key(kv: &Kv, lane: Lane) -> String {
    match lane {
        Lane::Answers => kv.key("asr", "jobs"),
        Lane::Transcripts => kv.key("asr", "transcript-jobs"),
    }
}

fn reply_key(kv: &Kv, id: &str) -> String {
    kv.key("asr-reply", id)
}
