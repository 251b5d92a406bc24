//! The `hotline` command: `serve` and `migrate`.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use hotline::app::AppState;
use hotline::config::Settings;

#[derive(Parser)]
#[command(name = "hotline", version, about = "Accessible 12348 legal-service hotline backend")]
struct Cli {
    /// A TOML file overriding the built-in defaults (HOTLINE_* variables override both).
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the database migrations, then serve webhooks until SIGTERM or Ctrl-C.
    Serve,
    /// Run the database migrations and exit.
    Migrate,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load(cli.config.as_deref()).context("loading settings")?;
    hotline::telemetry::init(&settings.log, settings.mode);
    let bind = settings.bind;
    let state = AppState::new(settings).context("preparing the service")?;
    state.db.migrate().await.context("running database migrations")?;
    match cli.command {
        Command::Migrate => {
            tracing::info!("migrations applied");
            state.db.close().await;
        }
        Command::Serve => {
            let listener = tokio::net::TcpListener::bind(bind)
                .await
                .with_context(|| format!("binding {bind}"))?;
            tracing::info!(%bind, "serving");
            state.serve(listener, shutdown_signal()).await.context("serving")?;
            tracing::info!("stopped");
        }
    }
    Ok(())
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
