//! Phrases already spoken, kept in memory. The voice speaks each phrase on its own, so a
//! dynamic prompt is mostly phrases heard before: the template's words, and each digit of a
//! ticket read one by one (八、三、一…). Only the new phrases go through the networks.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use super::super::SpeechRate;

/// Phrases kept; the oldest goes first. A phrase is about 1 s of 24 kHz audio (96 KB).
const CAPACITY: usize = 1024;
/// Longer phrases are rarely heard twice: not kept.
pub const LONGEST: usize = 12;

type Key = (Vec<char>, SpeechRate);

#[derive(Default)]
pub struct Memo {
    inner: Mutex<Kept>,
}

/// The audio of each phrase, and the phrases in the order they were kept.
#[derive(Default)]
struct Kept {
    audio: HashMap<Key, Arc<Vec<f32>>>,
    order: VecDeque<Key>,
}

impl Memo {
    pub fn get(&self, phrase: &[char], rate: SpeechRate) -> Option<Arc<Vec<f32>>> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.audio.get(&(phrase.to_vec(), rate)).cloned()
    }

    pub fn put(&self, phrase: &[char], rate: SpeechRate, audio: Arc<Vec<f32>>) {
        if phrase.len() > LONGEST {
            return;
        }
        let mut kept = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let key = (phrase.to_vec(), rate);
        if kept.audio.insert(key.clone(), audio).is_none() {
            kept.order.push_back(key);
        }
        while kept.order.len() > CAPACITY {
            if let Some(oldest) = kept.order.pop_front() {
                kept.audio.remove(&oldest);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_short_phrases_per_rate_and_forgets_the_oldest() {
        let memo = Memo::default();
        let say = |s: &str| s.chars().collect::<Vec<_>>();
        memo.put(&say("八"), SpeechRate::Normal, Arc::new(vec![0.5]));
        assert_eq!(memo.get(&say("八"), SpeechRate::Normal).as_deref(), Some(&vec![0.5]));
        assert!(memo.get(&say("八"), SpeechRate::Slower).is_none());
        memo.put(
            &say("这是一句很长很长很长的话语句子"),
            SpeechRate::Normal,
            Arc::new(vec![0.1]),
        );
        assert!(memo
            .get(&say("这是一句很长很长很长的话语句子"), SpeechRate::Normal)
            .is_none());
        for i in 0..CAPACITY {
            memo.put(
                &format!("{i}").chars().collect::<Vec<_>>(),
                SpeechRate::Normal,
                Arc::new(vec![]),
            );
        }
        assert!(
            memo.get(&say("八"), SpeechRate::Normal).is_none(),
            "the oldest went first"
        );
        assert!(memo.get(&say("0"), SpeechRate::Normal).is_some());
    }
}
