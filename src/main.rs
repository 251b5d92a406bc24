//! The `hotline` command: `serve`, `migrate`, `tts` and `prompts render`.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use hotline::app::AppState;
use hotline::config::Settings;
use hotline::ivr::Prompts;
use hotline::speech::{SpeechRate, Voice};

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
    /// Run the background jobs (queue reconciler, lapsed offers) without serving, until
    /// SIGTERM or Ctrl-C.
    Worker,
    /// Synthesise a text as telephone audio (8 kHz µ-law WAV).
    Tts {
        text: String,
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
        #[arg(long, value_enum, default_value_t = Rate::Normal)]
        rate: Rate,
    },
    /// Prompt audio.
    Prompts {
        #[command(subcommand)]
        command: PromptsCommand,
    },
    /// The callback queue.
    Queue {
        #[command(subcommand)]
        command: QueueCommand,
    },
    /// Duty lawyers and their shifts.
    Roster {
        #[command(subcommand)]
        command: RosterCommand,
    },
}

#[derive(Subcommand)]
enum RosterCommand {
    /// Add or update the lawyers of a roster CSV file (format: README, "Rosters"). Nothing is
    /// stored unless every row is valid.
    Import { file: PathBuf },
}

#[derive(Subcommand)]
enum QueueCommand {
    /// Print every consultation waiting for a callback as JSON lines, oldest first.
    Show,
}

#[derive(Subcommand)]
enum PromptsCommand {
    /// Render every static prompt at every speech rate into the prompt cache.
    Render,
}

#[derive(Clone, Copy, ValueEnum)]
enum Rate {
    Slower,
    Normal,
    Faster,
}

impl From<Rate> for SpeechRate {
    fn from(r: Rate) -> Self {
        match r {
            Rate::Slower => SpeechRate::Slower,
            Rate::Normal => SpeechRate::Normal,
            Rate::Faster => SpeechRate::Faster,
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load(cli.config.as_deref()).context("loading settings")?;
    hotline::telemetry::init(&settings.log, settings.mode);
    match cli.command {
        Command::Tts { text, output, rate } => tts(&settings, &text, &output, rate.into()).await,
        Command::Prompts {
            command: PromptsCommand::Render,
        } => render_prompts(&settings).await,
        Command::Queue {
            command: QueueCommand::Show,
        } => {
            let state = AppState::new(settings).context("preparing the service")?;
            for entry in hotline::routing::report::waiting(&state.db, &state.kv).await? {
                println!("{}", serde_json::to_string(&entry)?);
            }
            Ok(())
        }
        Command::Roster {
            command: RosterCommand::Import { file },
        } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            let lawyers = match hotline::domain::roster::parse_csv(&text) {
                Ok(lawyers) => lawyers,
                Err(errors) => {
                    for e in &errors {
                        eprintln!("{}: {e}", file.display());
                    }
                    anyhow::bail!("{} problem(s) in {}; nothing imported", errors.len(), file.display());
                }
            };
            let state = AppState::new(settings).context("preparing the service")?;
            state.db.migrate().await.context("running database migrations")?;
            let summary = state.db.import_roster(&lawyers).await.context("storing the roster")?;
            println!("{} lawyer(s) added, {} updated", summary.added, summary.updated);
            state.db.close().await;
            Ok(())
        }
        Command::Migrate => {
            let state = AppState::new(settings).context("preparing the service")?;
            state.db.migrate().await.context("running database migrations")?;
            tracing::info!("migrations applied");
            state.db.close().await;
            Ok(())
        }
        Command::Worker => {
            let state = AppState::new(settings).context("preparing the worker")?;
            state.db.migrate().await.context("running database migrations")?;
            tracing::info!("worker running");
            state.work(shutdown_signal()).await;
            tracing::info!("stopped");
            Ok(())
        }
        Command::Serve => {
            let bind = settings.bind;
            let state = AppState::new(settings).context("preparing the service")?;
            state.db.migrate().await.context("running database migrations")?;
            let listener = tokio::net::TcpListener::bind(bind)
                .await
                .with_context(|| format!("binding {bind}"))?;
            tracing::info!(%bind, "serving");
            state.serve(listener, shutdown_signal()).await.context("serving")?;
            tracing::info!("stopped");
            Ok(())
        }
    }
}

async fn tts(settings: &Settings, text: &str, output: &PathBuf, rate: SpeechRate) -> anyhow::Result<()> {
    let voice = Voice::from_settings(&settings.speech).context("starting the speech engine")?;
    anyhow::ensure!(voice.has_engine(), "no speech engine is available (speech.engine)");
    let key = voice.render(None, text, rate).await.context("synthesising")?;
    let wav = voice.audio(&key).await.context("reading the rendered audio")?;
    std::fs::write(output, &wav).with_context(|| format!("writing {}", output.display()))?;
    let info = hotline::speech::telephone::parse_wav(&wav)?;
    println!("{}: {:.2} s, 8 kHz µ-law", output.display(), info.duration_secs());
    Ok(())
}

async fn render_prompts(settings: &Settings) -> anyhow::Result<()> {
    let voice = Voice::from_settings(&settings.speech).context("starting the speech engine")?;
    anyhow::ensure!(voice.has_engine(), "no speech engine is available (speech.engine)");
    let started = std::time::Instant::now();
    let rendered = voice.render_all(&Prompts::zh_cn()).await.context("rendering prompts")?;
    println!(
        "rendered {rendered} prompt files in {:.1} s",
        started.elapsed().as_secs_f64()
    );
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
