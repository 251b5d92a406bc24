//! The callback queue in Redis: who waits, in what order, and which lawyer holds an offer.
//!
//! Keys (`<prefix>:v1:queue:…`):
//! - `entry:<id>`: hash {bucket, score, state (waiting | offered | accepted), holder,
//!   not_before (ms; a caller who did not answer is not called again before it)}
//! - `bucket:<matter>:<prefecture>`: sorted set of waiting ids, one per (matter, prefecture), so
//!   a lawyer's eligible entries are a handful of sets; `unknown` where not yet known
//! - `all`: every waiting id (place in the queue, operators' view)
//! - `offers`: offered ids scored by when the offer lapses
//! - `declined:<id>`: lawyers who declined (or let lapse) that entry; it is not offered to them again
//! - `holder:<lawyer>`: the id of the one entry offered to that lawyer, while it is offered. A
//!   lawyer holds one offer at a time: claiming again (a double click, two tabs) returns it.
//!   Every script that ends an offer (accept, decline, lapse, requeue, remove) deletes it.
//!
//! The score is the time the entry started waiting minus a head start for its priority class,
//! so a more urgent entry goes first and yet anything that has waited long enough overtakes it:
//! nothing starves. Every change of state is one Lua script, so an entry is never offered to
//! two lawyers, nor a lawyer two entries, however many claim at the same moment. The scripts touch keys they
//! compute from the prefix: one Redis server (or a primary with replicas), not a cluster.

use redis::Script;

use crate::domain::legal_aid::Priority;
use crate::domain::Matter;
use crate::kv::{Kv, KvError};
use crate::routing::reconcile::epoch_ms;
use crate::storage::consultations::Consultation;

/// Head start of each priority class, in milliseconds of waiting.
pub fn head_start_ms(priority: Priority) -> i64 {
    const HOUR: i64 = 3_600_000;
    match priority {
        Priority::CriminalNotification => 24 * HOUR,
        Priority::Urgent => 4 * HOUR,
        Priority::SevereDisability => HOUR,
        Priority::Normal => 0,
    }
}

/// A consultation to queue.
#[derive(Debug, Clone)]
pub struct Waiting<'a> {
    pub id: &'a str,
    pub matter: Option<Matter>,
    /// GB/T 2260 prefecture code.
    pub prefecture: Option<&'a str>,
    pub priority: Priority,
    pub waiting_since_ms: i64,
}

impl<'a> Waiting<'a> {
    /// A consultation as stored.
    pub fn of(c: &'a Consultation) -> Self {
        Self {
            id: &c.id,
            matter: c.matter.as_deref().and_then(Matter::parse),
            prefecture: c.prefecture.as_deref(),
            priority: c.priority,
            waiting_since_ms: epoch_ms(&c.created_at),
        }
    }
}

/// Who is asking for work: what matters they take and where.
#[derive(Debug, Clone)]
pub struct Lawyer<'a> {
    pub id: &'a str,
    pub matters: &'a [Matter],
    pub prefectures: &'a [String],
}

const UNKNOWN: &str = "unknown";

const ENQUEUE: &str = r#"
-- KEYS: all, bucket. ARGV: id, score, entry key
if redis.call('EXISTS', ARGV[3]) == 1 then
  -- Queued already: keep its place, but while it waits a newly known matter or place moves it
  -- to its bucket and a higher priority moves it up.
  if redis.call('HGET', ARGV[3], 'state') ~= 'waiting' then return 0 end
  local old_bucket = redis.call('HGET', ARGV[3], 'bucket')
  local score = math.min(tonumber(redis.call('HGET', ARGV[3], 'score')), tonumber(ARGV[2]))
  redis.call('ZREM', old_bucket, ARGV[1])
  redis.call('ZADD', KEYS[2], score, ARGV[1])
  redis.call('ZADD', KEYS[1], score, ARGV[1])
  redis.call('HSET', ARGV[3], 'bucket', KEYS[2], 'score', score)
  return 0
end
redis.call('HSET', ARGV[3], 'bucket', KEYS[2], 'score', ARGV[2], 'state', 'waiting', 'holder', '')
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return 1
"#;

/// Lua shared by the scripts: what ending an offer does to the lawyer's `holder:` key (it is
/// theirs to clear only while it names this entry), and putting an entry back in its old place.
macro_rules! lua_common {
    () => {
        r#"
local function unhold(holder_prefix, lawyer, id)
  if lawyer and lawyer ~= '' and redis.call('GET', holder_prefix .. lawyer) == id then
    redis.call('DEL', holder_prefix .. lawyer)
  end
end
local function put_back(id, entry, all, offers)
  local bucket = redis.call('HGET', entry, 'bucket')
  local score = redis.call('HGET', entry, 'score')
  redis.call('ZADD', bucket, score, id)
  redis.call('ZADD', all, score, id)
  redis.call('ZREM', offers, id)
end
"#
    };
}

const CLAIM: &str = concat!(
    lua_common!(),
    r#"
-- KEYS: all, offers, holder:<lawyer>, bucket… ARGV: lawyer, offer lapses at, entry prefix,
-- declined prefix, now. Returns {id, lapses at, 1 if the lawyer held it already}.
local held = redis.call('GET', KEYS[3])
if held then
  local entry = ARGV[3] .. held
  local lapses = redis.call('ZSCORE', KEYS[2], held)
  if redis.call('HGET', entry, 'state') == 'offered' and redis.call('HGET', entry, 'holder') == ARGV[1]
      and lapses then
    if tonumber(lapses) > tonumber(ARGV[5]) then
      -- One offer per lawyer: the one they hold, again.
      return {held, tonumber(lapses), 1}
    end
    -- Its time is up and the lapse job has not taken it back yet: taken back now, as it would.
    put_back(held, entry, KEYS[1], KEYS[2])
    redis.call('HSET', entry, 'state', 'waiting', 'holder', '')
    redis.call('SADD', ARGV[4] .. held, ARGV[1])
  end
  redis.call('DEL', KEYS[3])
end
local best_id, best_score, best_bucket
for i = 4, #KEYS do
  local items = redis.call('ZRANGE', KEYS[i], 0, 19, 'WITHSCORES')
  for j = 1, #items, 2 do
    local id, score = items[j], tonumber(items[j + 1])
    local not_before = tonumber(redis.call('HGET', ARGV[3] .. id, 'not_before') or '0')
    if not_before <= tonumber(ARGV[5]) and redis.call('SISMEMBER', ARGV[4] .. id, ARGV[1]) == 0 then
      if best_score == nil or score < best_score then
        best_id, best_score, best_bucket = id, score, KEYS[i]
      end
      break
    end
  end
end
if not best_id then return false end
redis.call('ZREM', best_bucket, best_id)
redis.call('ZREM', KEYS[1], best_id)
redis.call('HSET', ARGV[3] .. best_id, 'state', 'offered', 'holder', ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], best_id)
redis.call('SET', KEYS[3], best_id)
return {best_id, tonumber(ARGV[2]), 0}
"#
);

const ACCEPT: &str = concat!(
    lua_common!(),
    r#"
-- KEYS: offers. ARGV: id, lawyer, now, entry key, holder prefix
if redis.call('HGET', ARGV[4], 'state') ~= 'offered' then return 0 end
if redis.call('HGET', ARGV[4], 'holder') ~= ARGV[2] then return 0 end
local lapses = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not lapses or tonumber(lapses) <= tonumber(ARGV[3]) then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HSET', ARGV[4], 'state', 'accepted')
unhold(ARGV[5], ARGV[2], ARGV[1])
return 1
"#
);

const RELEASE: &str = concat!(
    lua_common!(),
    r#"
-- Back to waiting, in its old place. KEYS: all, offers. ARGV: id, lawyer ('' = whoever holds
-- it), entry key, declined key, holder prefix
if redis.call('HGET', ARGV[3], 'state') ~= 'offered' then return 0 end
local holder = redis.call('HGET', ARGV[3], 'holder')
if ARGV[2] ~= '' and holder ~= ARGV[2] then return 0 end
put_back(ARGV[1], ARGV[3], KEYS[1], KEYS[2])
redis.call('HSET', ARGV[3], 'state', 'waiting', 'holder', '')
redis.call('SADD', ARGV[4], holder)
unhold(ARGV[5], holder, ARGV[1])
return 1
"#
);

const REQUEUE: &str = concat!(
    lua_common!(),
    r#"
-- A callback attempt failed: back to waiting in its old place, not called before ARGV[3].
-- KEYS: all, offers. ARGV: id, entry key, not before, holder prefix
local state = redis.call('HGET', ARGV[2], 'state')
if state ~= 'offered' and state ~= 'accepted' then return 0 end
unhold(ARGV[4], redis.call('HGET', ARGV[2], 'holder'), ARGV[1])
put_back(ARGV[1], ARGV[2], KEYS[1], KEYS[2])
redis.call('HSET', ARGV[2], 'state', 'waiting', 'holder', '', 'not_before', ARGV[3])
return 1
"#
);

const REMOVE: &str = concat!(
    lua_common!(),
    r#"
-- KEYS: all, offers. ARGV: id, entry key, declined key, holder prefix
local bucket = redis.call('HGET', ARGV[2], 'bucket')
if not bucket then return 0 end
unhold(ARGV[4], redis.call('HGET', ARGV[2], 'holder'), ARGV[1])
redis.call('ZREM', bucket, ARGV[1])
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('DEL', ARGV[2], ARGV[3])
return 1
"#
);

/// An entry the queue holds for a lawyer: what [`CallbackQueue::claim_next`] answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reserved {
    /// The consultation id.
    pub id: String,
    /// When the offer lapses (ms since the epoch).
    pub lapses_at_ms: i64,
    /// The lawyer held it already: this claim was a repeat (a double click, two tabs).
    pub again: bool,
}

pub struct CallbackQueue<'a> {
    kv: &'a Kv,
}

impl<'a> CallbackQueue<'a> {
    pub fn new(kv: &'a Kv) -> Self {
        Self { kv }
    }

    fn key(&self, name: &str) -> String {
        self.kv.key("queue", name)
    }

    fn entry(&self, id: &str) -> String {
        self.key(&format!("entry:{id}"))
    }

    fn declined(&self, id: &str) -> String {
        self.key(&format!("declined:{id}"))
    }

    /// Where the lawyers' `holder:` keys start.
    fn holders(&self) -> String {
        self.key("holder:")
    }

    fn bucket(&self, matter: &str, prefecture: &str) -> String {
        self.key(&format!("bucket:{matter}:{prefecture}"))
    }

    fn enqueue_invocation<'s>(&self, script: &'s Script, w: &Waiting<'_>) -> redis::ScriptInvocation<'s> {
        let bucket = self.bucket(
            w.matter.map_or(UNKNOWN, Matter::as_str),
            w.prefecture.unwrap_or(UNKNOWN),
        );
        let mut invocation = script.prepare_invoke();
        invocation
            .key(self.key("all"))
            .key(bucket)
            .arg(w.id)
            .arg(w.waiting_since_ms - head_start_ms(w.priority))
            .arg(self.entry(w.id));
        invocation
    }

    /// Queues a consultation unless it is queued already, in any state (its place is kept).
    /// Returns whether it was added.
    pub async fn enqueue(&self, w: &Waiting<'_>) -> Result<bool, KvError> {
        let script = Script::new(ENQUEUE);
        let added: i64 = self.kv.eval(&self.enqueue_invocation(&script, w)).await?;
        Ok(added == 1)
    }

    /// [`enqueue`](Self::enqueue) for many, pipelined (the reconciler after Redis lost
    /// everything). Returns how many were added.
    pub async fn enqueue_many(&self, entries: &[Waiting<'_>]) -> Result<usize, KvError> {
        let script = Script::new(ENQUEUE);
        let mut added = 0;
        for batch in entries.chunks(500) {
            let invocations: Vec<_> = batch.iter().map(|w| self.enqueue_invocation(&script, w)).collect();
            let mut pipe = redis::pipe();
            pipe.load_script(&script).ignore();
            for invocation in &invocations {
                pipe.invoke_script(invocation);
            }
            let results: Vec<i64> = self.kv.run_pipeline(&pipe).await?;
            added += results.iter().filter(|r| **r == 1).count();
        }
        Ok(added)
    }

    /// 1-based place among everyone waiting; `None` if not waiting (offered, taken, or not queued).
    pub async fn position(&self, id: &str) -> Result<Option<u64>, KvError> {
        let rank: Option<u64> = self.kv.run(redis::cmd("ZRANK").arg(self.key("all")).arg(id)).await?;
        Ok(rank.map(|r| r + 1))
    }

    /// How many are waiting.
    pub async fn waiting(&self) -> Result<u64, KvError> {
        self.kv.run(redis::cmd("ZCARD").arg(self.key("all"))).await
    }

    /// The best waiting entry this lawyer may take (their matters and prefectures, and entries
    /// whose matter or place is not known yet), offered to them until `now_ms + offer_ms`. A
    /// lawyer who holds an offer already gets that one again (`again`), never a second.
    pub async fn claim_next(
        &self,
        lawyer: &Lawyer<'_>,
        now_ms: i64,
        offer_ms: i64,
    ) -> Result<Option<Reserved>, KvError> {
        let claim = Script::new(CLAIM);
        let mut script = claim.prepare_invoke();
        script
            .key(self.key("all"))
            .key(self.key("offers"))
            .key(format!("{}{}", self.holders(), lawyer.id));
        let matters = lawyer.matters.iter().map(|m| m.as_str()).chain([UNKNOWN]);
        for matter in matters {
            for prefecture in lawyer.prefectures.iter().map(String::as_str).chain([UNKNOWN]) {
                script.key(self.bucket(matter, prefecture));
            }
        }
        script
            .arg(lawyer.id)
            .arg(now_ms + offer_ms)
            .arg(self.key("entry:"))
            .arg(self.key("declined:"))
            .arg(now_ms);
        let reserved: Option<(String, i64, i64)> = self.kv.eval(&script).await?;
        Ok(reserved.map(|(id, lapses_at_ms, again)| Reserved {
            id,
            lapses_at_ms,
            again: again == 1,
        }))
    }

    /// The entry offered to this lawyer now, if any (their `holder:` key; the offer may have
    /// lapsed without the lapse job having taken it back yet).
    pub async fn held_by(&self, lawyer_id: &str) -> Result<Option<String>, KvError> {
        self.kv
            .run(redis::cmd("GET").arg(format!("{}{lawyer_id}", self.holders())))
            .await
    }

    /// The lawyer takes the entry they were offered. False if the offer is not theirs or lapsed.
    pub async fn accept(&self, id: &str, lawyer_id: &str, now_ms: i64) -> Result<bool, KvError> {
        let done: i64 = self
            .kv
            .eval(
                Script::new(ACCEPT)
                    .key(self.key("offers"))
                    .arg(id)
                    .arg(lawyer_id)
                    .arg(now_ms)
                    .arg(self.entry(id))
                    .arg(self.holders()),
            )
            .await?;
        Ok(done == 1)
    }

    /// The lawyer turns the offer down: the entry waits again in its old place, not for them.
    pub async fn decline(&self, id: &str, lawyer_id: &str) -> Result<bool, KvError> {
        self.release(id, lawyer_id).await
    }

    async fn release(&self, id: &str, lawyer_id: &str) -> Result<bool, KvError> {
        let done: i64 = self
            .kv
            .eval(
                Script::new(RELEASE)
                    .key(self.key("all"))
                    .key(self.key("offers"))
                    .arg(id)
                    .arg(lawyer_id)
                    .arg(self.entry(id))
                    .arg(self.declined(id))
                    .arg(self.holders()),
            )
            .await?;
        Ok(done == 1)
    }

    /// Offers that lapsed by `now_ms` go back to waiting (to be offered to someone else).
    /// Returns their ids.
    pub async fn expire_offers(&self, now_ms: i64) -> Result<Vec<String>, KvError> {
        let lapsed: Vec<String> = self
            .kv
            .run(
                redis::cmd("ZRANGEBYSCORE")
                    .arg(self.key("offers"))
                    .arg("-inf")
                    .arg(now_ms),
            )
            .await?;
        let mut released = Vec::new();
        for id in lapsed {
            if self.release(&id, "").await? {
                released.push(id);
            }
        }
        Ok(released)
    }

    /// A callback attempt failed (nobody answered): the entry waits again in its old place, and
    /// is not offered before `not_before_ms`.
    pub async fn requeue(&self, id: &str, not_before_ms: i64) -> Result<bool, KvError> {
        let done: i64 = self
            .kv
            .eval(
                Script::new(REQUEUE)
                    .key(self.key("all"))
                    .key(self.key("offers"))
                    .arg(id)
                    .arg(self.entry(id))
                    .arg(not_before_ms)
                    .arg(self.holders()),
            )
            .await?;
        Ok(done == 1)
    }

    /// The entry's state (waiting, offered, accepted) and holder, if it is queued.
    pub async fn state(&self, id: &str) -> Result<Option<(String, String)>, KvError> {
        let fields: Vec<Option<String>> = self
            .kv
            .run(redis::cmd("HMGET").arg(self.entry(id)).arg("state").arg("holder"))
            .await?;
        Ok(match fields.as_slice() {
            [Some(state), holder] => Some((state.clone(), holder.clone().unwrap_or_default())),
            _ => None,
        })
    }

    /// Whether the lawyer declined (or let lapse) the entry: it is not offered to them again.
    pub async fn declined_by(&self, id: &str, lawyer_id: &str) -> Result<bool, KvError> {
        let member: i64 = self
            .kv
            .run(redis::cmd("SISMEMBER").arg(self.declined(id)).arg(lawyer_id))
            .await?;
        Ok(member == 1)
    }

    /// The entry's score: when it started waiting less its priority's head start (ms).
    pub async fn score(&self, id: &str) -> Result<Option<i64>, KvError> {
        let score: Option<String> = self.kv.run(redis::cmd("HGET").arg(self.entry(id)).arg("score")).await?;
        Ok(score.and_then(|s| s.parse().ok()))
    }

    /// Completed or cancelled: gone from the queue in whatever state.
    pub async fn remove(&self, id: &str) -> Result<bool, KvError> {
        let done: i64 = self
            .kv
            .eval(
                Script::new(REMOVE)
                    .key(self.key("all"))
                    .key(self.key("offers"))
                    .arg(id)
                    .arg(self.entry(id))
                    .arg(self.declined(id))
                    .arg(self.holders()),
            )
            .await?;
        Ok(done == 1)
    }
}
