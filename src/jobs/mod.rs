//! Background jobs run beside the server until told to stop, one file per kind:
//! - the queue reconciler (at start, then periodically);
//! - lapsed callback offers back to the queue, and waiting callbacks offered to available
//!   lawyers (a callback whose caller did not answer is offered again once its retry time has
//!   come);
//! - the work a stopped process left unfinished, resumed from its rows: texts never handed to
//!   the provider ([`texts`]), callers never rung while their lawyer waits ([`caller_legs`]),
//!   recordings never transcribed ([`transcripts`]);
//! - recordings past their retention deleted ([`retention`]);
//! - once at start, every static prompt rendered, so that no caller waits for synthesis.

pub mod caller_legs;
pub mod retention;
pub mod texts;
pub mod transcripts;

use std::time::Duration;

use tokio::sync::watch;

use crate::app::AppState;
use crate::routing::{reconcile, CallbackQueue};

/// Renders every static prompt into the cache once at start.
pub async fn prerender_prompts(state: AppState) {
    if !state.voice.has_engine() {
        return;
    }
    let started = std::time::Instant::now();
    match state.voice.render_all(&state.prompts).await {
        Ok(n) => tracing::info!(
            files = n,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "prompts pre-rendered"
        ),
        Err(e) => tracing::warn!(error = %e, "prompts not pre-rendered; they will be rendered on first use"),
    }
}

/// Lapsed offers back to the queue (and recorded as lapsed), then a round of new offers.
pub async fn offers(state: &AppState) {
    let now = chrono::Utc::now();
    match CallbackQueue::new(&state.kv)
        .expire_offers(now.timestamp_millis())
        .await
    {
        Ok(lapsed) if lapsed.is_empty() => {}
        Ok(lapsed) => {
            tracing::info!(count = lapsed.len(), "lapsed callback offers back in the queue");
            if let Err(e) = state.db.lapse_offers(&lapsed).await {
                tracing::warn!(error = %e, "lapsed offers not recorded in SQL");
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not check callback offers; will retry"),
    }
    if let Err(e) = crate::routing::dispatch::dispatch(state, now).await {
        tracing::warn!(error = %e, "could not offer callbacks to lawyers; will retry");
    }
}

pub async fn run(state: AppState, mut stop: watch::Receiver<bool>) {
    let every = |secs: u64| {
        let mut ticker = tokio::time::interval(Duration::from_secs(secs.max(1)));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker
    };
    let mut reconcile_tick = every(state.settings.jobs.reconcile_interval_secs);
    let mut offers_tick = every(state.settings.jobs.offer_check_interval_secs);
    let mut retention_tick = every(state.settings.jobs.retention_interval_secs);
    loop {
        tokio::select! {
            _ = reconcile_tick.tick() => {
                match reconcile(&state.db, &state.kv).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(requeued = n, "callback queue reconciled from SQL"),
                    Err(e) => tracing::warn!(error = %e, "callback queue reconciliation failed; will retry"),
                }
                match texts::resume(&state, chrono::Utc::now()).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(texts = n, "texts a stopped process never sent are sent"),
                    Err(e) => tracing::warn!(error = %e, "unsent texts not resumed; will retry"),
                }
                match transcripts::resume(&state, chrono::Utc::now()).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(recordings = n, "transcriptions a stopped process never finished are started"),
                    Err(e) => tracing::warn!(error = %e, "unfinished transcriptions not resumed; will retry"),
                }
            }
            _ = offers_tick.tick() => {
                offers(&state).await;
                if let Err(e) = caller_legs::resume(&state, chrono::Utc::now()).await {
                    tracing::warn!(error = %e, "stalled callbacks not resumed; will retry");
                }
            }
            _ = retention_tick.tick() => match retention::purge(&state, chrono::Utc::now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, "recordings past their retention deleted at the provider"),
                Err(e) => tracing::warn!(error = %e, "recording retention: will retry"),
            },
            _ = stop.changed() => return,
        }
    }
}
