//! The provider port: what the service asks of a telephony and an SMS provider, whatever its
//! wire format. Each adapter (`twilio/`, and others beside it) implements the traits; the
//! service holds them as `Arc<dyn …>` and never sees a provider's URLs or documents.

use super::{Action, Leg};

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("the provider account is not configured")]
    NotConfigured,
    #[error("request to the provider failed: {0}")]
    Transport(#[from] reqwest::Error),
    #[error("the provider refused the request ({status}, code {code:?}): {message}")]
    Refused {
        status: u16,
        code: Option<i64>,
        message: String,
    },
    #[error("the recording URL's host {0} is not a recording host (whisper.recording_hosts)")]
    NotRecordingHost(String),
    #[error("the recording is larger than {0} bytes (whisper.max_recording_bytes)")]
    TooLarge(usize),
    #[error("the recording store failed: {0}")]
    Storage(String),
}

impl ProviderError {
    /// Worth trying again later: network trouble, rate limiting or a provider-side fault.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::NotConfigured | Self::NotRecordingHost(_) | Self::TooLarge(_) | Self::Storage(_) => false,
            Self::Transport(_) => true,
            Self::Refused { status, .. } => *status == 429 || *status >= 500,
        }
    }
}

/// One leg of a callback, placed by the service.
#[derive(Debug, Clone)]
pub struct OutboundCall<'a> {
    pub to: &'a str,
    /// The hotline's number, shown to the person called.
    pub from: &'a str,
    pub leg: Leg,
    /// The assignment the leg belongs to; the provider's reports about the leg name it.
    pub assignment: &'a str,
    /// How long it rings before it counts as not answered.
    pub ring_secs: u32,
}

/// A text to one number; the provider reports its delivery under the id it returns.
#[derive(Debug, Clone)]
pub struct OutboundSms<'a> {
    pub to: &'a str,
    pub from: &'a str,
    pub body: &'a str,
}

/// A recording's audio as the provider serves it.
#[derive(Debug, Clone)]
pub struct Media {
    /// The provider's Content-Type (Twilio: `audio/x-wav` at the bare RecordingUrl).
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

/// What deleting a recording did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    /// Deleted now, or already gone.
    Gone,
    /// Not one of this provider's recordings: there is nothing of ours to delete.
    NotOurs,
}

/// Calls: placing the callback legs, changing a call in progress, and its recordings.
#[async_trait::async_trait]
pub trait Telephony: Send + Sync {
    /// The provider's name, as stored with its calls.
    fn name(&self) -> &'static str;
    /// Whether an account is set up, so that calls can be placed at all.
    fn is_configured(&self) -> bool;
    /// Places the call; returns the provider's id for it.
    async fn place_call(&self, call: &OutboundCall<'_>) -> Result<String, ProviderError>;
    /// Replaces what a call in progress is doing with `actions`.
    async fn update_call(&self, call_id: &str, actions: &[Action]) -> Result<(), ProviderError>;
    /// A recording's audio, from the recording hosts only and at most `max_bytes`.
    async fn fetch_recording(&self, url: &str, hosts: &[String], max_bytes: usize) -> Result<Media, ProviderError>;
    async fn delete_recording(&self, url: &str) -> Result<Deleted, ProviderError>;
}

/// Texts: sending one, with delivery reports to follow.
#[async_trait::async_trait]
pub trait Messaging: Send + Sync {
    /// Whether an account is set up, so that texts can be sent at all.
    fn is_configured(&self) -> bool;
    /// Sends the text; returns the provider's id for it.
    async fn send_sms(&self, sms: &OutboundSms<'_>) -> Result<String, ProviderError>;
}
