//! `serve`, `worker` and `migrate`.

use anyhow::Context;
use hotline::app::{AppState, Stores};
use hotline::config::Settings;

/// Runs the migrations, then serves webhooks until SIGTERM or Ctrl-C.
pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    survive_file_size_limits();
    let bind = settings.bind;
    let state = AppState::new(settings).context("preparing the service")?;
    state.db.migrate().await.context("running database migrations")?;
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("binding {bind}"))?;
    tracing::info!(%bind, "serving");
    hotline::server::serve(state, listener, shutdown_signal())
        .await
        .context("serving")?;
    tracing::info!("stopped");
    Ok(())
}

/// The background jobs without serving, until SIGTERM or Ctrl-C.
pub async fn worker(settings: Settings) -> anyhow::Result<()> {
    let state = AppState::new(settings).context("preparing the worker")?;
    state.db.migrate().await.context("running database migrations")?;
    tracing::info!("worker running");
    hotline::server::work(state, shutdown_signal()).await;
    tracing::info!("stopped");
    Ok(())
}

/// The migrations alone.
pub async fn migrate(settings: Settings) -> anyhow::Result<()> {
    let state = Stores::open(&settings).context("opening the database and Redis")?;
    state.db.migrate().await.context("running database migrations")?;
    tracing::info!("migrations applied");
    state.db.close().await;
    Ok(())
}

/// A write past a file-size limit (`ulimit -f`, a quota) then fails with EFBIG like one on a
/// full disk, and the caller hears the spoken fallback, instead of SIGXFSZ ending the process.
fn survive_file_size_limits() {
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to "ignore" before any thread depends on it; no
    // handler code runs.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}

/// SIGINT or SIGTERM: stop accepting, let in-flight webhooks finish.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
