//! The `hotline` command: `serve`, `migrate`, `worker`, `simulate`, `flows`, `asr`, `eval`,
//! `tts`, `prompts`, `queue`, `roster`, `sms`, `callback` and `user`; each group's code is in
//! `cli/`.

mod cli;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use cli::callbacks::{CallbackCommand, QueueCommand};
use cli::roster::RosterCommand;
use cli::sms::SmsCommand;
use cli::speech::{PromptsCommand, Rate};
use cli::users::UserCommand;
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
    /// Run the background jobs (queue reconciler, lapsed offers) without serving, until
    /// SIGTERM or Ctrl-C.
    Worker,
    /// Play the telephony provider against a running server: sign webhooks, follow the TwiML,
    /// print what the caller hears; the caller's part comes from the keyboard or a script.
    Simulate {
        /// The server's public URL (signatures cover it). Default: the configured public_url.
        #[arg(long)]
        url: Option<String>,
        /// The caller's number.
        #[arg(long, default_value = "+8613800138000")]
        from: String,
        /// Run these steps instead of asking (press KEYS, wait, say URL, dial STATUS, hangup).
        #[arg(long, value_name = "FILE")]
        script: Option<PathBuf>,
    },
    /// The voice menu tree.
    Flows {
        #[command(subcommand)]
        command: FlowsCommand,
    },
    /// Recognise speech in WAV files (16 kHz PCM or 8 kHz µ-law) with the configured Whisper
    /// model: one JSON line per file with the text, and with --menu the intent and confidence.
    Asr {
        /// Match each file to this flow node's options (e.g. main), as the IVR would.
        #[arg(long, value_name = "NODE")]
        menu: Option<String>,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Score the IVR's spoken-answer decisions on the evaluation inventory (tests/data/eval):
    /// every phrase as text, as if its transcript were perfect. Prints a Markdown table.
    Eval {
        #[arg(long, default_value = "tests/data/eval")]
        dir: PathBuf,
        /// Also list the dev answers judged wrong (held-out ones are never listed: they are not
        /// for tuning).
        #[arg(long)]
        misses: bool,
        /// Recognise the renderings listed in DIR/clips.tsv (scripts/eval-audio) with the
        /// configured Whisper model instead, as the IVR would; descriptions are scored by
        /// character error rate.
        #[arg(long, value_name = "DIR")]
        clips: Option<PathBuf>,
    },
    /// Synthesise a text as telephone audio (8 kHz µ-law WAV).
    Tts {
        /// The text; with --batch, a file of lines "NAME<TAB>text".
        text: String,
        /// The WAV file; with --batch, the directory for the NAME.wav files.
        #[arg(short, long, value_name = "PATH", required_unless_present = "pinyin")]
        output: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = Rate::Normal)]
        rate: Rate,
        /// Render every line of the file TEXT; print one JSON line per file with its length and
        /// render time (scripts/voice-bench).
        #[arg(long)]
        batch: bool,
        /// Print how the neural voice reads the text (tone-numbered pinyin) instead.
        #[arg(long, conflicts_with = "batch")]
        pinyin: bool,
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
    /// Text messages (what the lawyers' console does, from the command line).
    Sms {
        #[command(subcommand)]
        command: SmsCommand,
    },
    /// Callback offers (what the lawyers' console does, from the command line).
    Callback {
        #[command(subcommand)]
        command: CallbackCommand,
    },
    /// Staff accounts for the console and the JSON API.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// The settings.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print the effective settings (secrets masked) and every problem with them; exits 1 if
    /// there is one. Every other command refuses to start on the same problems.
    Check,
}

#[derive(Subcommand)]
enum FlowsCommand {
    /// Check the configured flow, prompts and regions, and print the menu tree.
    Show,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Command::Config {
        command: ConfigCommand::Check,
    } = cli.command
    {
        return cli::config::check(cli.config.as_deref());
    }
    let settings = Settings::load(cli.config.as_deref()).context("loading settings")?;
    hotline::telemetry::init(&settings.log, settings.mode);
    for variable in hotline::config::unknown_variables() {
        tracing::warn!(
            variable,
            "ignored: not a setting (misspelt? see `hotline config check`)"
        );
    }
    let sqlite = {
        use secrecy::ExposeSecret;
        settings.database.url.expose_secret().starts_with("sqlite:")
    };
    run(cli.command, settings).await.map_err(|e| {
        if sqlite && format!("{e:#}").contains("database is locked") {
            e.context(
                "the SQLite database is held by a running `hotline serve`: SQLite serves one process \
                 (stop the server first, or use PostgreSQL to run other hotline commands beside it)",
            )
        } else {
            e
        }
    })
}

async fn run(command: Command, settings: Settings) -> anyhow::Result<()> {
    match command {
        Command::Config { .. } => unreachable!("checked before the settings are loaded"),
        Command::Serve => cli::service::serve(settings).await,
        Command::Migrate => cli::service::migrate(settings).await,
        Command::Worker => cli::service::worker(settings).await,
        Command::Simulate { url, from, script } => cli::simulate::simulate(&settings, url, &from, script).await,
        Command::Flows {
            command: FlowsCommand::Show,
        } => {
            let (flow, prompts) = cli::load_flow(&settings)?;
            print!("{}", flow.tree(&prompts));
            Ok(())
        }
        Command::Asr { menu, files } => cli::listening::asr(&settings, menu.as_deref(), &files),
        Command::Eval { dir, misses, clips } => match clips {
            Some(clips) => cli::listening::eval_clips(&settings, &dir, &clips, misses),
            None => cli::listening::eval_text(&settings, &dir, misses),
        },
        Command::Tts {
            text,
            output,
            rate,
            batch,
            pinyin,
        } => cli::speech::tts_command(&settings, text, output, rate, batch, pinyin).await,
        Command::Prompts { command } => cli::speech::prompts(&settings, command).await,
        Command::Queue { command } => cli::callbacks::queue(settings, command).await,
        Command::Roster { command } => cli::roster::run(settings, command).await,
        Command::Sms { command } => cli::sms::run(settings, command).await,
        Command::Callback { command } => cli::callbacks::callback(settings, command).await,
        Command::User { command } => cli::users::run(settings, command).await,
    }
}
