//! The `hotline` command: `serve`, `migrate`, `worker`, `simulate`, `flows`, `asr`, `tts`,
//! `prompts`, `queue`, `roster`, `sms` and `callback`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use hotline::app::AppState;
use hotline::config::IvrSettings;
use hotline::config::Settings;
use hotline::domain::Regions;
use hotline::ivr::{CallState, Flow, Prompts};
use hotline::simulate::{parse_script, Call, Step};
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
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add an account. The password is read from HOTLINE_USER_PASSWORD, or else from the first
    /// line of standard input.
    Add {
        username: String,
        /// The name shown in the console and on notes.
        #[arg(long)]
        name: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        /// A lawyer account's roster id (hotline roster list).
        #[arg(long)]
        lawyer: Option<String>,
        /// A supervisor's prefecture code (e.g. 610100).
        #[arg(long)]
        region: Option<String>,
    },
    /// Print a new API token for the account (shown once; only its hash is stored).
    Token {
        username: String,
        #[arg(long, default_value = "cli")]
        label: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum RoleArg {
    Lawyer,
    Supervisor,
    Admin,
}

#[derive(Subcommand)]
enum FlowsCommand {
    /// Check the configured flow, prompts and regions, and print the menu tree.
    Show,
}

#[derive(Subcommand)]
enum RosterCommand {
    /// Add or update the lawyers of a roster CSV file (format: README, "Rosters"). Nothing is
    /// stored unless every row is valid.
    Import { file: PathBuf },
    /// Every lawyer as a JSON line: id, name, presence, on duty now, open cases, skills, regions.
    List,
    /// Set a lawyer's presence: available (offers start), busy, offline.
    Presence { lawyer: String, presence: PresenceArg },
}

#[derive(Clone, Copy, ValueEnum)]
enum PresenceArg {
    Available,
    Busy,
    Offline,
}

#[derive(Subcommand)]
enum SmsCommand {
    /// How a text would be sent: encoding, units, segments, and the parts a long one is split into.
    Count { text: String },
    /// Reply as a lawyer in the consultation with this ticket (split into numbered parts when
    /// long), from the hotline number.
    Reply { ticket: String, text: String },
}

#[derive(Subcommand)]
enum CallbackCommand {
    /// Run one round of offers now (the job does this every few seconds) and print them.
    Dispatch,
    /// Accept an offer: the lawyer's phone rings, then the caller's.
    Accept { assignment: String, lawyer: String },
    /// Decline an offer: it goes to the next eligible lawyer.
    Decline { assignment: String, lawyer: String },
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
    /// Print, as Markdown, how long callers listen with the configured voice: what they hear
    /// before their first answer, and every static prompt, at each rate.
    Durations,
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
        Command::Simulate { url, from, script } => simulate(&settings, url, &from, script).await,
        Command::Flows {
            command: FlowsCommand::Show,
        } => {
            let (flow, prompts) = load_flow(&settings)?;
            print!("{}", flow.tree(&prompts));
            Ok(())
        }
        Command::Asr { menu, files } => asr(&settings, menu.as_deref(), &files),
        Command::Eval { dir, misses, clips } => match clips {
            Some(clips) => eval_clips(&settings, &dir, &clips, misses),
            None => eval_text(&settings, &dir, misses),
        },
        Command::Tts {
            text,
            output,
            rate,
            batch,
            pinyin,
        } => match (output, pinyin) {
            (_, true) => {
                let front = hotline::speech::neural::FrontEnd::load(
                    &settings.speech.voice_dir,
                    &settings.speech.pronunciations,
                )?;
                println!("{}", front.pinyin(&text));
                Ok(())
            }
            (Some(output), false) if batch => tts_batch(&settings, Path::new(&text), &output, rate.into()).await,
            (Some(output), false) => tts(&settings, &text, &output, rate.into()).await,
            (None, false) => unreachable!("clap requires --output without --pinyin"),
        },
        Command::Prompts {
            command: PromptsCommand::Render,
        } => render_prompts(&settings).await,
        Command::Prompts {
            command: PromptsCommand::Durations,
        } => prompt_durations(&settings).await,
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
            command: RosterCommand::List,
        } => {
            let state = AppState::new(settings).context("preparing the service")?;
            let now = chrono::Utc::now();
            for l in state.db.lawyers().await? {
                let line = serde_json::json!({
                    "id": l.id,
                    "name": l.name,
                    "presence": l.presence,
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
        Command::Roster {
            command: RosterCommand::Presence { lawyer, presence },
        } => {
            use hotline::domain::callback::Presence;
            let state = AppState::new(settings).context("preparing the service")?;
            let presence = match presence {
                PresenceArg::Available => Presence::Available,
                PresenceArg::Busy => Presence::Busy,
                PresenceArg::Offline => Presence::Offline,
            };
            state.db.set_presence(&lawyer, presence).await?;
            println!("{lawyer}: {}", presence.as_str());
            Ok(())
        }
        Command::Sms {
            command: SmsCommand::Count { text },
        } => {
            let parts = hotline::sms::split(&text, hotline::inbound::sms::SIGNATURE);
            let whole = hotline::sms::count(&format!("{}{text}", hotline::inbound::sms::SIGNATURE));
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
        Command::Sms {
            command: SmsCommand::Reply { ticket, text },
        } => {
            let state = AppState::new(settings).context("preparing the service")?;
            state.db.migrate().await.context("running database migrations")?;
            let ticket = hotline::domain::Ticket::parse(&ticket).context("a ticket is 8 digits")?;
            let c = state
                .db
                .consultation_by_ticket(&ticket)
                .await?
                .context("no consultation with that ticket")?;
            let sent = hotline::inbound::notify::lawyer_reply(&state, &c.id, &text).await?;
            println!("sent in {} part(s), {} segment(s)", sent.parts, sent.segments);
            Ok(())
        }
        Command::User { command } => user(settings, command).await,
        Command::Callback { command } => {
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
            survive_file_size_limits();
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

/// The configured Whisper model, with one recognition at a time (a command, not the service).
fn load_recogniser(settings: &Settings) -> anyhow::Result<hotline::asr::Recogniser> {
    use hotline::asr::{Pool, Recogniser};
    let w = &settings.whisper;
    anyhow::ensure!(
        !w.model.is_empty(),
        "no Whisper model configured (HOTLINE_WHISPER_MODEL)"
    );
    let pool = Pool {
        workers: 1,
        ..Pool::from_settings(w)
    };
    Recogniser::load(Path::new(&w.model), pool).context("loading the Whisper model (scripts/whisper-model obtains it)")
}

fn asr(settings: &Settings, menu: Option<&str>, files: &[PathBuf]) -> anyhow::Result<()> {
    use hotline::asr::{batch, intent::Thresholds};
    let w = &settings.whisper;
    let recogniser = load_recogniser(settings)?;
    let choices = match menu {
        Some(node) => {
            let (flow, _) = load_flow(settings)?;
            anyhow::ensure!(flow.nodes.contains_key(node), "the flow has no node {node}");
            let at = CallState {
                node: node.to_owned(),
                ..CallState::default()
            };
            let choices = hotline::ivr::listen::choices(&flow, &at);
            Some(choices.with_context(|| format!("node {node} takes no spoken choice"))?)
        }
        None => None,
    };
    for file in files {
        let result = batch::recognise_file(
            &recogniser,
            choices.as_deref(),
            Thresholds::from_settings(w),
            w.max_recording_secs,
            file,
        )?;
        println!("{}", serde_json::to_string(&result)?);
    }
    Ok(())
}

/// The configured flow and its prompts.
fn load_flow(settings: &Settings) -> anyhow::Result<(Flow, Prompts)> {
    let prompts = Prompts::load(IvrSettings::file(&settings.ivr.prompts_file))?;
    let regions = Regions::load(IvrSettings::file(&settings.ivr.regions_file))?;
    let flow = Flow::load(IvrSettings::file(&settings.ivr.flow_file), &prompts, regions)?;
    Ok((flow, prompts))
}

fn eval_text(settings: &Settings, dir: &Path, misses: bool) -> anyhow::Result<()> {
    use hotline::asr::eval::{judge_text, Report};
    use hotline::asr::intent::Thresholds;
    use hotline::asr::inventory::{self, Split};
    let (flow, _) = load_flow(settings)?;
    let cases = inventory::load(dir, &flow, true)?;
    let thresholds = Thresholds::from_settings(&settings.whisper);
    let mut report = Report::default();
    for case in &cases {
        let verdict = judge_text(&flow, case, &thresholds);
        report.add(case, &verdict, &[]);
        if misses && case.split == Split::Dev && !verdict.right {
            println!(
                "miss\t{}\t{}\t{}\t{:?} {:?} {:.2}",
                case.node, case.label, case.phrase, verdict.outcome, verdict.chosen, verdict.confidence
            );
        }
    }
    print!("{}", report.markdown());
    Ok(())
}

/// `hotline eval --clips`: the renderings recognised, judged as the IVR acts on them.
fn eval_clips(settings: &Settings, dir: &Path, clips: &Path, misses: bool) -> anyhow::Result<()> {
    use hotline::asr::cer::{CerReport, Errors};
    use hotline::asr::eval::{case_of, judge, read_clips, Report, DESCRIPTIONS};
    use hotline::asr::intent::Thresholds;
    use hotline::asr::inventory::{self, Split};
    use hotline::asr::{audio, Mode};
    let (flow, _) = load_flow(settings)?;
    let cases = inventory::load(dir, &flow, false)?;
    let w = &settings.whisper;
    let recogniser = load_recogniser(settings)?;
    let thresholds = Thresholds::from_settings(w);
    let mut report = Report::default();
    let mut cer = CerReport::default();
    let (mut ms, mut free_ms) = (Vec::new(), Vec::new());
    for clip in read_clips(clips)? {
        let extra = [
            ("engine", clip.engine.as_str()),
            ("rate", clip.rate.as_str()),
            ("noise", clip.noise.as_str()),
        ];
        if clip.node == DESCRIPTIONS {
            let bytes = std::fs::read(&clip.file).with_context(|| clip.file.display().to_string())?;
            let samples = audio::wav_to_16k(&bytes, w.max_recording_secs)?;
            let t = recogniser.recognise_blocking(&samples, &Mode::Free)?;
            free_ms.push(t.ms);
            let split = if clip.split == Split::Dev.as_str() {
                Split::Dev
            } else {
                Split::Heldout
            };
            let errors = Errors::of(&clip.phrase, &t.text);
            cer.add(split, errors, &extra);
            if misses && split == Split::Dev && errors.errors > 0 {
                println!("cer\t{}\t{}\t{}\t{}", errors.errors, clip.phrase, t.text, clip.engine);
            }
            continue;
        }
        let case = case_of(&cases, &clip).with_context(|| format!("{}: not in the inventory", clip.file.display()))?;
        let choices = hotline::ivr::listen::choices(&flow, &case.state).context("a node that listens")?;
        let mode = Mode::Menu {
            words: hotline::ivr::listen::prompt_words(&choices),
            choices,
        };
        let bytes = std::fs::read(&clip.file).with_context(|| clip.file.display().to_string())?;
        // The provider's recording stops at the listening window: a longer answer is cut.
        let mut samples = audio::wav_to_16k(&bytes, w.max_recording_secs)?;
        samples.truncate(w.menu_window_secs as usize * audio::RATE as usize);
        let t = recogniser.recognise_blocking(&samples, &mode)?;
        ms.push(t.ms);
        let verdict = judge(&case.expect, t.heard.as_ref(), &thresholds);
        let noise = format!("{} {}", clip.engine, clip.noise);
        let extra = [&extra[..], &[("engine, noise", noise.as_str())]].concat();
        report.add(case, &verdict, &extra);
        if misses && case.split == Split::Dev && !verdict.right {
            println!(
                "miss\t{}\t{}\t{}\t{}\t{:?} {:?} {:.2}\t{}",
                case.node,
                case.label,
                case.phrase,
                t.text,
                verdict.outcome,
                verdict.chosen,
                verdict.confidence,
                clip.engine
            );
        }
    }
    if !ms.is_empty() {
        println!("{}\n", latency("menu answers", &mut ms));
        print!("{}", report.markdown());
    }
    if !free_ms.is_empty() {
        println!("\n{}\n", latency("descriptions", &mut free_ms));
        print!("{}", cer.markdown());
    }
    Ok(())
}

/// "N what; recognition p50 …, p95 …, max …".
fn latency(what: &str, ms: &mut [u64]) -> String {
    ms.sort_unstable();
    let at = |p: f64| ms[((ms.len() as f64 * p) as usize).min(ms.len() - 1)];
    format!(
        "{} {what}; recognition p50 {} ms, p95 {} ms, max {} ms",
        ms.len(),
        at(0.5),
        at(0.95),
        at(1.0)
    )
}

/// The configured voice, which must have an engine.
fn speaking_voice(settings: &Settings) -> anyhow::Result<Voice> {
    let voice = Voice::from_settings(&settings.speech).context("starting the speech engine")?;
    anyhow::ensure!(voice.has_engine(), "no speech engine is available (speech.engine)");
    Ok(voice)
}

/// Renders `text` into the WAV file `output`; its length in seconds.
async fn render_to(voice: &Voice, text: &str, output: &Path, rate: SpeechRate) -> anyhow::Result<f64> {
    let key = voice.render(None, text, rate).await.context("synthesising")?;
    let wav = voice.audio(&key).await.context("reading the rendered audio")?;
    std::fs::write(output, &wav).with_context(|| format!("writing {}", output.display()))?;
    Ok(hotline::speech::telephone::parse_wav(&wav)?.duration_secs())
}

async fn tts(settings: &Settings, text: &str, output: &Path, rate: SpeechRate) -> anyhow::Result<()> {
    let secs = render_to(&speaking_voice(settings)?, text, output, rate).await?;
    println!("{}: {secs:.2} s, 8 kHz µ-law", output.display());
    Ok(())
}

/// Each line "NAME<TAB>text" of `lines` rendered to DIR/NAME.wav, timed.
async fn tts_batch(settings: &Settings, lines: &Path, dir: &Path, rate: SpeechRate) -> anyhow::Result<()> {
    let voice = speaking_voice(settings)?;
    let text = std::fs::read_to_string(lines).with_context(|| format!("reading {}", lines.display()))?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let (name, words) = line
            .split_once('\t')
            .with_context(|| format!("line {}: expected NAME<TAB>text", n + 1))?;
        let file = dir.join(format!("{name}.wav"));
        let started = std::time::Instant::now();
        let secs = render_to(&voice, words, &file, rate).await?;
        let render_ms = started.elapsed().as_secs_f64() * 1000.0;
        let line = serde_json::json!({"file": file, "secs": secs, "render_ms": render_ms, "voice": voice.described()});
        println!("{line}");
    }
    Ok(())
}

async fn render_prompts(settings: &Settings) -> anyhow::Result<()> {
    let voice = speaking_voice(settings)?;
    let started = std::time::Instant::now();
    let prompts = Prompts::load(IvrSettings::file(&settings.ivr.prompts_file))?;
    let rendered = voice.render_all(&prompts).await.context("rendering prompts")?;
    println!(
        "rendered {rendered} prompt files in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn prompt_durations(settings: &Settings) -> anyhow::Result<()> {
    use hotline::speech::durations;
    let voice = speaking_voice(settings)?;
    let (flow, prompts) = load_flow(settings)?;
    let speech_input = !settings.whisper.model.is_empty() && Path::new(&settings.whisper.model).is_file();
    let journeys = durations::journeys(&voice, &flow, &prompts, speech_input).await?;
    println!(
        "Voice: `{}`. Speech input: {}.\n",
        voice.described(),
        if speech_input { "on" } else { "off" }
    );
    println!(
        "### Before the first answer, and the closing\n\n{}",
        durations::table(&journeys)
    );
    println!(
        "### Every static prompt\n\n{}",
        durations::table(&durations::prompts(&voice, &prompts).await?)
    );
    Ok(())
}

async fn simulate(settings: &Settings, url: Option<String>, from: &str, script: Option<PathBuf>) -> anyhow::Result<()> {
    use secrecy::ExposeSecret;
    anyhow::ensure!(
        !settings.twilio.auth_token.expose_secret().is_empty(),
        "set HOTLINE_TWILIO_AUTH_TOKEN to the server's token: webhooks are signed with it"
    );
    let base = url.unwrap_or_else(|| settings.public_url.as_str().to_owned());
    let to = match settings.hotline_number.as_str() {
        "" => "+8612348",
        number => number,
    };
    let account = match settings.twilio.account_sid.as_str() {
        "" => "AC00000000000000000000000000000000",
        sid => sid,
    };
    let call = Call::new(&base, settings.twilio.auth_token.expose_secret(), account, from, to);
    let print = |heard: hotline::simulate::Heard| println!("{heard}");
    match script {
        Some(file) => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            let mut steps = parse_script(&text)
                .with_context(|| file.display().to_string())?
                .into_iter();
            call.run(
                |_| {
                    let step = steps.next();
                    if let Some(s) = &step {
                        println!("   ▶ {s:?}");
                    }
                    step
                },
                print,
            )
            .await?;
        }
        None => {
            println!("Keys then Enter (an empty line waits); also: say URL, dial completed|no-answer, hangup.");
            call.run(
                |waiting| loop {
                    eprint!("{waiting:?}> ");
                    let mut line = String::new();
                    if std::io::stdin().read_line(&mut line).ok()? == 0 {
                        return None;
                    }
                    let line = line.trim();
                    if line.is_empty() {
                        return Some(Step::Wait);
                    }
                    let typed = if line.starts_with(|c: char| c.is_ascii_digit() || c == '*' || c == '#') {
                        format!("press {line}")
                    } else {
                        line.to_owned()
                    };
                    match Step::parse(&typed) {
                        Ok(Some(step)) => return Some(step),
                        Ok(None) => {}
                        Err(problem) => eprintln!("{problem}"),
                    }
                },
                print,
            )
            .await?;
        }
    }
    Ok(())
}

async fn user(settings: Settings, command: UserCommand) -> anyhow::Result<()> {
    use hotline::auth::accounts::{self, Account};
    use hotline::domain::Role;
    let state = AppState::new(settings).context("preparing the service")?;
    state.db.migrate().await.context("running database migrations")?;
    match command {
        UserCommand::Add {
            username,
            name,
            role,
            lawyer,
            region,
        } => {
            let password = match std::env::var("HOTLINE_USER_PASSWORD") {
                Ok(p) => p,
                Err(_) => {
                    eprintln!(
                        "password (at least {} characters):",
                        hotline::auth::password::MIN_LENGTH
                    );
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line)?;
                    line.trim_end_matches(['\r', '\n']).to_owned()
                }
            };
            let role = match role {
                RoleArg::Lawyer => Role::Lawyer,
                RoleArg::Supervisor => Role::Supervisor,
                RoleArg::Admin => Role::Admin,
            };
            let user = accounts::add(
                &state.db,
                &Account {
                    username: &username,
                    name: &name,
                    role,
                    password: &password,
                    lawyer_id: lawyer.as_deref(),
                    region: region.as_deref(),
                },
            )
            .await?;
            println!(
                "{}",
                serde_json::json!({"id": user.id, "username": user.username, "role": role.as_str()})
            );
        }
        UserCommand::Token { username, label } => {
            let user = state
                .db
                .user_by_username(&username.to_ascii_lowercase())
                .await?
                .context("no such user")?;
            println!("{}", hotline::auth::login::new_token(&state, &user.id, &label).await?);
        }
    }
    Ok(())
}

/// SIGINT or SIGTERM: stop accepting, let in-flight webhooks finish.
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
