//! Speech output: Mandarin prompts rendered to telephone audio and served to the provider.
//!
//! The default engine is a neural Mandarin voice in-process ([`neural`]); libespeak-ng
//! ([`espeak`]) is its fallback when the voice's files are missing (tts-rs cannot render into a
//! buffer on Linux: it drives the speech-dispatcher daemon, which plays on a sound card).
//! Engines sit behind [`Synthesizer`]: an OpenAI-compatible HTTP server ([`http_engine`]) can
//! replace them, and recorded files in `prompts/zh-CN/audio/` override all ([`voice`]). Every
//! result goes through [`telephone`] (band-limit, resample, G.711 µ-law WAV) into the on-disk
//! [`cache`], from which `/audio/<hash>.wav` serves it.

pub mod cache;
pub mod espeak;
pub mod http_engine;
pub mod neural;
mod recorded;
pub mod telephone;
pub mod voice;

use serde::{Deserialize, Serialize};

pub use voice::Voice;

/// The caller's chosen speech rate (rule R4).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SpeechRate {
    Slower,
    #[default]
    Normal,
    Faster,
}

impl SpeechRate {
    pub const ALL: [SpeechRate; 3] = [SpeechRate::Slower, SpeechRate::Normal, SpeechRate::Faster];

    pub fn as_str(self) -> &'static str {
        match self {
            SpeechRate::Slower => "slower",
            SpeechRate::Normal => "normal",
            SpeechRate::Faster => "faster",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == value)
    }

    /// Speaking speed against normal, for engines and providers that take a speed (the neural
    /// voice stretches its durations instead).
    pub fn speed(self) -> f32 {
        match self {
            SpeechRate::Slower => 0.75,
            SpeechRate::Normal => 1.0,
            SpeechRate::Faster => 1.3,
        }
    }

    /// [`SpeechRate::speed`] in percent, as SSML's `<prosody rate>` takes it.
    pub fn percent(self) -> u16 {
        (self.speed() * 100.0).round() as u16
    }

    pub fn slower(self) -> Self {
        match self {
            SpeechRate::Faster => SpeechRate::Normal,
            _ => SpeechRate::Slower,
        }
    }

    pub fn faster(self) -> Self {
        match self {
            SpeechRate::Slower => SpeechRate::Normal,
            _ => SpeechRate::Faster,
        }
    }
}

/// Mono audio as an engine produced it.
#[derive(Debug, Clone)]
pub struct Pcm {
    /// Samples in -1.0..=1.0.
    pub samples: Vec<f32>,
    pub sample_rate: u32,
}

impl Pcm {
    pub fn duration_secs(&self) -> f64 {
        self.samples.len() as f64 / f64::from(self.sample_rate)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SpeechError {
    #[error("speech engine failed: {0}")]
    Engine(String),
    #[error("audio could not be processed: {0}")]
    Audio(String),
    #[error("no speech engine is configured")]
    NoEngine,
    #[error("prompt cache: {0}")]
    Io(#[from] std::io::Error),
}

/// A text-to-speech engine.
#[async_trait::async_trait]
pub trait Synthesizer: Send + Sync {
    /// Names the engine, voice and settings: part of the cache key, so a change of engine or
    /// voice renders anew.
    fn id(&self) -> String;

    async fn synthesize(&self, text: &str, rate: SpeechRate) -> Result<Pcm, SpeechError>;
}
