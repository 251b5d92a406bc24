//! Mandarin readings for the neural voice, word by word:
//! 1. the hotline's own words (prompts/zh-CN/pronunciations.toml) wherever they appear;
//! 2. the rest cut into words by jieba (jieba-rs, its embedded dictionary), so that a phrase
//!    never spans two words (带上|相关, not 上相 "photogenic");
//! 3. within each word, pypinyin's phrase readings (MIT, from the `pypinyin` wheel that
//!    `scripts/voice-model` unpacks) by forward maximum matching, as pypinyin itself does
//!    (重复 chóng, 重要 zhòng, 银行 háng, 行走 xíng), then each character's most common reading.

use std::collections::HashMap;

use super::super::SpeechError;

/// One syllable: its letters with ü written v (lv, nve; ju stays ju), and its tone, 1–4, or 5
/// for the neutral tone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Syllable {
    pub letters: String,
    pub tone: u8,
}

impl std::fmt::Display for Syllable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", self.letters, self.tone)
    }
}

pub struct Lexicon {
    chars: HashMap<char, Syllable>,
    phrases: Phrases,
    own: Phrases,
    words: jieba_rs::Jieba,
}

/// Readings of phrases, and the length of the longest.
#[derive(Default)]
struct Phrases {
    readings: HashMap<String, Vec<Syllable>>,
    longest: usize,
}

impl Phrases {
    /// The longest phrase of `n` characters starting at `run[i]` for which `fits(n)`.
    fn at(&self, run: &[char], i: usize, fits: impl Fn(usize) -> bool) -> Option<&Vec<Syllable>> {
        (2..=self.longest.min(run.len() - i))
            .rev()
            .filter(|n| fits(*n))
            .find_map(|n| {
                let word: String = run[i..i + n].iter().collect();
                self.readings.get(&word)
            })
    }
}

impl Lexicon {
    /// `chars`: pypinyin's pinyin_dict.json (code point → "readings,comma,separated", the most
    /// common first); `phrases`: its phrases_dict.json (phrase → one list of readings per
    /// character).
    pub fn from_json(chars: &str, phrases: &str) -> Result<Self, SpeechError> {
        let bad = |what: &str, e: serde_json::Error| SpeechError::Engine(format!("{what}: {e}"));
        let raw_chars: HashMap<String, String> = serde_json::from_str(chars).map_err(|e| bad("pinyin_dict.json", e))?;
        let raw_phrases: HashMap<String, Vec<Vec<String>>> =
            serde_json::from_str(phrases).map_err(|e| bad("phrases_dict.json", e))?;
        let chars = raw_chars
            .iter()
            .filter_map(|(code, readings)| {
                let c = char::from_u32(code.parse().ok()?)?;
                Some((c, tone3(readings.split(',').next()?)?))
            })
            .collect();
        let readings: HashMap<String, Vec<Syllable>> = raw_phrases
            .into_iter()
            .filter_map(|(phrase, readings)| {
                let syllables: Option<Vec<Syllable>> =
                    readings.iter().map(|r| r.first().and_then(|s| tone3(s))).collect();
                let syllables = syllables?;
                (syllables.len() == phrase.chars().count()).then_some((phrase, syllables))
            })
            .collect();
        let longest = readings.keys().map(|p| p.chars().count()).max().unwrap_or(1);
        Ok(Self {
            chars,
            phrases: Phrases { readings, longest },
            own: Phrases::default(),
            words: jieba_rs::Jieba::new(),
        })
    }

    /// Adds the hotline's own readings of `words` (word → tone-numbered pinyin,
    /// "chong2 ting1"), which win over the dictionaries and over word boundaries.
    pub fn add(&mut self, words: &HashMap<String, String>) -> Result<(), SpeechError> {
        for (word, pinyin) in words {
            let syllables: Option<Vec<Syllable>> = pinyin.split_whitespace().map(numbered).collect();
            match syllables {
                Some(s) if s.len() == word.chars().count() => {
                    self.own.longest = self.own.longest.max(s.len());
                    self.own.readings.insert(word.clone(), s);
                }
                _ => {
                    return Err(SpeechError::Engine(format!(
                        "pronunciation of {word}: \"{pinyin}\" is not one tone-numbered syllable per character"
                    )))
                }
            }
        }
        Ok(())
    }

    /// The reading of each character of a run of Chinese characters; `None` where a character
    /// has none.
    pub fn read(&self, run: &[char]) -> Vec<Option<Syllable>> {
        let mut out = Vec::with_capacity(run.len());
        let (mut i, mut gap) = (0, 0);
        while i < run.len() {
            match self.own.at(run, i, |_| true) {
                Some(own) => {
                    self.read_words(&run[gap..i], &mut out);
                    out.extend(own.iter().cloned().map(Some));
                    i += own.len();
                    gap = i;
                }
                None => i += 1,
            }
        }
        self.read_words(&run[gap..], &mut out);
        out
    }

    /// Read by phrases that do not cut across words: a phrase lies inside one word, or starts
    /// and ends where words do (量|血压 as 量血压 liáng, but not 带上|相关 as 上相).
    fn read_words(&self, run: &[char], out: &mut Vec<Option<Syllable>>) {
        if run.is_empty() {
            return;
        }
        let text: String = run.iter().collect();
        // word[k]: the word the k-th character belongs to.
        let mut word = Vec::with_capacity(run.len());
        for (n, token) in self.words.cut(&text, false).iter().enumerate() {
            word.extend(std::iter::repeat_n(n, token.end - token.start));
        }
        let boundary = |k: usize| k == 0 || k >= run.len() || word[k] != word[k - 1];
        let mut i = 0;
        while i < run.len() {
            let fits = |n: usize| (boundary(i) && boundary(i + n)) || word[i] == word[i + n - 1];
            match self.phrases.at(run, i, fits) {
                Some(syllables) => {
                    out.extend(syllables.iter().cloned().map(Some));
                    i += syllables.len();
                }
                None => {
                    out.push(self.chars.get(&run[i]).cloned());
                    i += 1;
                }
            }
        }
    }
}

/// A tone-numbered syllable ("zhong4", "lv4", "de5").
fn numbered(s: &str) -> Option<Syllable> {
    let (letters, tone) = s.split_at(s.len().checked_sub(1)?);
    let tone: u8 = tone.parse().ok().filter(|t| (1..=5).contains(t))?;
    (!letters.is_empty() && letters.bytes().all(|b| b.is_ascii_lowercase())).then(|| Syllable {
        letters: letters.to_owned(),
        tone,
    })
}

/// A reading with a tone mark ("lǜ", "zhòng", "de") in tone-number form (lv4, zhong4, de5).
pub fn tone3(marked: &str) -> Option<Syllable> {
    let mut letters = String::with_capacity(marked.len());
    let mut tone = 5;
    for c in marked.chars() {
        let (plain, t) = match c {
            'ā' => ('a', 1),
            'á' => ('a', 2),
            'ǎ' => ('a', 3),
            'à' => ('a', 4),
            'ē' => ('e', 1),
            'é' => ('e', 2),
            'ě' => ('e', 3),
            'è' => ('e', 4),
            'ī' => ('i', 1),
            'í' => ('i', 2),
            'ǐ' => ('i', 3),
            'ì' => ('i', 4),
            'ō' => ('o', 1),
            'ó' => ('o', 2),
            'ǒ' => ('o', 3),
            'ò' => ('o', 4),
            'ū' => ('u', 1),
            'ú' => ('u', 2),
            'ǔ' => ('u', 3),
            'ù' => ('u', 4),
            'ǖ' => ('v', 1),
            'ǘ' => ('v', 2),
            'ǚ' => ('v', 3),
            'ǜ' => ('v', 4),
            'ü' => ('v', 0),
            'ń' => ('n', 2),
            'ň' => ('n', 3),
            'ǹ' => ('n', 4),
            'ḿ' => ('m', 2),
            c if c.is_ascii_lowercase() => (c, 0),
            _ => return None,
        };
        letters.push(plain);
        if t > 0 {
            tone = t;
        }
    }
    (!letters.is_empty()).then_some(Syllable { letters, tone })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lexicon() -> Lexicon {
        let chars = r#"{"37325": "zhòng,chóng", "22797": "fù", "35201": "yào,yāo", "34892": "xíng,háng",
            "38134": "yín", "36208": "zǒu", "30340": "de,dí,dì", "24459": "lǜ", "27861": "fǎ"}"#;
        let phrases = r#"{"重复": [["chóng"], ["fù"]], "银行": [["yín"], ["háng"]]}"#;
        Lexicon::from_json(chars, phrases).unwrap()
    }

    fn read(l: &Lexicon, text: &str) -> String {
        let run: Vec<char> = text.chars().collect();
        l.read(&run)
            .iter()
            .map(|s| s.as_ref().map_or("?".to_owned(), ToString::to_string))
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn a_phrase_reading_wins_over_the_characters_own() {
        let l = lexicon();
        assert_eq!(read(&l, "重复"), "chong2 fu4");
        assert_eq!(read(&l, "重要"), "zhong4 yao4");
        assert_eq!(read(&l, "银行行走"), "yin2 hang2 xing2 zou3");
        assert_eq!(read(&l, "法律的"), "fa3 lv4 de5");
        assert_eq!(read(&l, "法X"), "fa3 ?");
    }

    #[test]
    fn added_words_win_and_bad_ones_are_refused() {
        let mut l = lexicon();
        let words = |pairs: &[(&str, &str)]| pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        l.add(&words(&[("重复", "zhong4 fu4"), ("法律的", "fa3 lv4 di4")]))
            .unwrap();
        assert_eq!(read(&l, "重复法律的"), "zhong4 fu4 fa3 lv4 di4");
        for bad in [
            ("重复", "chong2"),
            ("重复", "chong fu4"),
            ("重复", "chong2 fu9"),
            ("重", "Zhong4"),
        ] {
            assert!(l.add(&words(&[bad])).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn tone_marks_become_numbers() {
        assert_eq!(tone3("lǜ").unwrap().to_string(), "lv4");
        assert_eq!(tone3("nǚ").unwrap().to_string(), "nv3");
        assert_eq!(tone3("jū").unwrap().to_string(), "ju1");
        assert_eq!(tone3("ma").unwrap().to_string(), "ma5");
        assert_eq!(tone3("ǹg").unwrap().to_string(), "ng4");
        assert_eq!(tone3("Ｘ"), None);
    }
}
