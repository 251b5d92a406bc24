//! `config check`: the effective settings with secrets masked, then every problem, each naming
//! its environment variable, what is wrong and an example.

use std::path::Path;

use hotline::config::{Settings, SpeechEngine};

pub fn check(file: Option<&Path>) -> anyhow::Result<()> {
    let report = Settings::check(file);
    println!("# the effective settings (defaults, then the file, then HOTLINE_* variables); secrets hidden");
    for (setting, value) in &report.settings {
        println!("{setting} = {value}");
    }
    if let Ok(settings) = Settings::load(file) {
        for missing in missing_files(&settings) {
            println!("# warning: {missing}");
        }
    }
    for name in &report.unknown {
        println!("# ignored: {name} is not a setting (misspelt? see README, \"Configuration\")");
    }
    if report.problems.is_empty() {
        println!("# no problems");
        return Ok(());
    }
    println!("# {} problem(s):", report.problems.len());
    for p in &report.problems {
        println!("#   - {p}");
    }
    std::process::exit(1);
}

/// Files the settings name that are not there. The service still starts without them
/// (keypad-only, or espeak-ng for the neural voice), so they are warnings, not problems.
fn missing_files(s: &Settings) -> Vec<String> {
    let mut missing = Vec::new();
    let model = std::path::Path::new(&s.whisper.model);
    if !s.whisper.model.is_empty() && !model.is_file() {
        let who = if s.whisper.remote { "a worker" } else { "this process" };
        missing.push(format!(
            "HOTLINE_WHISPER_MODEL {} is not there: {who} would run keypad-only (scripts/whisper-model makes it)",
            model.display()
        ));
    }
    if s.speech.engine == SpeechEngine::Neural {
        let absent: Vec<&str> = hotline::speech::neural::FILES
            .into_iter()
            .filter(|f| !s.speech.voice_dir.join(f).is_file())
            .collect();
        if !absent.is_empty() {
            missing.push(format!(
                "HOTLINE_SPEECH_VOICE_DIR {} lacks {}: espeak-ng would speak instead (scripts/voice-model makes them)",
                s.speech.voice_dir.display(),
                absent.join(", ")
            ));
        }
        if !s.speech.pronunciations.is_file() {
            missing.push(format!(
                "HOTLINE_SPEECH_PRONUNCIATIONS {} is not there: espeak-ng would speak instead",
                s.speech.pronunciations.display()
            ));
        }
    }
    missing
}
