//! What a caller can say at each node, for speech input: the options of a menu (their `words`
//! in the flow file), the names on the current page of a list, yes and no, and the words for
//! the keys every node takes (0 person, * repeat, 7 slower, 9 faster; the flow's `[speech]`).

use super::engine::{items, page_of, CallState, MORE_KEY};
use super::flow::{Flow, Node, YesNoWords};
use crate::asr::digits::said;
use crate::asr::Choice;

/// The choices speech has at the caller's node; None where only keys make sense (typed numbers,
/// recordings, a spoken choice waiting for its confirming key).
pub fn choices(flow: &Flow, s: &CallState) -> Option<Vec<Choice>> {
    if s.confirm.is_some() {
        return None;
    }
    let words = &flow.speech;
    // The primed words first, then those only matched.
    let choice = |key: &str, intent: &str, primed: Vec<String>, also: &[String]| Choice {
        key: key.to_owned(),
        intent: intent.to_owned(),
        primed: primed.len(),
        words: primed.into_iter().chain(also.iter().cloned()).collect(),
    };
    let also = |name: &str| words.also.get(name).map_or(&[][..], Vec::as_slice);
    let yes_no = |own: &YesNoWords| {
        let merged = |global: &[String], mine: &[String], theirs: &[String]| -> Vec<String> {
            global
                .iter()
                .filter(|w| !theirs.contains(w))
                .chain(mine.iter().filter(|w| !global.contains(w)))
                .cloned()
                .collect()
        };
        let kept = |global: &[String], theirs: &[String]| -> Vec<String> {
            global.iter().filter(|w| !theirs.contains(w)).cloned().collect()
        };
        vec![
            choice(
                "1",
                "yes",
                kept(&words.yes, &own.no),
                &merged(also("yes"), &own.yes, &own.no),
            ),
            choice(
                "2",
                "no",
                kept(&words.no, &own.yes),
                &merged(also("no"), &own.no, &own.yes),
            ),
        ]
    };
    let mut choices = match flow.node(&s.node) {
        Node::Menu { options, .. } => options
            .iter()
            .map(|o| choice(&o.key, &o.intent, o.words.clone(), &o.also))
            .collect(),
        // A typed certificate number waits for its confirmation: yes or no, too.
        Node::YesNo { answers, .. } => yes_no(answers),
        Node::Digits { answers, .. } if s.pending.is_some() => yes_no(answers),
        Node::Pick { source, .. } => {
            let list = items(flow, *source, &s.answers);
            let (keyed, paged) = page_of(&list, s.page);
            let mut on_page: Vec<Choice> = keyed
                .into_iter()
                .map(|(key, (value, name))| {
                    let extra = words.items.get(value).map_or(&[][..], Vec::as_slice);
                    choice(&key, value, names(name), extra)
                })
                .collect();
            if paged {
                on_page.push(choice(MORE_KEY, "more", words.more.clone(), also("more")));
            }
            on_page
        }
        _ => return None,
    };
    choices.extend([
        choice("0", "human", words.human.clone(), also("human")),
        choice("*", "repeat", words.repeat.clone(), also("repeat")),
        choice("7", "slower", words.slower.clone(), also("slower")),
        choice("9", "faster", words.faster.clone(), also("faster")),
    ]);
    Some(choices)
}

/// A list item's name, its parts ("劳动和工资" → also "劳动", "工资") and a place without its
/// kind, as people say it ("新城区" → "新城", "西安市" → "西安").
fn names(name: &str) -> Vec<String> {
    let mut all = vec![name.to_owned()];
    if name.contains('和') {
        all.extend(name.split('和').filter(|p| p.chars().count() >= 2).map(str::to_owned));
    }
    let short = PLACE_KINDS.iter().find_map(|kind| name.strip_suffix(kind));
    if let Some(short) = short.filter(|s| s.chars().count() >= 2) {
        all.push(short.to_owned());
    }
    all
}

/// What a place name ends in: district, county, city.
const PLACE_KINDS: [&str; 3] = ["区", "县", "市"];

/// The words of the choices, as whisper's initial prompt: it then expects them. A word inside
/// another one (咨询 in 法律咨询) is left out: every prompt token costs decoding time on every
/// turn (the prompt is most of a menu turn's time), and the longer word already primes it. Then
/// each key as it is said ("按一"): without them the model writes a spoken key as a word.
pub fn prompt_words(choices: &[Choice]) -> String {
    let all: Vec<&str> = choices
        .iter()
        .flat_map(|c| c.primed_words().map(String::as_str))
        .collect();
    let mut words: Vec<&str> = Vec::new();
    for w in &all {
        let inside_a_longer_one = all.iter().any(|other| other.len() > w.len() && other.contains(w));
        if !inside_a_longer_one && !words.contains(w) {
            words.push(w);
        }
    }
    let keys: Vec<String> = choices.iter().filter_map(|c| said(&c.key)).collect();
    let keys = keys.iter().map(String::as_str);
    format!("{}。", words.into_iter().chain(keys).collect::<Vec<_>>().join("，"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prompts::Prompts;

    fn at(node: &str) -> CallState {
        CallState {
            node: node.into(),
            ..CallState::default()
        }
    }

    #[test]
    fn main_menu_choices_are_its_options_and_the_reserved_keys() {
        let flow = Flow::main(&Prompts::zh_cn());
        let intents: Vec<(String, String)> = choices(&flow, &at("main"))
            .unwrap()
            .into_iter()
            .map(|c| (c.key, c.intent))
            .collect();
        let expected = [
            ("1", "consult"),
            ("2", "apply"),
            ("3", "progress"),
            ("4", "settings"),
            ("0", "human"),
            ("*", "repeat"),
            ("7", "slower"),
            ("9", "faster"),
        ];
        assert_eq!(intents, expected.map(|(k, i)| (k.to_owned(), i.to_owned())).to_vec());
    }

    #[test]
    fn lists_offer_the_names_on_the_page_and_numbers_only_keys() {
        let flow = Flow::main(&Prompts::zh_cn());
        let matters = choices(&flow, &at("consult_matter")).unwrap();
        assert_eq!(matters[0].words[..3], ["劳动和工资", "劳动", "工资"]);
        assert!(
            matters[0].words.contains(&"欠薪".to_owned()),
            "the flow's words for the item too"
        );
        assert_eq!(matters[3].intent, "more");
        let digits = flow
            .nodes
            .iter()
            .find(|(_, n)| matches!(n, Node::Digits { .. }))
            .map(|(name, _)| name.clone())
            .unwrap();
        assert_eq!(choices(&flow, &at(&digits)), None, "numbers are typed");
        let mut confirming = at("main");
        confirming.confirm = Some("1".into());
        assert_eq!(choices(&flow, &confirming), None, "a spoken choice is confirmed by key");
    }

    #[test]
    fn places_are_also_heard_without_their_kind() {
        assert_eq!(names("新城区"), ["新城区", "新城"]);
        assert_eq!(names("西安市"), ["西安市", "西安"]);
        assert_eq!(names("岚皋县"), ["岚皋县", "岚皋"]);
        assert_eq!(names("工伤"), ["工伤"]);
    }

    #[test]
    fn a_question_s_own_words_replace_the_contrary_global_ones() {
        let flow = Flow::main(&Prompts::zh_cn());
        let income = choices(&flow, &at("apply_income")).unwrap();
        let (yes, no) = (&income[0].words, &income[1].words);
        // 您现在是否没有固定收入？ 没有 is yes, 有 is no.
        assert!(
            yes.contains(&"没有".to_owned()) && !yes.contains(&"有".to_owned()),
            "{yes:?}"
        );
        assert!(
            no.contains(&"有".to_owned()) && !no.contains(&"没有".to_owned()),
            "{no:?}"
        );
        assert!(yes.contains(&"是".to_owned()), "the other global words stay");
        let detained = choices(&flow, &at("apply_detained")).unwrap();
        assert!(detained[0].words.contains(&"有".to_owned()));
        assert!(detained[0].words.contains(&"被抓".to_owned()));
    }

    #[test]
    fn the_prompt_lists_each_word_once_and_not_the_words_inside_longer_ones() {
        let choice = |key: &str, words: &[&str]| Choice {
            key: key.into(),
            intent: key.into(),
            words: words.iter().map(|w| w.to_string()).collect(),
            primed: usize::MAX,
        };
        let menu = [
            choice("1", &["法律咨询", "咨询", "问问题"]),
            choice("2", &["有", "有残疾人证"]),
            choice("3", &["对", "对"]),
        ];
        assert_eq!(
            prompt_words(&menu),
            "法律咨询，问问题，有残疾人证，对，按一，按二，按三。"
        );
        let mut long = choice("1", &["法律咨询", "法律问题", "问问题", "打听", "请教"]);
        long.primed = 3;
        long.key = "*".into();
        assert_eq!(
            prompt_words(&[long]),
            "法律咨询，法律问题，问问题。",
            "only the primed words"
        );
    }
}
