//! `sms count` and `sms reply`.

use anyhow::Context;
use clap::Subcommand;
use hotline::app::AppState;
use hotline::config::Settings;

#[derive(Subcommand)]
pub enum SmsCommand {
    /// How a text would be sent: encoding, units, segments, and the parts a long one is split into.
    Count { text: String },
    /// Reply as a lawyer in the consultation with this ticket (split into numbered parts when
    /// long), from the hotline number.
    Reply { ticket: String, text: String },
}

pub async fn run(settings: Settings, command: SmsCommand) -> anyhow::Result<()> {
    match command {
        SmsCommand::Count { text } => {
            let parts = hotline::sms::split(&text, hotline::sms::SIGNATURE);
            let whole = hotline::sms::count(&format!("{}{text}", hotline::sms::SIGNATURE));
            let line = serde_json::json!({
                "encoding": format!("{:?}", whole.encoding),
                "units": whole.units,
                "segments_as_one_message": whole.segments,
                "parts": parts.len(),
                "segments": parts.iter().map(|p| hotline::sms::count(p).segments).sum::<usize>(),
            });
            println!("{line}");
            Ok(())
        }
        SmsCommand::Reply { ticket, text } => {
            let state = AppState::new(settings).context("preparing the service")?;
            state.db.migrate().await.context("running database migrations")?;
            let ticket = hotline::domain::Ticket::parse(&ticket).context("a ticket is 8 digits")?;
            let c = state
                .db
                .consultation_by_ticket(&ticket)
                .await?
                .context("no consultation with that ticket")?;
            let sent = hotline::notify::lawyer_reply(&state, &c.id, &text).await?;
            println!("sent in {} part(s), {} segment(s)", sent.parts, sent.segments);
            Ok(())
        }
    }
}
