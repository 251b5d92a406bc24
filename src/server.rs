//! Running the service: `hotline serve` (the HTTP edge, and the background jobs when
//! `jobs.in_serve`) and `hotline worker` (the jobs and remote speech recognition), each with a
//! graceful shutdown. The only module that imports both [`crate::http`] and [`crate::jobs`].

use std::future::{Future, IntoFuture};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::app::{load_local, AppState};
use crate::asr::Asr;
use crate::{http, jobs};

/// Serves until `shutdown` resolves, then lets in-flight requests finish, stops the
/// background jobs (when `jobs.in_serve` runs them here), lets the work spawned off requests
/// finish, and closes the pool.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_jobs, jobs_stopped) = watch::channel(false);
    let background = state
        .settings
        .jobs
        .in_serve
        .then(|| tokio::spawn(jobs::run(state.clone(), jobs_stopped)));
    tokio::spawn(jobs::prerender_prompts(state.clone()));
    let router = http::router(state.clone());
    let (stopping, stopped) = tokio::sync::oneshot::channel::<()>();
    let asr = state.asr.clone();
    let signal = async move {
        shutdown.await;
        if let Some(Asr::Local(local)) = &asr {
            local.recogniser.stop();
        }
        let _ = stopping.send(());
    };
    let serving = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(signal)
    .into_future();
    let grace = Duration::from_secs(state.settings.shutdown_grace_secs);
    let served = tokio::select! {
        served = serving => served,
        _ = async {
            let _ = stopped.await;
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!(grace_secs = grace.as_secs(), "requests still open after the shutdown grace; stopping anyway");
            Ok(())
        }
    };
    let _ = stop_jobs.send(true);
    if let Some(background) = background {
        let _ = background.await;
    }
    drain(&state, grace).await;
    state.db.close().await;
    served
}

/// Lets the work spawned off requests finish (a text's retries, a callback's caller leg, a
/// transcription), for at most `grace`; what is still running then is named in the log.
async fn drain(state: &AppState, grace: Duration) {
    state.tasks.close();
    if !state.tasks.is_empty() {
        tracing::info!(running = state.tasks.len(), "letting background work finish");
    }
    if tokio::time::timeout(grace, state.tasks.wait()).await.is_err() {
        tracing::warn!(
            running = state.tasks.len(),
            grace_secs = grace.as_secs(),
            "background work still running after the shutdown grace; stopping anyway"
        );
    }
}

/// `hotline worker`: the background jobs alone (and, with `whisper.remote`, speech
/// recognition for the web processes), until `shutdown` resolves.
pub async fn work(state: AppState, shutdown: impl Future<Output = ()>) {
    let (stop_jobs, jobs_stopped) = watch::channel(false);
    let recognising = match state.settings.whisper.remote {
        true => load_local(&state.settings, state.telephony.clone()).map(|local| {
            let consumer = format!("worker-{}", uuid::Uuid::new_v4());
            let recogniser = local.recogniser.clone();
            let serving = tokio::spawn(crate::asr::remote::serve_jobs(
                state.kv.clone(),
                local,
                consumer,
                Duration::from_secs(state.settings.whisper.reclaim_after_secs),
                state.settings.whisper.workers,
                jobs_stopped.clone(),
            ));
            (recogniser, serving)
        }),
        false => None,
    };
    let background = tokio::spawn(jobs::run(state.clone(), jobs_stopped));
    shutdown.await;
    if let Some((recogniser, _)) = &recognising {
        recogniser.stop();
    }
    let _ = stop_jobs.send(true);
    let _ = background.await;
    if let Some((_, serving)) = recognising {
        let _ = serving.await;
    }
    drain(&state, Duration::from_secs(state.settings.shutdown_grace_secs)).await;
    state.db.close().await;
}
