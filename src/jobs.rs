//! Background jobs run beside the server: for now the queue reconciler, at start and then
//! periodically, until told to stop.

use std::time::Duration;

use tokio::sync::watch;

use crate::app::AppState;
use crate::routing::reconcile;

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
