//! What a caller said → which of the menu's options they meant.
//!
//! Whisper's base model hears 法律咨询 as 发律咨询 or 法律自询 often enough that matching the
//! characters fails; matching the sounds does not. Each option's words (from the flow file) and
//! the transcript are turned into toneless pinyin syllables, and each word is aligned with the
//! closest stretch of the transcript (an edit distance over syllables, where two syllables that
//! differ in a letter or two cost less than unrelated ones). The best option's score, and how far
//! it is ahead of the next one, make the confidence. A digit said alone ("一", "按一", "我选一")
//! is the option of that key.

use pinyin::ToPinyin;

use super::digits::spoken_key;
use super::text::normalise;

/// One option of the current menu, as speech can choose it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Choice {
    /// The key the option has on the keypad ("1", "0", "*", …).
    pub key: String,
    pub intent: String,
    /// What a caller may say for it.
    pub words: Vec<String>,
    /// How many of `words` (the first) prime the recogniser's prompt and are scored against the
    /// audio; the rest are only matched in the transcript.
    #[serde(default = "every_word")]
    pub primed: usize,
}

fn every_word() -> usize {
    usize::MAX
}

impl Choice {
    /// The words that prime the recogniser.
    pub fn primed_words(&self) -> impl Iterator<Item = &String> {
        self.words.iter().take(self.primed)
    }
}

/// The option a transcript was matched to.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Heard {
    pub key: String,
    pub intent: String,
    /// 0–1: how well the words matched and how clearly this option beat the others.
    pub confidence: f32,
    /// Chosen by scoring the options' words against the audio rather than from the transcript
    /// (a forced choice among the options, so it needs more confidence to be taken unasked).
    #[serde(default)]
    pub scored: bool,
}

impl Heard {
    /// Whether the answer is acted on without asking the caller to confirm it.
    pub fn sure(&self, accept: f32, accept_scored: f32) -> bool {
        self.confidence >= if self.scored { accept_scored.max(accept) } else { accept }
    }
}

/// What the IVR does with a spoken answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Acted on at once.
    Taken,
    /// Asked back: 您是要…吗？ and confirmed with a key.
    Confirm,
    /// Nothing chosen: the caller is asked again.
    None,
}

/// The confidences at which an answer is taken or asked back (the `[whisper]` settings).
#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    pub accept: f32,
    pub accept_scored: f32,
    pub confirm: f32,
}

impl Thresholds {
    pub fn from_settings(w: &crate::config::WhisperSettings) -> Self {
        Self {
            accept: w.accept,
            accept_scored: w.accept_scored,
            confirm: w.confirm,
        }
    }

    pub fn outcome(&self, heard: Option<&Heard>) -> Outcome {
        match heard {
            Some(h) if h.sure(self.accept, self.accept_scored) => Outcome::Taken,
            Some(h) if h.confidence >= self.confirm => Outcome::Confirm,
            _ => Outcome::None,
        }
    }
}

/// A best option this far ahead of the next keeps its score; a closer race lowers it.
const CLEAR_MARGIN: f32 = 0.15;
/// Words that make an answer a question, and how much less sure it makes a choice: a word
/// matched exactly in a short question is still taken, a looser match is asked back.
const QUESTIONS: [&str; 4] = ["什么", "吗", "哪", "怎么"];
const QUESTION_DISCOUNT: f32 = 0.9;
/// A digit said alone is clear.
const DIGIT_CONFIDENCE: f32 = 0.95;

/// The option the caller most likely meant, if any option sounds like anything they said.
pub fn best(transcript: &str, choices: &[Choice]) -> Option<Heard> {
    let clauses = clauses(transcript);
    let text = clauses.concat();
    if text.is_empty() {
        return None;
    }
    if let Some(key) = spoken_key(&text) {
        return choices.iter().find(|c| c.key == key).map(|c| Heard {
            key: c.key.clone(),
            intent: c.intent.clone(),
            confidence: DIGIT_CONFIDENCE,
            scored: false,
        });
    }
    let heard: Vec<Vec<String>> = clauses.iter().map(|c| syllables(c)).collect();
    let mut scored: Vec<(f32, &Choice)> = choices
        .iter()
        .map(|c| {
            let score = c
                .words
                .iter()
                .flat_map(|w| {
                    let word = syllables(w);
                    heard.iter().map(move |clause| word_score(clause, &word))
                })
                .fold(0.0f32, f32::max);
            (score, c)
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    let (top, choice) = *scored.first()?;
    let runner_up = scored
        .iter()
        .find(|(_, c)| c.key != choice.key)
        .map_or(0.0, |(s, _)| *s);
    let mut confidence = if top - runner_up >= CLEAR_MARGIN {
        top
    } else {
        top * 0.6
    };
    // A question about the prompt ("低保是什么", "什么叫羁押") names an option without choosing it.
    if QUESTIONS.iter().any(|q| text.contains(q)) {
        confidence *= QUESTION_DISCOUNT;
    }
    Some(Heard {
        key: choice.key.clone(),
        intent: choice.intent.clone(),
        confidence,
        scored: false,
    })
}

/// Whisper sometimes says a short answer twice ("我要法律咨询，我要法律"): each clause is
/// matched on its own and the best one counts.
fn clauses(transcript: &str) -> Vec<String> {
    normalise(transcript)
        .split(|c: char| !(is_han(c) || c.is_ascii_digit()))
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The `n` primed words of the options that sound most like the transcript, and the shortest
/// primed word of every other option, as (option index, word): the candidates worth scoring
/// against the audio when the transcript itself is not clear.
pub fn closest_words<'a>(transcript: &str, choices: &'a [Choice], n: usize) -> Vec<(usize, &'a str)> {
    let heard: Vec<Vec<String>> = clauses(transcript).iter().map(|c| syllables(c)).collect();
    let mut ranked: Vec<(f32, usize, &str)> = choices
        .iter()
        .enumerate()
        .flat_map(|(i, c)| c.primed_words().map(move |w| (i, w.as_str())))
        .map(|(i, w)| {
            let word = syllables(w);
            let score = heard
                .iter()
                .map(|clause| word_score(clause, &word))
                .fold(0.0f32, f32::max);
            (score, i, w)
        })
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut words: Vec<(usize, &str)> = ranked.into_iter().take(n).map(|(_, i, w)| (i, w)).collect();
    // Every option competes, with its shortest word at least: a choice among only some of them
    // would be sure of the wrong one when the right one was left out.
    for (i, c) in choices.iter().enumerate() {
        if !words.iter().any(|(j, _)| *j == i) {
            if let Some(w) = c.primed_words().min_by_key(|w| w.chars().count()) {
                words.push((i, w));
            }
        }
    }
    words
}

/// How well `word` appears somewhere in `heard`: 1 when it is there as is. The words said around
/// it lower the score a little, so "不是" beats "是" when the caller said 不是. A word said right
/// after a negation ("不是咨询", "没有" for 有, "不需要" for 需要) does not count: it is what the
/// caller does not want.
fn word_score(heard: &[String], word: &[String]) -> f32 {
    if word.is_empty() {
        return 0.0;
    }
    let n = word.len() as f32;
    let (distance, start) = closest_stretch(heard, word);
    let before = &heard[..start];
    if (negated(before, word) && !asked_both_ways(before, word)) || inside_both_ways(before, word) {
        return 0.0;
    }
    let similarity = (1.0 - distance / n).max(0.0);
    let coverage = (n / heard.len().max(word.len()) as f32).min(1.0);
    // One syllable ("是", "有") inside a longer answer says little: "我是盲人" is no yes.
    let weight = if word.len() == 1 { 0.5 } else { 0.2 };
    similarity * (1.0 - weight + weight * coverage)
}

/// Syllables that negate the word after them.
const NEGATIONS: [&[&str]; 6] = [&["bu"], &["mei"], &["bie"], &["fou"], &["wu", "xu"], &["bu", "yong"]];

/// Whether the stretch before a word ends in a negation the word does not itself begin with.
fn negated(before: &[String], word: &[String]) -> bool {
    let same = |said: &[String], n: &[&str]| said.len() == n.len() && said.iter().zip(n).all(|(a, b)| a == b);
    let starts_negative = NEGATIONS
        .iter()
        .any(|n| word.len() >= n.len() && same(&word[..n.len()], n));
    !starts_negative
        && NEGATIONS
            .iter()
            .any(|n| before.len() >= n.len() && same(&before[before.len() - n.len()..], n))
}

fn negative_first(word: &[String]) -> bool {
    word.first().is_some_and(|s| s == "bu" || s == "mei")
}

/// "有没有人接", "是不是": a question asking both ways (A-not-A). What follows the negation
/// (有人接 after 有没) is what is asked about, not refused.
fn asked_both_ways(before: &[String], word: &[String]) -> bool {
    let n = before.len();
    n >= 2 && negative_first(&before[n - 1..]) && word.first() == Some(&before[n - 2])
}

/// The negative word inside such a question (没有 in 有没有) is no "no".
fn inside_both_ways(before: &[String], word: &[String]) -> bool {
    negative_first(word) && word.len() >= 2 && before.last() == Some(&word[1])
}

/// The edit distance between `word` and its closest stretch of `heard` (free start and end),
/// over syllables, where replacing a syllable costs by how different it sounds; and where in
/// `heard` that stretch starts.
fn closest_stretch(heard: &[String], word: &[String]) -> (f32, usize) {
    // row[j]: the cost of matching the word so far ending at heard[..j], and where it started.
    let mut row: Vec<(f32, usize)> = (0..=heard.len()).map(|j| (0.0, j)).collect();
    for (i, w) in word.iter().enumerate() {
        let mut next = vec![((i + 1) as f32, 0usize); heard.len() + 1];
        for (j, h) in heard.iter().enumerate() {
            let replace = (row[j].0 + syllable_cost(w, h), row[j].1);
            let skip_word = (row[j + 1].0 + 1.0, row[j + 1].1);
            let skip_heard = (next[j].0 + 1.0, next[j].1);
            next[j + 1] = [replace, skip_word, skip_heard]
                .into_iter()
                .min_by(|a, b| a.0.total_cmp(&b.0))
                .expect("three candidates");
        }
        row = next;
    }
    row.into_iter()
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .unwrap_or((f32::INFINITY, 0))
}

/// 0 for the same syllable, up to 1 for unrelated ones. Initial and final are compared apart,
/// and the pairs Mandarin speakers and Whisper most often confuse cost a quarter: z/zh, c/ch,
/// s/sh, n/l, f/h; in/ing, en/eng, an/ang and the like. Other finals cost by their letters.
fn syllable_cost(a: &str, b: &str) -> f32 {
    if a == b {
        return 0.0;
    }
    let (ia, fa) = split_syllable(a);
    let (ib, fb) = split_syllable(b);
    let initial = if ia == ib {
        0.0
    } else if CLOSE_INITIALS.iter().any(|p| *p == (ia, ib) || *p == (ib, ia)) {
        0.25
    } else {
        1.0
    };
    let fin = if fa == fb {
        0.0
    } else if fa.strip_suffix('g') == Some(fb) || fb.strip_suffix('g') == Some(fa) {
        0.25
    } else {
        letters_apart(fa, fb)
    };
    0.4 * initial + 0.6 * fin
}

const CLOSE_INITIALS: [(&str, &str); 5] = [("z", "zh"), ("c", "ch"), ("s", "sh"), ("n", "l"), ("f", "h")];
const INITIALS: [&str; 23] = [
    "zh", "ch", "sh", "b", "p", "m", "f", "d", "t", "n", "l", "g", "k", "h", "j", "q", "x", "r", "z", "c", "s", "y",
    "w",
];

fn split_syllable(s: &str) -> (&str, &str) {
    INITIALS
        .iter()
        .find(|i| s.starts_with(*i))
        .map_or(("", s), |i| s.split_at(i.len()))
}

/// Edit distance over letters, as a share of the longer string.
fn letters_apart(a: &str, b: &str) -> f32 {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    (edit_distance(&a, &b) as f32 / a.len().max(b.len()).max(1) as f32).min(1.0)
}

/// Levenshtein distance (also the character error count of a transcript against its reference).
pub fn edit_distance<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut next = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            next[j + 1] = (row[j] + usize::from(ca != cb)).min(row[j + 1] + 1).min(next[j] + 1);
        }
        row = next;
    }
    row[b.len()]
}

/// Toneless pinyin per character; digits as their Chinese names.
fn syllables(text: &str) -> Vec<String> {
    text.chars()
        .filter_map(|c| {
            let c = match c.to_digit(10) {
                Some(d) => DIGITS[d as usize],
                None => c,
            };
            c.to_pinyin().map(|p| p.plain().replace('ü', "v"))
        })
        .collect()
}

const DIGITS: [char; 10] = ['零', '一', '二', '三', '四', '五', '六', '七', '八', '九'];

fn is_han(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scored_answer_needs_more_confidence_to_be_taken_unasked() {
        let heard = |confidence, scored| Heard {
            key: "1".into(),
            intent: "consult".into(),
            confidence,
            scored,
        };
        assert!(heard(0.85, false).sure(0.8, 0.95));
        assert!(!heard(0.85, true).sure(0.8, 0.95), "confirmed instead");
        assert!(heard(0.97, true).sure(0.8, 0.95));
        assert!(!heard(0.7, false).sure(0.8, 0.95));
    }

    fn main_menu() -> Vec<Choice> {
        let c = |key: &str, intent: &str, words: &[&str]| Choice {
            key: key.into(),
            intent: intent.into(),
            words: words.iter().map(|w| (*w).to_owned()).collect(),
            primed: usize::MAX,
        };
        vec![
            c("1", "consult", &["法律咨询", "咨询"]),
            c("2", "apply", &["申请法律援助", "法律援助"]),
            c("3", "progress", &["查询进度", "进度"]),
            c("4", "settings", &["无障碍设置", "设置"]),
            c("0", "human", &["人工服务", "转人工"]),
        ]
    }

    fn heard(text: &str) -> Option<(String, f32)> {
        best(text, &main_menu()).map(|h| (h.intent, h.confidence))
    }

    #[test]
    fn homophones_and_near_misses_find_the_intent() {
        for (said, intent) in [
            ("法律咨询", "consult"),
            ("发律咨询", "consult"),
            ("我想法律自询一下", "consult"),
            ("申請法律援助。", "apply"),
            ("查询一下进度", "progress"),
            ("无障碍设置", "settings"),
            ("转人工", "human"),
        ] {
            let (got, confidence) = heard(said).unwrap();
            assert_eq!(got, intent, "{said}");
            assert!(confidence >= 0.8, "{said}: {confidence}");
        }
    }

    #[test]
    fn digits_said_alone_choose_their_key() {
        for said in ["一", "按一", "我选一", "1", "第一个", "幺"] {
            assert_eq!(heard(said), Some(("consult".into(), DIGIT_CONFIDENCE)), "{said}");
        }
        assert_eq!(heard("我选三").unwrap().0, "progress");
        assert_eq!(heard("按九"), None, "no option has key 9 here");
    }

    fn options(list: &[(&str, &str, &[&str])]) -> Vec<Choice> {
        list.iter()
            .map(|(key, intent, words)| Choice {
                key: (*key).into(),
                intent: (*intent).into(),
                words: words.iter().map(|w| (*w).to_owned()).collect(),
                primed: usize::MAX,
            })
            .collect()
    }

    #[test]
    fn a_word_after_a_negation_is_not_what_the_caller_wants() {
        assert_eq!(heard("不是咨询，我要申请法律援助").unwrap().0, "apply");
        let yes_no = options(&[("1", "yes", &["有", "需要"]), ("2", "no", &["没有", "不需要"])]);
        assert_eq!(best("没有", &yes_no).unwrap().key, "2");
        assert_eq!(best("不需要", &yes_no).unwrap().key, "2");
        assert_eq!(best("需要", &yes_no).unwrap().key, "1");
    }

    #[test]
    fn a_question_asking_both_ways_is_neither_answer() {
        let menu = options(&[("2", "no", &["没有"]), ("0", "human", &["有人接"])]);
        assert_eq!(best("有没有人接电话", &menu).unwrap().intent, "human");
    }

    #[test]
    fn one_syllable_inside_a_longer_answer_is_not_taken_unasked() {
        let yes_no = options(&[("1", "yes", &["是"]), ("2", "no", &["不对"])]);
        assert!(best("是", &yes_no).unwrap().confidence >= 0.95);
        assert!(best("我是盲人你说慢些", &yes_no).unwrap().confidence < 0.8);
    }

    #[test]
    fn a_question_about_an_option_is_asked_back_rather_than_taken() {
        let (intent, sure) = heard("请问法律援助是什么").unwrap();
        assert_eq!(intent, "apply");
        let (_, plain) = heard("我要法律援助").unwrap();
        assert!(sure < plain, "{sure} < {plain}");
    }

    #[test]
    fn unrelated_speech_is_not_confident() {
        let (_, confidence) = heard("今天天气怎么样").unwrap();
        assert!(confidence < 0.5, "{confidence}");
        assert_eq!(heard("。"), None);
    }

    #[test]
    fn a_longer_exact_word_beats_a_shorter_one_inside_it() {
        let yes_no = options(&[("1", "yes", &["是", "是的"]), ("2", "no", &["不是"])]);
        assert_eq!(best("不是", &yes_no).unwrap().key, "2");
        assert_eq!(best("是的", &yes_no).unwrap().key, "1");
    }
}
