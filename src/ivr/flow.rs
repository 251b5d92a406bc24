//! Flow files (`config/flows/*.toml`): the menu tree as data, checked when it is loaded so a
//! broken file stops start-up with the file and the node named, never a caller mid-call.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Write as _;
use std::path::Path;

use serde::Deserialize;

use crate::domain::Regions;
use crate::prompts::Prompts;

const MAIN: &str = include_str!("../../config/flows/main.toml");
const MAIN_FILE: &str = "config/flows/main.toml";

/// Most options a menu level may offer (DOMAIN.md §6, R3).
pub const MAX_OPTIONS: usize = 4;
/// Keys the engine gives the same meaning at every prompt; no option may take them.
pub const RESERVED_KEYS: [&str; 5] = ["0", "*", "7", "9", "#"];

#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    #[error("{file}: {problem}")]
    File { file: String, problem: String },
    #[error("{file}: node `{node}`: {problem}")]
    Node {
        file: String,
        node: String,
        problem: String,
    },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct FlowFile {
    start: String,
    start_known: Option<String>,
    escape: Option<Escape>,
    #[serde(default)]
    speech: SpeechWords,
    #[serde(default)]
    node: BTreeMap<String, Node>,
}

/// What callers may say for the keys every node takes, for yes/no questions and for "next page"
/// (the `[speech]` table; options list their own `words`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpeechWords {
    pub human: Vec<String>,
    pub repeat: Vec<String>,
    pub slower: Vec<String>,
    pub faster: Vec<String>,
    pub yes: Vec<String>,
    pub no: Vec<String>,
    pub more: Vec<String>,
    /// More words for the lists above (by their names: human, repeat, …), only matched in what
    /// the caller said: they do not prime the recogniser.
    pub also: BTreeMap<String, Vec<String>>,
    /// Words for a list item beside its name, by stored value (the matters: "离婚" for
    /// family_maintenance, "车祸" for personal_injury_traffic).
    pub items: BTreeMap<String, Vec<String>>,
}

impl Default for SpeechWords {
    fn default() -> Self {
        let words = |w: &[&str]| w.iter().map(|s| (*s).to_owned()).collect();
        Self {
            human: words(&["人工服务", "转人工", "找律师"]),
            repeat: words(&["重听", "再说一遍"]),
            slower: words(&["说慢一点"]),
            faster: words(&["说快一点"]),
            yes: words(&["是", "是的", "对", "确认"]),
            no: words(&["不是", "不对", "没有", "否"]),
            more: words(&["更多", "下一页"]),
            also: BTreeMap::new(),
            items: BTreeMap::new(),
        }
    }
}

/// A question's own words for its answers (only matched), beside the flow's `[speech]` yes and no. A word
/// listed here for one answer is taken out of the other's `[speech]` words at this question:
/// to "您现在是否没有固定收入？" 没有 means yes.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct YesNoWords {
    #[serde(default)]
    pub yes: Vec<String>,
    #[serde(default)]
    pub no: Vec<String>,
}

/// Where the accessibility rules send a caller from any node (R1).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Escape {
    /// Where `0` leads: a `transfer` node.
    pub human: String,
    /// Where too many silent or wrong turns lead: a `callback` node.
    pub give_up: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Node {
    Menu {
        prompt: String,
        options: Vec<MenuOption>,
    },
    Pick {
        prompt: String,
        source: Source,
        goto: String,
        #[serde(default)]
        routes: BTreeMap<String, String>,
    },
    Digits {
        prompt: String,
        help: Option<String>,
        field: DigitsField,
        goto: String,
        /// What a caller says to confirm (1) or retype (2) the number read back.
        #[serde(default)]
        answers: YesNoWords,
    },
    YesNo {
        prompt: String,
        field: Flag,
        goto: String,
        #[serde(default)]
        answers: YesNoWords,
    },
    Record {
        prompt: String,
        field: RecordField,
        goto: String,
    },
    Callback,
    Apply,
    Progress {
        goto: String,
    },
    Transfer,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MenuOption {
    pub key: String,
    /// A stable name for what the option does (speech recognition maps words to it).
    pub intent: String,
    pub goto: String,
    #[serde(rename = "do")]
    pub effect: Option<Toggle>,
    /// Words a caller may say for this option; they prime the recogniser.
    #[serde(default)]
    pub words: Vec<String>,
    /// More words for it, only matched in what the caller said.
    #[serde(default)]
    pub also: Vec<String>,
}

/// What a `pick` node lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Matter,
    Prefecture,
    /// The counties of the prefecture picked before.
    County,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DigitsField {
    Certificate,
    Ticket,
}

/// The yes/no answers of the legal-aid pre-screening.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    NoFixedIncome,
    ReceivesAssistance,
    MigrantWorker,
    #[serde(rename = "deadline_within_7_days")]
    DeadlineWithin7Days,
    EvidenceAtRisk,
    DetainedOrOnTrial,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordField {
    Description,
    Note,
}

/// A change to the caller's accessibility profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Toggle {
    ToggleLongTimeouts,
    ToggleSmsFollowUp,
    ToggleKeypadOnly,
}

/// A loaded and checked flow.
#[derive(Debug, Clone)]
pub struct Flow {
    pub start: String,
    pub start_known: String,
    pub escape: Escape,
    pub speech: SpeechWords,
    pub nodes: BTreeMap<String, Node>,
    pub regions: Regions,
}

impl Node {
    pub fn prompts(&self) -> Vec<&str> {
        match self {
            Node::Menu { prompt, .. } | Node::Pick { prompt, .. } | Node::YesNo { prompt, .. } => vec![prompt],
            Node::Record { prompt, .. } => vec![prompt],
            Node::Digits { prompt, help, .. } => std::iter::once(prompt.as_str()).chain(help.as_deref()).collect(),
            Node::Callback | Node::Apply | Node::Progress { .. } | Node::Transfer => Vec::new(),
        }
    }

    /// The nodes this one can lead to, with what leads there.
    pub fn edges(&self) -> Vec<(String, &str)> {
        match self {
            Node::Menu { options, .. } => options.iter().map(|o| (o.key.clone(), o.goto.as_str())).collect(),
            Node::Pick { goto, routes, .. } => std::iter::once(("…".to_owned(), goto.as_str()))
                .chain(routes.iter().map(|(value, to)| (value.clone(), to.as_str())))
                .collect(),
            Node::Digits { goto, .. } | Node::YesNo { goto, .. } | Node::Record { goto, .. } => {
                vec![("…".to_owned(), goto.as_str())]
            }
            Node::Progress { goto } => vec![("…".to_owned(), goto.as_str())],
            Node::Callback | Node::Apply | Node::Transfer => Vec::new(),
        }
    }

    /// Whether the node waits for the caller (and so takes the reserved keys).
    pub fn asks(&self) -> bool {
        !self.edges().is_empty() && !matches!(self, Node::Progress { .. })
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Node::Menu { .. } => "menu",
            Node::Pick { .. } => "pick",
            Node::Digits { .. } => "digits",
            Node::YesNo { .. } => "yes_no",
            Node::Record { .. } => "record",
            Node::Callback => "callback",
            Node::Apply => "apply",
            Node::Progress { .. } => "progress",
            Node::Transfer => "transfer",
        }
    }
}

impl Flow {
    /// The shipped main flow.
    pub fn main(prompts: &Prompts) -> Self {
        Self::parse(MAIN, MAIN_FILE, prompts, Regions::shaanxi())
            .expect("the shipped flow is valid (checked by a unit test)")
    }

    /// The configured flow file, or the shipped one.
    pub fn load(file: Option<&Path>, prompts: &Prompts, regions: Regions) -> Result<Self, FlowError> {
        match file {
            None => Self::parse(MAIN, MAIN_FILE, prompts, regions),
            Some(path) => {
                let name = path.display().to_string();
                let text = std::fs::read_to_string(path).map_err(|e| FlowError::File {
                    file: name.clone(),
                    problem: e.to_string(),
                })?;
                Self::parse(&text, &name, prompts, regions)
            }
        }
    }

    pub fn parse(text: &str, file: &str, prompts: &Prompts, regions: Regions) -> Result<Self, FlowError> {
        use figment::providers::{Format, Toml};
        let whole = |problem: String| FlowError::File {
            file: file.to_owned(),
            problem,
        };
        let parsed: FlowFile = figment::Figment::from(Toml::string(text))
            .extract()
            .map_err(|e| whole(e.to_string()))?;
        let escape = parsed
            .escape
            .ok_or_else(|| whole("missing escape: add [escape] with `human` and `give_up`".into()))?;
        let flow = Flow {
            start_known: parsed.start_known.unwrap_or_else(|| parsed.start.clone()),
            start: parsed.start,
            escape,
            speech: parsed.speech,
            nodes: parsed.node,
            regions,
        };
        flow.check(file, prompts)?;
        Ok(flow)
    }

    pub fn node(&self, name: &str) -> &Node {
        &self.nodes[name]
    }

    fn check(&self, file: &str, prompts: &Prompts) -> Result<(), FlowError> {
        let at = |node: &str, problem: String| FlowError::Node {
            file: file.to_owned(),
            node: node.to_owned(),
            problem,
        };
        let whole = |problem: String| FlowError::File {
            file: file.to_owned(),
            problem,
        };
        for (what, name) in [
            ("start", &self.start),
            ("start_known", &self.start_known),
            ("escape.human", &self.escape.human),
            ("escape.give_up", &self.escape.give_up),
        ] {
            if !self.nodes.contains_key(name) {
                return Err(whole(format!("{what} names node `{name}`, which does not exist")));
            }
        }
        if !matches!(self.node(&self.escape.human), Node::Transfer) {
            return Err(at(&self.escape.human, "escape.human must be a `transfer` node".into()));
        }
        if !matches!(self.node(&self.escape.give_up), Node::Callback) {
            return Err(at(
                &self.escape.give_up,
                "escape.give_up must be a `callback` node".into(),
            ));
        }
        for (name, node) in &self.nodes {
            for key in node.prompts() {
                if prompts.get(key).is_none() {
                    return Err(at(name, format!("unknown prompt key `{key}`")));
                }
            }
            for (_, to) in node.edges() {
                if !self.nodes.contains_key(to) {
                    return Err(at(name, format!("leads to node `{to}`, which does not exist")));
                }
            }
            match node {
                Node::Menu { options, .. } => check_menu(options).map_err(|p| at(name, p))?,
                Node::Pick { source, routes, .. } => {
                    for value in routes.keys() {
                        if !self.values(*source).contains(value) {
                            return Err(at(name, format!("routes names `{value}`, which is not a {source:?}")));
                        }
                    }
                }
                _ => {}
            }
        }
        let reachable = self.reachable();
        if let Some(lost) = self.nodes.keys().find(|n| !reachable.contains(n.as_str())) {
            return Err(at(lost, "unreachable: no node leads here".into()));
        }
        Ok(())
    }

    /// Every node a caller can get to from the start nodes and the escapes.
    pub fn reachable(&self) -> BTreeSet<&str> {
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        let mut todo: VecDeque<&str> = [&self.start, &self.start_known, &self.escape.human, &self.escape.give_up]
            .into_iter()
            .map(String::as_str)
            .collect();
        while let Some(name) = todo.pop_front() {
            if seen.insert(name) {
                if let Some(node) = self.nodes.get(name) {
                    todo.extend(node.edges().into_iter().map(|(_, to)| to));
                }
            }
        }
        seen
    }

    /// The stored values a `pick` source can yield (for `routes`).
    fn values(&self, source: Source) -> Vec<String> {
        match source {
            Source::Matter => crate::domain::Matter::ALL
                .iter()
                .map(|m| m.as_str().to_owned())
                .collect(),
            Source::Prefecture => self.regions.prefectures.iter().map(|p| p.code.clone()).collect(),
            Source::County => self
                .regions
                .prefectures
                .iter()
                .flat_map(|p| p.counties.iter().map(|c| c.code.clone()))
                .collect(),
        }
    }

    /// The menu tree as text, for `hotline flows show` and the README.
    pub fn tree(&self, prompts: &Prompts) -> String {
        let mut out = String::new();
        let mut shown = BTreeSet::new();
        let _ = writeln!(
            out,
            "(every node: 0 → {}, * repeat, 7 slower, 9 faster; repeated silence or wrong keys → {})",
            self.escape.human, self.escape.give_up
        );
        for root in [&self.start, &self.start_known, &self.escape.human, &self.escape.give_up] {
            self.show(root, 0, prompts, &mut shown, &mut out);
        }
        out
    }

    fn show<'a>(
        &'a self,
        name: &'a str,
        depth: usize,
        prompts: &Prompts,
        shown: &mut BTreeSet<&'a str>,
        out: &mut String,
    ) {
        let node = self.node(name);
        let pad = "  ".repeat(depth);
        let first = node.prompts().first().and_then(|k| prompts.get(k)).unwrap_or("");
        let summary: String = first.chars().take(30).collect();
        if !shown.insert(name) {
            let _ = writeln!(out, "{pad}→ {name}");
            return;
        }
        let _ = writeln!(out, "{pad}{name} [{}] {summary}", node.kind());
        match node {
            Node::Menu { options, .. } => {
                for o in options {
                    let _ = writeln!(out, "{pad}  {} {}", o.key, o.intent);
                    self.show(&o.goto, depth + 2, prompts, shown, out);
                }
            }
            _ => {
                for (label, to) in node.edges() {
                    if label != "…" {
                        let _ = writeln!(out, "{pad}  if {label}");
                        self.show(to, depth + 2, prompts, shown, out);
                    }
                }
                // The node that follows is shown at the same depth: a sequence reads down.
                if let Some((_, to)) = node.edges().into_iter().find(|(label, _)| label == "…") {
                    self.show(to, depth, prompts, shown, out);
                }
            }
        }
    }
}

fn check_menu(options: &[MenuOption]) -> Result<(), String> {
    if options.is_empty() {
        return Err("a menu needs at least one option".into());
    }
    if options.len() > MAX_OPTIONS {
        return Err(format!("menu has {} options (at most {MAX_OPTIONS})", options.len()));
    }
    let mut keys = BTreeSet::new();
    for o in options {
        if RESERVED_KEYS.contains(&o.key.as_str()) {
            return Err(format!(
                "key {} is reserved (0, *, 7, 9 and # work the same everywhere)",
                o.key
            ));
        }
        if o.key.len() != 1 || !o.key.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("key `{}` is not a single digit", o.key));
        }
        if !keys.insert(&o.key) {
            return Err(format!("key {} is used twice", o.key));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Flow, FlowError> {
        Flow::parse(text, "test.toml", &Prompts::zh_cn(), Regions::shaanxi())
    }

    const OK: &str = r#"
start = "main"
[escape]
human = "human"
give_up = "cb"
[node.main]
kind = "menu"
prompt = "menu_main"
options = [{ key = "1", intent = "consult", goto = "cb" }]
[node.human]
kind = "transfer"
[node.cb]
kind = "callback"
"#;

    #[test]
    fn the_shipped_flow_is_valid_and_every_node_reachable() {
        let flow = Flow::main(&Prompts::zh_cn());
        assert_eq!(flow.reachable().len(), flow.nodes.len());
        let Node::Menu { options, .. } = flow.node("main") else {
            panic!("main is a menu")
        };
        let intents: Vec<(&str, &str)> = options.iter().map(|o| (o.key.as_str(), o.intent.as_str())).collect();
        assert_eq!(
            intents,
            [("1", "consult"), ("2", "apply"), ("3", "progress"), ("4", "settings")]
        );
        assert!(parse(OK).is_ok());
    }

    #[test]
    fn broken_flows_stop_with_the_file_and_node_named() {
        let cases = [
            (
                OK.replace("menu_main", "menu_nope"),
                "test.toml: node `main`: unknown prompt key `menu_nope`",
            ),
            (
                OK.replace("[escape]\nhuman = \"human\"\ngive_up = \"cb\"\n", ""),
                "test.toml: missing escape",
            ),
            (
                OK.replace(
                    r#"options = [{ key = "1", intent = "consult", goto = "cb" }]"#,
                    r#"options = [{ key = "1", intent = "a", goto = "cb" }, { key = "2", intent = "b", goto = "cb" },
                                  { key = "3", intent = "c", goto = "cb" }, { key = "4", intent = "d", goto = "cb" },
                                  { key = "5", intent = "e", goto = "cb" }]"#,
                ),
                "test.toml: node `main`: menu has 5 options (at most 4)",
            ),
            (
                format!("{OK}[node.orphan]\nkind = \"callback\"\n"),
                "test.toml: node `orphan`: unreachable",
            ),
            (
                OK.replace("goto = \"cb\"", "goto = \"nowhere\""),
                "test.toml: node `main`: leads to node `nowhere`",
            ),
            (
                OK.replace("key = \"1\"", "key = \"9\""),
                "test.toml: node `main`: key 9 is reserved",
            ),
            (
                OK.replace("give_up = \"cb\"", "give_up = \"main\""),
                "test.toml: node `main`: escape.give_up must be",
            ),
            (OK.replace("kind = \"transfer\"", "kind = \"teleport\""), "test.toml: "),
        ];
        for (text, expected) in cases {
            let err = parse(&text).expect_err(expected).to_string();
            assert!(err.starts_with(expected), "{err}\n  expected: {expected}");
        }
    }

    #[test]
    fn the_tree_shows_every_node() {
        let flow = Flow::main(&Prompts::zh_cn());
        let tree = flow.tree(&Prompts::zh_cn());
        for name in flow.nodes.keys() {
            assert!(tree.contains(name.as_str()), "{name} missing from\n{tree}");
        }
    }
}
