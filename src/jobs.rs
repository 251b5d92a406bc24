//! Background jobs run beside the server: the queue reconciler, at start and then periodically,
//! until told to stop; and, once at start, rendering every static prompt so that no caller
//! waits for synthesis.

use std::time::Duration;

use tokio::sync::watch;

use crate::app::AppState;
use crate::routing::reconcile;

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

pub async fn run(state: AppState, mut stop: watch::Receiver<bool>) {
    let every = Duration::from_secs(state.settings.jobs.reconcile_interval_secs.max(1));
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.changed() => return,
        }
        match reconcile(&state.db, &state.kv).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(requeued = n, "callback queue reconciled from SQL"),
            Err(e) => tracing::warn!(error = %e, "callback queue reconciliation failed; will retry"),
        }
    }
}
