//! Speech input: callers' recordings recognised locally with whisper.cpp.
//!
//! A menu answer is fetched from the provider ([`fetch`]), decoded and resampled to 16 kHz
//! ([`audio`]), recognised with settings tuned for a few words ([`whisper`]) and matched to the
//! menu's options by their sounds ([`intent`]). Free speech (a problem description) is
//! transcribed into the consultation in simplified Chinese ([`text`]). Without a model the
//! service runs keypad-only.

pub mod audio;
pub mod batch;
pub mod fetch;
pub mod intent;
pub mod text;
pub mod whisper;

pub use fetch::Fetcher;
pub use intent::{best, Choice, Heard};
pub use whisper::{Mode, Recogniser, Transcript};

#[derive(Debug, thiserror::Error)]
pub enum AsrError {
    #[error("no speech model: {0}")]
    NoModel(String),
    #[error("every speech recogniser is busy")]
    Busy,
    #[error("audio could not be used: {0}")]
    Audio(String),
    #[error("recording could not be fetched: {0}")]
    Fetch(String),
    #[error("recognition failed: {0}")]
    Whisper(String),
}
