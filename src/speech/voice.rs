//! The voice of the hotline: turns the IVR's `Say` actions into `Play` of telephone audio.
//!
//! For each prompt: a recorded file (`<recorded_dir>/<key>.<rate>.wav`, then `<key>.wav`) wins;
//! otherwise the engine renders the text. Either way the result is converted once and cached.
//! Whatever cannot be rendered within the time budget stays a `Say` (the provider's own Mandarin
//! voice) and is logged, so a caller always hears the prompt.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::cache::{cache_key, PromptCache};
use super::espeak::Espeak;
use super::http_engine::HttpEngine;
use super::neural::Neural;
use super::recorded::{Recording, Recordings};
use super::telephone::{decode_wav, to_telephone_wav};
use super::{Pcm, SpeechError, SpeechRate, Synthesizer};
use crate::config::{SpeechEngine, SpeechSettings};
use crate::prompts::Prompts;
use crate::providers::Action;

pub struct Voice {
    engine: Option<Arc<dyn Synthesizer>>,
    /// Which voice speaks, for the log and `/readyz`.
    described: String,
    cache: PromptCache,
    recordings: Recordings,
    budget: Duration,
}

/// Where rendered audio is served; the cache key is the file name.
pub fn audio_path(key: &str) -> String {
    format!("/audio/{key}.wav")
}

impl Voice {
    /// The configured engine, cache and recorded prompts. An engine that cannot start is
    /// logged and left out: the hotline then speaks through the provider's `Say`.
    pub fn from_settings(s: &SpeechSettings) -> Result<Self, SpeechError> {
        let (engine, described, fell_back) = engine(s);
        if engine.is_none() || fell_back {
            tracing::warn!(voice = %described, "speech output");
        } else {
            tracing::info!(voice = %described, "speech output");
        }
        let cache = PromptCache::new(&s.cache_dir, s.cache_max_mb * 1024 * 1024)?;
        let mut voice = Self::new(engine, cache, &s.recorded_dir, Duration::from_millis(s.budget_ms));
        voice.described = described;
        Ok(voice)
    }

    pub fn new(
        engine: Option<Arc<dyn Synthesizer>>,
        cache: PromptCache,
        recorded_dir: &Path,
        budget: Duration,
    ) -> Self {
        let described = match &engine {
            Some(e) => e.id(),
            None => "none: the provider's Say".to_owned(),
        };
        Self {
            engine,
            described,
            cache,
            recordings: Recordings::new(recorded_dir),
            budget,
        }
    }

    pub fn has_engine(&self) -> bool {
        self.engine.is_some()
    }

    /// Which voice speaks ("neural:…", "espeak-ng:…", or why none does).
    pub fn described(&self) -> &str {
        &self.described
    }

    /// Renders (or finds) the audio for a prompt and returns its cache key.
    pub async fn render(&self, key: Option<&str>, text: &str, rate: SpeechRate) -> Result<String, SpeechError> {
        if let Some(recording) = self.recorded(key, rate).await {
            let source = format!("recorded:{}", recording.digest);
            let cache_key = cache_key(&source, rate, key.unwrap_or_default());
            if !self.cache.contains(&cache_key) {
                let recorded = tokio::fs::read(&recording.path).await?;
                let wav = tokio::task::spawn_blocking(move || decode_wav(&recorded).and_then(|p| to_telephone_wav(&p)))
                    .await
                    .map_err(|e| SpeechError::Audio(e.to_string()))??;
                self.cache.put(&cache_key, &wav).await?;
            }
            return Ok(cache_key);
        }
        let engine = self.engine.as_ref().ok_or(SpeechError::NoEngine)?;
        let cache_key = cache_key(&engine.id(), rate, text);
        if self.cache.contains(&cache_key) {
            return Ok(cache_key);
        }
        let pcm: Pcm = engine.synthesize(text, rate).await?;
        let wav = tokio::task::spawn_blocking(move || to_telephone_wav(&pcm))
            .await
            .map_err(|e| SpeechError::Audio(e.to_string()))??;
        self.cache.put(&cache_key, &wav).await?;
        Ok(cache_key)
    }

    /// Renders every spoken prompt at every rate (cached ones cost nothing); returns how many.
    pub async fn render_all(&self, prompts: &Prompts) -> Result<usize, SpeechError> {
        let mut rendered = 0;
        for (key, text) in prompts.spoken() {
            for rate in SpeechRate::ALL {
                self.render(Some(key), text, rate).await?;
                rendered += 1;
            }
        }
        Ok(rendered)
    }

    async fn recorded(&self, key: Option<&str>, rate: SpeechRate) -> Option<Recording> {
        self.recordings.find(key?, rate).await
    }

    /// The served bytes of a rendered prompt.
    pub async fn audio(&self, cache_key: &str) -> Option<Vec<u8>> {
        self.cache.get(cache_key).await
    }

    /// Every `Say` (also inside a `Gather`) becomes a `Play` of rendered audio, within one time
    /// budget for the whole answer; what misses it stays a `Say`.
    pub async fn speak(&self, actions: Vec<Action>, rate: SpeechRate) -> Vec<Action> {
        let deadline = tokio::time::Instant::now() + self.budget;
        let mut out = Vec::with_capacity(actions.len());
        for action in actions {
            out.push(match action {
                Action::Gather {
                    input,
                    num_digits,
                    timeout_secs,
                    finish_on_key,
                    action,
                    prompts,
                    empty_result,
                } => Action::Gather {
                    input,
                    num_digits,
                    timeout_secs,
                    finish_on_key,
                    action,
                    empty_result,
                    prompts: Box::pin(self.speak_until(prompts, rate, deadline)).await,
                },
                other => self.speak_one(other, rate, deadline).await,
            });
        }
        out
    }

    async fn speak_until(&self, actions: Vec<Action>, rate: SpeechRate, deadline: tokio::time::Instant) -> Vec<Action> {
        let mut out = Vec::with_capacity(actions.len());
        for a in actions {
            out.push(self.speak_one(a, rate, deadline).await);
        }
        out
    }

    async fn speak_one(&self, action: Action, rate: SpeechRate, deadline: tokio::time::Instant) -> Action {
        let Action::Say { text, key, .. } = action else {
            return action;
        };
        // What is not rendered stays a `Say`, at the caller's rate.
        let said = |text, key| Action::Say {
            text,
            key,
            speed_percent: rate.percent(),
        };
        match tokio::time::timeout_at(deadline, self.render(key.as_deref(), &text, rate)).await {
            Ok(Ok(cache_key)) => Action::Play {
                url: audio_path(&cache_key),
            },
            Ok(Err(SpeechError::NoEngine)) => said(text, key),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, prompt = key.as_deref(), "synthesis failed; the provider will say it");
                said(text, key)
            }
            Err(_) => {
                tracing::warn!(prompt = key.as_deref(), budget = ?self.budget, "synthesis too slow; the provider will say it");
                said(text, key)
            }
        }
    }
}

/// The configured engine, a description of it, and whether it is the fallback. The neural voice falls back to espeak-ng
/// when its files are missing or do not load; an engine that cannot start is left out, and the
/// hotline then speaks through the provider's `Say`.
fn engine(s: &SpeechSettings) -> (Option<Arc<dyn Synthesizer>>, String, bool) {
    let started = |engine: Arc<dyn Synthesizer>| {
        let id = engine.id();
        (Some(engine), id, false)
    };
    let espeak = |why: String, fell_back: bool| match Espeak::start(&s.voice) {
        Ok(engine) => {
            let (engine, id, _) = started(Arc::new(engine));
            (engine, format!("{id}{why}"), fell_back)
        }
        Err(e) => (None, format!("none: the provider's Say ({e}){why}"), fell_back),
    };
    match s.engine {
        SpeechEngine::None => (None, "none: the provider's Say (speech.engine)".to_owned(), false),
        SpeechEngine::Http => started(Arc::new(HttpEngine::new(
            &s.http_url,
            &s.http_model,
            &s.http_voice,
            Duration::from_millis(s.budget_ms),
        ))),
        SpeechEngine::Espeak => espeak(String::new(), false),
        SpeechEngine::Neural => match Neural::load(s) {
            Ok(engine) => started(Arc::new(engine)),
            Err(e) => espeak(format!(", as the fallback: {e}"), true),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::speech::telephone::parse_wav;

    fn espeak_voice(dir: &Path) -> Voice {
        let engine: Arc<dyn Synthesizer> = Arc::new(Espeak::start("cmn-latn-pinyin").expect("libespeak-ng installed"));
        let cache = PromptCache::new(&dir.join("cache"), 1 << 20).unwrap();
        Voice::new(Some(engine), cache, &dir.join("recorded"), Duration::from_secs(10))
    }

    #[tokio::test]
    async fn rates_change_the_length_and_a_hit_serves_the_same_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let voice = espeak_voice(dir.path());
        let text = "法律咨询，请按1。转人工服务，请按0。";
        let mut secs = Vec::new();
        for rate in SpeechRate::ALL {
            let key = voice.render(Some("menu"), text, rate).await.unwrap();
            secs.push(parse_wav(&voice.audio(&key).await.unwrap()).unwrap().duration_secs());
        }
        assert!(
            secs[0] > secs[1] && secs[1] > secs[2],
            "slower > normal > faster: {secs:?}"
        );
        assert!(secs[1] > 1.0 && secs[1] < 10.0, "plausible: {secs:?}");

        let key = voice.render(None, text, SpeechRate::Normal).await.unwrap();
        let first = voice.audio(&key).await.unwrap();
        assert_eq!(voice.render(None, text, SpeechRate::Normal).await.unwrap(), key);
        assert_eq!(voice.audio(&key).await.unwrap(), first, "a hit serves identical bytes");
    }

    #[test]
    fn without_its_files_the_neural_voice_falls_back_to_espeak_and_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = crate::config::Settings::defaults().speech;
        s.engine = SpeechEngine::Neural;
        s.voice_dir = dir.path().join("no-voice");
        s.cache_dir = dir.path().join("cache");
        let voice = Voice::from_settings(&s).unwrap();
        assert!(voice.has_engine());
        assert!(voice.described().starts_with("espeak-ng:"), "{}", voice.described());
        assert!(voice.described().contains("fallback") && voice.described().contains("scripts/voice-model"));
    }

    #[tokio::test]
    async fn say_stays_when_there_is_no_engine_or_time() {
        let dir = tempfile::tempdir().unwrap();
        let none = Voice::new(
            None,
            PromptCache::new(dir.path(), 1 << 20).unwrap(),
            &dir.path().join("recorded"),
            Duration::from_secs(1),
        );
        let say = Action::Say {
            text: "您好".into(),
            key: Some("welcome".into()),
            speed_percent: 100,
        };
        assert_eq!(
            none.speak(vec![say.clone()], SpeechRate::Normal).await,
            vec![say.clone()]
        );
        // The caller's rate goes with it, for the provider's voice.
        let slower = Action::Say {
            text: "您好".into(),
            key: Some("welcome".into()),
            speed_percent: 75,
        };
        assert_eq!(none.speak(vec![say.clone()], SpeechRate::Slower).await, vec![slower]);

        let mut slow = espeak_voice(dir.path());
        slow.budget = Duration::ZERO;
        assert_eq!(slow.speak(vec![say.clone()], SpeechRate::Normal).await, vec![say]);
    }
}
