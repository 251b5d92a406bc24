//! The spoken-answer evaluation inventory (`tests/data/eval/`): what callers say at each
//! listening node, labelled and split into dev and held-out phrasings, with the call state at
//! which each phrase is measured (the page a list item is read on, the prefecture whose counties
//! are listed).

use std::path::Path;

use serde::Deserialize;

use crate::ivr::engine::{items, page_of, CallState};
use crate::ivr::flow::{Flow, Node};

/// Dev phrasings may shape word lists and thresholds; held-out ones are only measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    Dev,
    Heldout,
}

impl Split {
    pub fn as_str(self) -> &'static str {
        match self {
            Split::Dev => "dev",
            Split::Heldout => "heldout",
        }
    }
}

/// What the IVR should do with a phrase.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Expect {
    /// Choose the option of this key (taken, or asked to confirm).
    Key(String),
    /// Choose nothing.
    Nothing,
}

/// The labels a phrase can have in its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Intent,
    Digit,
    None,
}

/// One phrase at one node, in the state where it is measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Case {
    pub node: String,
    pub kind: Kind,
    /// The intent or spoken key the file files it under ("" for none).
    pub label: String,
    pub split: Split,
    pub phrase: String,
    pub expect: Expect,
    #[serde(skip)]
    pub state: CallState,
}

#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error("{0}: {1}")]
    Read(String, std::io::Error),
    #[error("{0}: {1}")]
    Parse(String, toml::de::Error),
    #[error("{file}: {what}")]
    Label { file: String, what: String },
}

#[derive(Deserialize, Default)]
struct Lists {
    #[serde(default)]
    dev: Vec<String>,
    #[serde(default)]
    heldout: Vec<String>,
}

#[derive(Deserialize)]
struct NodeFile {
    #[serde(default)]
    intent: std::collections::BTreeMap<String, Lists>,
    #[serde(default)]
    digits: std::collections::BTreeMap<String, Lists>,
    #[serde(default)]
    none: Lists,
}

/// The intents every node takes, filed in `main.toml` only.
const RESERVED: [&str; 4] = ["human", "repeat", "slower", "faster"];
const RESERVED_KEYS: [&str; 4] = ["0", "*", "7", "9"];
/// The file of a question that is no flow node.
const NOT_A_NODE: &str = "speech_confirm";
/// Where the digits and `none` of the county question are measured: a paged list.
const COUNTY_PREFECTURE: &str = "610100";

/// Every phrase of every node file in `dir` (descriptions.toml aside). The reserved intents'
/// phrases of `main.toml` are measured at every node when `reserved_everywhere`, else at the
/// main menu only.
pub fn load(dir: &Path, flow: &Flow, reserved_everywhere: bool) -> Result<Vec<Case>, InventoryError> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| InventoryError::Read(dir.display().to_string(), e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml") && !p.ends_with("descriptions.toml"))
        .collect();
    files.sort();
    let read = |path: &Path| -> Result<NodeFile, InventoryError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| InventoryError::Read(name.clone(), e))?;
        toml::from_str(&text).map_err(|e| InventoryError::Parse(name, e))
    };
    let main = read(&dir.join("main.toml"))?;
    let mut cases = Vec::new();
    for path in &files {
        let node = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_owned();
        if node == NOT_A_NODE {
            continue;
        }
        let file = read(path)?;
        let mut add = |kind: Kind, label: &str, lists: &Lists, state: &CallState, expect: &Expect| {
            for (split, phrases) in [(Split::Dev, &lists.dev), (Split::Heldout, &lists.heldout)] {
                cases.extend(phrases.iter().map(|p| Case {
                    node: node.clone(),
                    kind,
                    label: label.to_owned(),
                    split,
                    phrase: p.clone(),
                    expect: expect.clone(),
                    state: state.clone(),
                }));
            }
        };
        let first = first_page(flow, &node);
        for (intent, lists) in &file.intent {
            let (state, key) = where_said(flow, &node, intent).ok_or_else(|| InventoryError::Label {
                file: path.display().to_string(),
                what: format!("no option {intent} at node {node}"),
            })?;
            add(Kind::Intent, intent, lists, &state, &Expect::Key(key));
        }
        for (key, lists) in &file.digits {
            add(Kind::Digit, key, lists, &first, &Expect::Key(key.clone()));
        }
        add(Kind::None, "", &file.none, &first, &Expect::Nothing);
        if node != "main" && reserved_everywhere {
            for intent in RESERVED {
                if let Some(lists) = main.intent.get(intent) {
                    let (_, key) = where_said(flow, &node, intent).expect("every node takes the reserved keys");
                    add(Kind::Intent, intent, lists, &first, &Expect::Key(key));
                }
            }
            for key in RESERVED_KEYS {
                if let Some(lists) = main.digits.get(key) {
                    add(Kind::Digit, key, lists, &first, &Expect::Key(key.to_owned()));
                }
            }
        }
    }
    Ok(cases)
}

/// The state in which a node is first heard: its first page; a county list of a paged
/// prefecture; a typed certificate number waiting for its read-back to be confirmed.
fn first_page(flow: &Flow, node: &str) -> CallState {
    let mut s = CallState {
        node: node.to_owned(),
        ..CallState::default()
    };
    match flow.nodes.get(node) {
        Some(Node::Pick { source, .. }) if *source == crate::ivr::flow::Source::County => {
            s.answers.prefecture = Some(COUNTY_PREFECTURE.to_owned());
        }
        Some(Node::Digits { .. }) => s.pending = Some("0".repeat(20)),
        _ => {}
    }
    s
}

/// Where an option is said and its key: for a list item, the page it is read on (and for a
/// county, its prefecture chosen before).
fn where_said(flow: &Flow, node: &str, intent: &str) -> Option<(CallState, String)> {
    let mut s = first_page(flow, node);
    if let Some(Node::Pick { source, .. }) = flow.nodes.get(node) {
        if *source == crate::ivr::flow::Source::County && intent.len() == 6 {
            s.answers.prefecture = Some(format!("{}00", &intent[..4]));
        }
        // An item on the page that reads it; "more" and the reserved keys on the first page.
        let list = items(flow, *source, &s.answers);
        let on_page = (0..list.len()).find_map(|page| {
            let (keyed, _) = page_of(&list, page);
            keyed
                .into_iter()
                .find(|(_, (value, _))| value == intent)
                .map(|(key, _)| (page, key))
        });
        if let Some((page, key)) = on_page {
            s.page = page;
            return Some((s, key));
        }
    }
    let choices = crate::ivr::listen::choices(flow, &s)?;
    let key = choices.iter().find(|c| c.intent == intent)?.key.clone();
    Some((s, key))
}
