//! Callers' recordings on jambonz. jambonz keeps no recordings: a `listen` streams the call's
//! audio to `/jambonz/listen` over a websocket (subprotocol `audio.jambonz.org`): one text frame
//! with the call's attributes (`callSid`, `sampleRate`…), then binary frames of 16-bit
//! little-endian PCM. The service keeps each stream as a WAV file under
//! `<data_dir>/recordings`, encrypted with the data key, named by the call and the turn; the
//! recording's URL is the service's own, and only this adapter reads or deletes it.
//!
//! The listen's actionHook may arrive while the stream is still being written (`.part`): the
//! recording is then reported without a duration, and fetching it waits for the file a while.

use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::signature::Seal;
use super::verbs::LISTEN_SAMPLE_RATE;
use super::webhook::Found;
use crate::crypto::DataKey;
use crate::providers::{Media, ProviderError};

pub const PATH: &str = "/jambonz/listen";
const PREFIX: &str = "/jambonz/recordings/";
const PROTOCOL: &str = "audio.jambonz.org";
/// The longest stream kept: ten minutes at 16 kHz.
const MAX_BYTES: usize = 10 * 60 * 16_000 * 2;
/// How long a fetch waits for a stream still being written.
const FINISH_WAIT: Duration = Duration::from_secs(5);

#[derive(Clone, Debug)]
pub struct Store {
    pub dir: PathBuf,
    pub key: DataKey,
    pub base: url::Url,
    pub seal: Seal,
}

impl Store {
    fn file(&self, name: &str, ext: &str) -> PathBuf {
        self.dir.join(format!("{name}.{ext}"))
    }

    fn prefix(&self) -> String {
        format!("{}{PREFIX}", self.base.as_str().trim_end_matches('/'))
    }

    /// The recording a call's listen at `turn` left, if its stream ever opened.
    pub fn found(&self, call_sid: &str, turn: u32) -> Found {
        let name = format!("{call_sid}-{turn}");
        let url = Some(format!("{}{name}.wav", self.prefix()));
        if let Ok(stored) = std::fs::read(self.file(&name, "wav")) {
            let duration_secs = self
                .key
                .decrypt(&stored)
                .ok()
                .and_then(|wav| hound::WavReader::new(std::io::Cursor::new(wav)).ok())
                .map(|r| r.duration() / r.spec().sample_rate.max(1));
            // Nothing streamed at all: a key before a word.
            return match duration_secs {
                Some(0) => Found {
                    url: None,
                    duration_secs: None,
                },
                secs => Found {
                    url,
                    duration_secs: secs,
                },
            };
        }
        match self.file(&name, "part").exists() {
            true => Found {
                url,
                duration_secs: None,
            },
            false => Found {
                url: None,
                duration_secs: None,
            },
        }
    }

    /// The file name a recording URL of ours names; None for any other URL.
    fn name_of<'u>(&self, url: &'u str) -> Option<&'u str> {
        let name = url.strip_prefix(&self.prefix())?.strip_suffix(".wav")?;
        let ok = !name.is_empty()
            && name.len() <= 80
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then_some(name)
    }

    /// One of our recordings, waiting a while for a stream still being written; None when the
    /// URL is not ours.
    pub async fn fetch(&self, url: &str, max_bytes: usize) -> Option<Result<Media, ProviderError>> {
        let name = self.name_of(url)?;
        let path = self.file(name, "wav");
        let deadline = tokio::time::Instant::now() + FINISH_WAIT;
        while !path.exists() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Some(read(&path, &self.key, max_bytes).await)
    }

    /// Deletes one of our recordings; None when the URL is not ours.
    pub async fn delete(&self, url: &str) -> Option<Result<(), ProviderError>> {
        let name = self.name_of(url)?;
        Some(match tokio::fs::remove_file(self.file(name, "wav")).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(ProviderError::Storage(e.to_string())),
        })
    }

    /// The websocket route: a sealed URL only.
    pub async fn accept(self, uri: Uri, upgrade: WebSocketUpgrade) -> Response {
        let pq = uri.path_and_query().map_or("/", |pq| pq.as_str());
        let url = format!("{}{pq}", self.base.as_str().trim_end_matches('/'));
        if !self.seal.holds(&url) {
            tracing::warn!("a listen stream with an unsealed URL refused");
            return (StatusCode::FORBIDDEN, "missing or invalid URL seal\n").into_response();
        }
        let turn = crate::providers::Context::from_query(uri.query()).turn;
        // The call the service sealed the URL to: a stream for any other call is refused.
        let call = uri
            .query()
            .and_then(|q| form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "call"))
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        upgrade.protocols([PROTOCOL]).on_upgrade(move |socket| async move {
            if let Err(e) = self.record(socket, turn, &call).await {
                tracing::warn!(error = %e, "a caller's recording could not be kept");
            }
        })
    }

    async fn record(&self, mut socket: WebSocket, turn: u32, sealed_call: &str) -> Result<(), String> {
        let first = match socket.recv().await {
            Some(Ok(Message::Text(t))) => t,
            other => return Err(format!("the stream did not start with its metadata: {other:?}")),
        };
        let meta: serde_json::Value = serde_json::from_str(first.as_str()).map_err(|e| e.to_string())?;
        let call_sid = ["callSid", "call_sid"]
            .iter()
            .find_map(|k| meta.get(*k).and_then(|v| v.as_str()))
            .filter(|s| {
                !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            })
            .ok_or("the metadata names no valid callSid")?
            .to_owned();
        if call_sid != sealed_call {
            return Err("a stream for a call its URL was not sealed to ignored".into());
        }
        let rate = meta
            .get("sampleRate")
            .and_then(|v| v.as_u64())
            .map_or(LISTEN_SAMPLE_RATE, |r| r.clamp(8000, 64_000) as u32);
        let name = format!("{call_sid}-{turn}");
        let (part, done) = (self.file(&name, "part"), self.file(&name, "wav"));
        if done.exists() || part.exists() {
            return Err("a second stream for a turn's recording ignored".into());
        }
        tokio::fs::create_dir_all(&self.dir).await.map_err(|e| e.to_string())?;
        tokio::fs::write(&part, b"").await.map_err(|e| e.to_string())?;
        let mut pcm = Vec::new();
        while let Some(Ok(message)) = socket.recv().await {
            match message {
                Message::Binary(audio) if pcm.len() + audio.len() <= MAX_BYTES => pcm.extend_from_slice(&audio),
                Message::Close(_) => break,
                _ => {}
            }
        }
        let stored = self.key.encrypt(&wav(&pcm, rate));
        let kept = tokio::fs::write(&done, stored).await.map_err(|e| e.to_string());
        let _ = tokio::fs::remove_file(&part).await;
        kept
    }
}

async fn read(path: &Path, key: &DataKey, max_bytes: usize) -> Result<Media, ProviderError> {
    let stored = tokio::fs::read(path)
        .await
        .map_err(|e| ProviderError::Storage(e.to_string()))?;
    let bytes = key
        .decrypt(&stored)
        .map_err(|e| ProviderError::Storage(e.to_string()))?;
    if bytes.len() > max_bytes {
        return Err(ProviderError::TooLarge(max_bytes));
    }
    Ok(Media {
        content_type: Some("audio/wav".into()),
        bytes,
    })
}

/// 16-bit little-endian mono PCM as a WAV file.
fn wav(pcm: &[u8], rate: u32) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut out = std::io::Cursor::new(Vec::new());
    let mut writer = hound::WavWriter::new(&mut out, spec).expect("a WAV header writes to memory");
    for sample in pcm.chunks_exact(2) {
        writer
            .write_sample(i16::from_le_bytes([sample[0], sample[1]]))
            .expect("samples write to memory");
    }
    writer.finalize().expect("a WAV file finishes in memory");
    out.into_inner()
}
