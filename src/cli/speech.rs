//! `tts` and `prompts render|durations`: speech output.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use hotline::config::{IvrSettings, Settings};
use hotline::prompts::Prompts;
use hotline::speech::{SpeechRate, Voice};

use super::load_flow;

#[derive(Subcommand)]
pub enum PromptsCommand {
    /// Render every static prompt at every speech rate into the prompt cache.
    Render,
    /// Print, as Markdown, how long callers listen with the configured voice: what they hear
    /// before their first answer, and every static prompt, at each rate.
    Durations,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Rate {
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

/// `hotline tts`: one text, a file of lines (`--batch`), or how a text is read (`--pinyin`).
pub async fn tts_command(
    settings: &Settings,
    text: String,
    output: Option<PathBuf>,
    rate: Rate,
    batch: bool,
    pinyin: bool,
) -> anyhow::Result<()> {
    match (output, pinyin) {
        (_, true) => {
            let front =
                hotline::speech::neural::FrontEnd::load(&settings.speech.voice_dir, &settings.speech.pronunciations)?;
            println!("{}", front.pinyin(&text));
            Ok(())
        }
        (Some(output), false) if batch => tts_batch(settings, Path::new(&text), &output, rate.into()).await,
        (Some(output), false) => tts(settings, &text, &output, rate.into()).await,
        (None, false) => unreachable!("clap requires --output without --pinyin"),
    }
}

pub async fn prompts(settings: &Settings, command: PromptsCommand) -> anyhow::Result<()> {
    match command {
        PromptsCommand::Render => render_prompts(settings).await,
        PromptsCommand::Durations => prompt_durations(settings).await,
    }
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
    use hotline::measure::durations;
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
