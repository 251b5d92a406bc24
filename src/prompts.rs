//! Prompt texts from `prompts/zh-CN/prompts.toml`: compiled in, or read from a file named in the
//! configuration (`ivr.prompts_file`) so an office can reword them without recompiling. The keys
//! the code uses are fields (a file missing one is refused at start-up); the keys a flow file
//! names are looked up by name and checked when the flow is loaded.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

const ZH_CN: &str = include_str!("../prompts/zh-CN/prompts.toml");

#[derive(Debug, thiserror::Error)]
#[error("{file}: {problem}")]
pub struct PromptsError {
    pub file: String,
    pub problem: String,
}

/// Declares the prompt struct and the list of its keys together, so they cannot drift apart.
macro_rules! prompts {
    ($($key:ident),* $(,)?) => {
        #[derive(Debug, Clone, Deserialize)]
        pub struct Prompts {
            $(pub $key: String,)*
            /// The prompts only flow files name.
            #[serde(flatten)]
            pub named: BTreeMap<String, String>,
        }

        impl Prompts {
            /// Every prompt as (key, text); texts with `{…}` placeholders are templates.
            pub fn all(&self) -> Vec<(&str, &str)> {
                let mut all = vec![$((stringify!($key), self.$key.as_str()),)*];
                all.extend(self.named.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                all
            }
        }
    };
}

prompts!(
    welcome,
    welcome_again,
    welcome_back,
    keys_rules,
    no_input,
    no_speech,
    invalid_key,
    speech_hint,
    speech_confirm,
    speech_not_understood,
    speech_busy,
    please_hold,
    rate_slower,
    rate_faster,
    rate_slowest,
    rate_fastest,
    pick_option,
    pick_more,
    pick_again,
    digits_hint,
    confirm_certificate,
    certificate_skip_hint,
    certificate_skipped,
    certificate_not_checked,
    certificate_typed,
    ticket_invalid,
    long_timeouts_on,
    long_timeouts_off,
    follow_up_on,
    follow_up_off,
    keypad_only_on,
    keypad_only_off,
    too_many_tries,
    callback_registered,
    callback_number,
    queue_ahead,
    queue_next,
    ticket_by_sms,
    art23_notice,
    assessment,
    closing_repeat,
    goodbye,
    no_caller_number,
    no_caller_number_end,
    human_busy,
    transferring,
    transfer_failed,
    progress_none,
    progress_not_found,
    progress_case,
    status_waiting_callback,
    status_in_progress,
    status_closed,
    apology,
    call_again,
    sms_ticket,
    sms_place,
    sms_received,
    sms_assessment,
    callback_whisper,
    callback_greeting,
    callback_ended,
    callback_no_answer_lawyer,
    callback_lawyer_left,
    callback_lawyer_gone,
    queue_wait,
    sms_unreachable,
    sms_registered,
    sms_wait,
    sms_art23,
    sms_case,
    sms_noted,
    sms_stopped,
    sms_rate_limited,
    sms_taken,
    sms_closed,
);

impl Prompts {
    /// The prompts a caller hears that have no placeholders (SMS texts are read, not heard):
    /// what `hotline prompts render` pre-renders.
    pub fn spoken(&self) -> Vec<(&str, &str)> {
        self.all()
            .into_iter()
            .filter(|(key, text)| !key.starts_with("sms_") && !text.contains('{'))
            .collect()
    }

    /// The shipped Mandarin prompts.
    pub fn zh_cn() -> Self {
        Self::parse(ZH_CN, "prompts/zh-CN/prompts.toml")
            .expect("the shipped prompts are valid (checked by a unit test)")
    }

    /// The configured file, or the shipped prompts.
    pub fn load(file: Option<&Path>) -> Result<Self, PromptsError> {
        let Some(path) = file else { return Ok(Self::zh_cn()) };
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| PromptsError {
            file: name.clone(),
            problem: e.to_string(),
        })?;
        Self::parse(&text, &name)
    }

    pub fn parse(text: &str, file: &str) -> Result<Self, PromptsError> {
        use figment::providers::{Format, Toml};
        let problem = |problem: String| PromptsError {
            file: file.to_owned(),
            problem,
        };
        let prompts: Prompts = figment::Figment::from(Toml::string(text))
            .extract()
            .map_err(|e| problem(e.to_string()))?;
        if let Some((key, _)) = prompts.all().into_iter().find(|(_, text)| text.trim().is_empty()) {
            return Err(problem(format!("prompt `{key}` is empty")));
        }
        Ok(prompts)
    }

    /// A prompt by its key.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.all().into_iter().find(|(k, _)| *k == key).map(|(_, text)| text)
    }
}

/// Fills `{name}` placeholders.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    values.iter().fold(template.to_owned(), |text, (name, value)| {
        text.replace(&format!("{{{name}}}"), value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_prompts_load_and_are_chinese() {
        let p = Prompts::zh_cn();
        assert!(p.callback_registered.contains("{ticket}"));
        // The keys every prompt takes are announced once per call, not in every menu.
        assert!(p.keys_rules.contains("请按0") && p.keys_rules.contains("星号"));
        assert!(p
            .get("menu_main")
            .is_some_and(|m| m.contains("请按1") && !m.contains("请按0")));
        assert_eq!(p.get("welcome"), Some(p.welcome.as_str()));
        assert_eq!(p.get("no_such_prompt"), None);
    }

    #[test]
    fn every_menu_names_each_option_before_its_key() {
        // R3: "法律咨询请按1", never "按1法律咨询".
        let p = Prompts::zh_cn();
        for (key, text) in p.all() {
            for part in text.split(['。', '；', '？']).filter(|s| s.contains("请按")) {
                let at = part.find("请按").unwrap();
                let named = part[..at].trim_matches(['，', ' ']);
                assert!(!named.is_empty(), "{key}: option named before the key in {part:?}");
            }
        }
    }

    #[test]
    fn a_file_missing_a_prompt_the_code_needs_is_refused() {
        let err = Prompts::parse("welcome = \"您好\"", "my-prompts.toml")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("my-prompts.toml: "), "{err}");
        assert!(err.contains("missing field"), "{err}");
        let empty = ZH_CN.replace("queue_next = \"您是下一位。\"", "queue_next = \" \"");
        let err = Prompts::parse(&empty, "p.toml").unwrap_err().to_string();
        assert!(err.contains("queue_next"), "{err}");
    }

    #[test]
    fn placeholders_are_filled() {
        assert_eq!(
            fill("编号{ticket}，再说一遍{ticket}", &[("ticket", "一")]),
            "编号一，再说一遍一"
        );
    }
}
