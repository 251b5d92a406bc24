//! `hotline asr`: recognise WAV files as the IVR would, one JSON line per file.

use std::path::Path;

use serde::Serialize;

use crate::asr::intent::{Choice, Outcome, Thresholds};
use crate::asr::{audio, AsrError, Mode, Recogniser};
use crate::ivr::listen::prompt_words;

/// One file's result.
#[derive(Debug, Clone, Serialize)]
pub struct FileResult {
    pub file: String,
    pub text: String,
    /// With a menu: the intent matched, or null when nothing matched well enough to act on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub intent: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f32>,
    /// With a menu: what the IVR would do with the answer (taken, confirm or none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// Recognition time (model loading and decoding the file excluded).
    pub ms: u64,
}

/// Recognises `path` as a menu answer (with `menu`'s choices) or as free speech. An answer the
/// IVR would not act on (outcome none) has the intent null.
pub fn recognise_file(
    recogniser: &Recogniser,
    menu: Option<&[Choice]>,
    thresholds: Thresholds,
    max_secs: u32,
    path: &Path,
) -> Result<FileResult, AsrError> {
    let bytes = std::fs::read(path).map_err(|e| AsrError::Audio(format!("{}: {e}", path.display())))?;
    let samples = audio::wav_to_16k(&bytes, max_secs)?;
    let mode = match menu {
        Some(choices) => Mode::Menu {
            words: prompt_words(choices),
            choices: choices.to_vec(),
        },
        None => Mode::Free,
    };
    let transcript = recogniser.recognise_blocking(&samples, &mode)?;
    let heard = transcript.heard.as_ref();
    let outcome = thresholds.outcome(heard);
    Ok(FileResult {
        file: path.display().to_string(),
        intent: menu.map(|_| heard.filter(|_| outcome != Outcome::None).map(|h| h.intent.clone())),
        confidence: menu.map(|_| heard.map_or(0.0, |h| h.confidence)),
        outcome: menu.map(|_| outcome),
        text: transcript.text,
        ms: transcript.ms,
    })
}
