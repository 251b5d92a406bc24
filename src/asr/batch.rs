//! `hotline asr`: recognise WAV files as the IVR would, one JSON line per file.

use std::path::Path;

use serde::Serialize;

use super::intent::Choice;
use super::{audio, AsrError, Mode, Recogniser};
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
    /// Recognition time (model loading and decoding the file excluded).
    pub ms: u64,
}

/// Recognises `path` as a menu answer (with `menu`'s choices) or as free speech. Intents below
/// `min_confidence` are reported as null: the IVR would not act on them.
pub fn recognise_file(
    recogniser: &Recogniser,
    menu: Option<&[Choice]>,
    min_confidence: f32,
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
    let heard = transcript.heard.clone();
    Ok(FileResult {
        file: path.display().to_string(),
        intent: menu.map(|_| {
            heard
                .as_ref()
                .filter(|h| h.confidence >= min_confidence)
                .map(|h| h.intent.clone())
        }),
        confidence: menu.map(|_| heard.as_ref().map_or(0.0, |h| h.confidence)),
        text: transcript.text,
        ms: transcript.ms,
    })
}
