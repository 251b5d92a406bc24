//! Speech input: callers' recordings recognised locally with whisper.cpp.
//!
//! A menu answer is fetched from the provider (through its [`Telephony`] port), decoded and resampled to 16 kHz
//! ([`audio`]), recognised with settings tuned for a few words ([`whisper`]) and matched to the
//! menu's options by their sounds ([`intent`]). Free speech (a problem description) is
//! transcribed into the consultation in simplified Chinese ([`text`]). Without a model the
//! service runs keypad-only.

pub mod audio;
pub mod digits;
pub mod intent;
pub mod remote;
pub mod text;
pub mod whisper;

use std::sync::Arc;
use std::time::Duration;

use crate::providers::Telephony;

pub use intent::{Choice, Heard};
pub use whisper::{Mode, Pool, Recogniser, Transcript};

#[derive(Debug, thiserror::Error)]
pub enum AsrError {
    #[error("no speech model: {0}")]
    NoModel(String),
    #[error("every speech recogniser is busy")]
    Busy,
    #[error("recognition stopped: nobody waits for it any more, or the service is stopping")]
    Cancelled,
    #[error("audio could not be used: {0}")]
    Audio(String),
    #[error("recording could not be fetched: {0}")]
    Fetch(String),
    #[error("recognition failed: {0}")]
    Whisper(String),
    #[error("recognition through Redis failed: {0}")]
    Remote(String),
}

/// Speech input as the IVR uses it: here, or by workers through Redis.
#[derive(Clone)]
pub enum Asr {
    Local(Local),
    Remote(remote::Remote),
}

impl Asr {
    /// Fetches the recording at `url` and recognises it within `timeout`.
    pub async fn recognise_url(
        &self,
        url: &str,
        mode: Mode,
        max_secs: u32,
        timeout: Duration,
    ) -> Result<Transcript, AsrError> {
        match self {
            Asr::Local(local) => local.recognise_url(url, mode, max_secs, timeout).await,
            Asr::Remote(remote) => remote.recognise_url(url, mode, max_secs, timeout).await,
        }
    }
}

/// The model in this process, and the provider's recordings.
#[derive(Clone)]
pub struct Local {
    pub recogniser: Recogniser,
    pub recordings: Recordings,
}

/// Where callers' recordings come from: the provider, only from the configured hosts and at
/// most so many bytes.
#[derive(Clone)]
pub struct Recordings {
    pub telephony: Arc<dyn Telephony>,
    pub hosts: Vec<String>,
    pub max_bytes: usize,
}

impl Recordings {
    async fn fetch(&self, url: &str) -> Result<Vec<u8>, AsrError> {
        let media = self
            .telephony
            .fetch_recording(url, &self.hosts, self.max_bytes)
            .await
            .map_err(|e| AsrError::Fetch(e.to_string()))?;
        Ok(media.bytes)
    }
}

impl Local {
    pub async fn recognise_url(
        &self,
        url: &str,
        mode: Mode,
        max_secs: u32,
        timeout: Duration,
    ) -> Result<Transcript, AsrError> {
        let work = async {
            let wav = self.recordings.fetch(url).await?;
            let samples = audio::wav_to_16k(&wav, max_secs)?;
            self.recogniser.recognise(samples, mode).await
        };
        tokio::time::timeout(timeout, work).await.unwrap_or(Err(AsrError::Busy))
    }
}
