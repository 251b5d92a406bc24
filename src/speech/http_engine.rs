//! A neural TTS server speaking the OpenAI-compatible `POST /v1/audio/speech` shape
//! (`{"model", "input", "voice", "response_format": "wav", "speed"}` → WAV bytes), as served
//! by several open-source TTS servers.

use std::time::Duration;

use serde::Serialize;

use super::telephone::decode_wav;
use super::{Pcm, SpeechError, SpeechRate, Synthesizer};

pub struct HttpEngine {
    http: reqwest::Client,
    url: String,
    model: String,
    voice: String,
}

#[derive(Serialize)]
struct SpeechRequest<'a> {
    model: &'a str,
    input: &'a str,
    voice: &'a str,
    response_format: &'static str,
    speed: f32,
}

impl HttpEngine {
    pub fn new(url: &str, model: &str, voice: &str, timeout: Duration) -> Self {
        Self {
            http: reqwest::Client::builder()
                .timeout(timeout)
                .build()
                .expect("a TLS backend is compiled in"),
            url: url.to_owned(),
            model: model.to_owned(),
            voice: voice.to_owned(),
        }
    }
}

#[async_trait::async_trait]
impl Synthesizer for HttpEngine {
    fn id(&self) -> String {
        format!("http:{}:{}:{}", self.url, self.model, self.voice)
    }

    async fn synthesize(&self, text: &str, rate: SpeechRate) -> Result<Pcm, SpeechError> {
        let fail = |e: String| SpeechError::Engine(format!("TTS server {}: {e}", self.url));
        let response = self
            .http
            .post(&self.url)
            .json(&SpeechRequest {
                model: &self.model,
                input: text,
                voice: &self.voice,
                response_format: "wav",
                speed: rate.speed(),
            })
            .send()
            .await
            .map_err(|e| fail(e.to_string()))?;
        if !response.status().is_success() {
            return Err(fail(format!("answered {}", response.status())));
        }
        let bytes = response.bytes().await.map_err(|e| fail(e.to_string()))?;
        decode_wav(&bytes)
    }
}
