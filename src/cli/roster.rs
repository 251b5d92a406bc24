//! `roster import`, `roster list` and `roster presence`: the database alone, no speech.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use hotline::app::Stores;
use hotline::config::Settings;

#[derive(Subcommand)]
pub enum RosterCommand {
    /// Add or update the lawyers of a roster CSV file (format: README, "Rosters"). Nothing is
    /// stored unless every row is valid.
    Import { file: PathBuf },
    /// Every lawyer as a JSON line: id, name, presence, on duty now, open cases, skills, regions.
    List,
    /// Set a lawyer's presence: available (offers start), busy, offline.
    Presence { lawyer: String, presence: PresenceArg },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum PresenceArg {
    Available,
    Busy,
    Offline,
}

pub async fn run(settings: Settings, command: RosterCommand) -> anyhow::Result<()> {
    match command {
        RosterCommand::Import { file } => {
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
            let state = Stores::open(&settings).context("opening the database and Redis")?;
            state.db.migrate().await.context("running database migrations")?;
            let summary = state.db.import_roster(&lawyers).await.context("storing the roster")?;
            println!("{} lawyer(s) added, {} updated", summary.added, summary.updated);
            state.db.close().await;
            Ok(())
        }
        RosterCommand::List => {
            let state = Stores::open(&settings).context("opening the database and Redis")?;
            let now = chrono::Utc::now();
            for l in state.db.lawyers().await? {
                let line = serde_json::json!({
                    "id": l.id,
                    "name": l.name,
                    "presence": l.presence.as_str(),
                    "on_duty": hotline::domain::roster::on_duty(&l.shifts, &l.exceptions, now),
                    "open_cases": state.db.open_cases_of(&l.id).await?,
                    "max_cases": l.max_cases,
                    "skills": l.skills,
                    "regions": l.regions,
                });
                println!("{line}");
            }
            Ok(())
        }
        RosterCommand::Presence { lawyer, presence } => {
            use hotline::domain::callback::Presence;
            let state = Stores::open(&settings).context("opening the database and Redis")?;
            let presence = match presence {
                PresenceArg::Available => Presence::Available,
                PresenceArg::Busy => Presence::Busy,
                PresenceArg::Offline => Presence::Offline,
            };
            state.db.set_presence(&lawyer, presence).await?;
            println!("{lawyer}: {}", presence.as_str());
            Ok(())
        }
    }
}
