//! Offering waiting callbacks to lawyers. Each round, every lawyer who is available, on duty
//! (Beijing time) and below their `max_cases`, without an offer pending, is considered in order
//! of who was least recently assigned (fairness), and the queue reserves for each the best
//! entry they may take (matter, region, priority with aging) for `callback.offer_secs`. A Redis
//! lease makes one instance do a round at a time.
//!
//! A lawyer holds one offer at a time, however many claims arrive at once (a double click, the
//! console and the API together, a round beside a claim): the queue's claim script keeps the
//! lawyer's offer in their `holder:` key and answers a repeated claim with it, and SQL has a
//! unique index on the lawyer's `offered` assignment, so the repeat finds the row the first
//! claim wrote instead of adding one.

use chrono::{DateTime, Utc};

use super::queue::Lawyer;
use super::CallbackQueue;
use crate::app::AppState;
use crate::domain::callback::{AssignmentState, Presence};
use crate::domain::Matter;
use crate::kv::KvError;
use crate::storage::assignments::Assignment;
use crate::storage::lawyers::LawyerRecord;
use crate::storage::StorageError;

const LEASE: &str = "dispatch";
const LEASE_MS: u64 = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Queue(#[from] KvError),
}

/// One round; returns the offers made.
pub async fn dispatch(state: &AppState, now: DateTime<Utc>) -> Result<Vec<Assignment>, DispatchError> {
    let Some(lease) = state.kv.try_lock(LEASE, LEASE_MS).await? else {
        return Ok(Vec::new());
    };
    let result = offer_round(state, now).await;
    if let Err(e) = state.kv.unlock(LEASE, &lease).await {
        tracing::warn!(error = %e, "dispatch lease not released; it expires by itself");
    }
    result
}

async fn offer_round(state: &AppState, now: DateTime<Utc>) -> Result<Vec<Assignment>, DispatchError> {
    state.db.lapse_stale_offers(&stamp(now)).await?;
    let mut lawyers = Vec::new();
    for l in state.db.lawyers().await? {
        if l.presence == Presence::Available
            && crate::domain::roster::on_duty(&l.shifts, &l.exceptions, now)
            && !has_pending(state, &l.id).await?
            && state.db.open_cases_of(&l.id).await? < i64::from(l.max_cases)
        {
            lawyers.push(l);
        }
    }
    // Never assigned first, then the longest ago (RFC 3339 text sorts as time).
    lawyers.sort_by(|a, b| a.last_assigned_at.cmp(&b.last_assigned_at).then(a.id.cmp(&b.id)));
    let mut offers = Vec::new();
    for l in &lawyers {
        if let Some(offer) = offer_to(state, l, now).await? {
            offers.push(offer);
        }
    }
    Ok(offers)
}

/// A lawyer asks for work (the console's "claim next"): the best entry they may take is
/// offered to them now, if they are free to take one. Returns the offer (an existing one if they
/// hold one already).
pub async fn claim(state: &AppState, lawyer_id: &str, now: DateTime<Utc>) -> Result<Option<Assignment>, DispatchError> {
    // An offer or a call not yet through is returned again (a double click); a connected case
    // (an SMS thread, say) only counts against `max_cases`. An offer whose time is up is not
    // (the lapse job has not recorded it yet): the queue takes it back below.
    let at = stamp(now);
    if let Some(held) = state
        .db
        .active_assignments_of(lawyer_id)
        .await?
        .into_iter()
        .find(|a| a.state.is_pending() && (a.state != AssignmentState::Offered || a.lapses_at > at))
    {
        return Ok(Some(held));
    }
    let Some(l) = state.db.lawyer(lawyer_id).await? else {
        return Ok(None);
    };
    if state.db.open_cases_of(&l.id).await? >= i64::from(l.max_cases) {
        return Ok(None);
    }
    offer_to(state, &l, now).await
}

async fn has_pending(state: &AppState, lawyer_id: &str) -> Result<bool, StorageError> {
    Ok(state
        .db
        .active_assignments_of(lawyer_id)
        .await?
        .iter()
        .any(|a| a.state.is_pending()))
}

async fn offer_to(state: &AppState, l: &LawyerRecord, now: DateTime<Utc>) -> Result<Option<Assignment>, DispatchError> {
    let queue = CallbackQueue::new(&state.kv);
    let offer_ms = (state.settings.callback.offer_secs * 1000) as i64;
    let (matters, prefectures) = eligibility(l);
    let lawyer = Lawyer {
        id: &l.id,
        matters: &matters,
        prefectures: &prefectures,
    };
    let Some(reserved) = queue.claim_next(&lawyer, now.timestamp_millis(), offer_ms).await? else {
        return Ok(None);
    };
    let lapses_at = DateTime::from_timestamp_millis(reserved.lapses_at_ms)
        .unwrap_or_else(|| now + chrono::Duration::milliseconds(offer_ms));
    // A repeated claim finds the row the first one wrote (or writes it, if it comes first).
    let Some(offer) = state.db.record_offer(&reserved.id, &l.id, &stamp(lapses_at)).await? else {
        tracing::info!(lawyer = %l.id, "the offer ended while it was being recorded");
        return Ok(None);
    };
    if reserved.again {
        tracing::info!(assignment = %offer.id, lawyer = %l.id, "callback offer held already, returned again");
    } else {
        tracing::info!(assignment = %offer.id, lawyer = %l.id, "callback offered");
    }
    Ok(Some(offer))
}

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The matters a lawyer takes (their skills that are matters) and the prefectures they serve
/// (a county or township code counts for its prefecture).
pub fn eligibility(l: &LawyerRecord) -> (Vec<Matter>, Vec<String>) {
    let matters = l.skills.iter().filter_map(|s| Matter::parse(s)).collect();
    let mut prefectures: Vec<String> = l
        .regions
        .iter()
        .filter(|code| code.len() >= 6)
        .map(|code| format!("{}00", &code[..4]))
        .collect();
    prefectures.sort();
    prefectures.dedup();
    (matters, prefectures)
}
