//! `callback dispatch|accept|decline` and `queue show`.

use anyhow::Context;
use clap::Subcommand;
use hotline::app::{AppState, Stores};
use hotline::config::Settings;

#[derive(Subcommand)]
pub enum CallbackCommand {
    /// Run one round of offers now (the job does this every few seconds) and print them.
    Dispatch,
    /// Accept an offer: the lawyer's phone rings, then the caller's.
    Accept { assignment: String, lawyer: String },
    /// Decline an offer: it goes to the next eligible lawyer.
    Decline { assignment: String, lawyer: String },
}

#[derive(Subcommand)]
pub enum QueueCommand {
    /// Print every consultation waiting for a callback as JSON lines, oldest first.
    Show,
}

pub async fn callback(settings: Settings, command: CallbackCommand) -> anyhow::Result<()> {
    let state = AppState::new(settings).context("preparing the service")?;
    state.db.migrate().await.context("running database migrations")?;
    match command {
        CallbackCommand::Dispatch => {
            for offer in hotline::routing::dispatch::dispatch(&state, chrono::Utc::now()).await? {
                println!(
                    "{}",
                    serde_json::json!({"assignment": offer.id, "consultation": offer.consultation_id, "lawyer": offer.lawyer_id, "lapses_at": offer.lapses_at})
                );
            }
        }
        CallbackCommand::Accept { assignment, lawyer } => {
            let a = hotline::routing::callback::accept(&state, &assignment, &lawyer).await?;
            println!("{}: {}", a.id, a.state.as_str());
        }
        CallbackCommand::Decline { assignment, lawyer } => {
            hotline::routing::callback::decline(&state, &assignment, &lawyer).await?;
            println!("{assignment}: declined");
        }
    }
    Ok(())
}

pub async fn queue(settings: Settings, command: QueueCommand) -> anyhow::Result<()> {
    match command {
        QueueCommand::Show => {
            let state = Stores::open(&settings).context("opening the database and Redis")?;
            for entry in hotline::routing::report::waiting(&state.db, &state.kv).await? {
                println!("{}", serde_json::to_string(&entry)?);
            }
            Ok(())
        }
    }
}
