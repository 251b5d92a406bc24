//! Prompt texts from `prompts/zh-CN/prompts.toml`, compiled in and checked by a test, so a
//! missing text is a build-time failure rather than silence on a call.

use serde::Deserialize;

const ZH_CN: &str = include_str!("../../prompts/zh-CN/prompts.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prompts {
    pub welcome: String,
    pub menu: String,
    pub no_input: String,
    pub invalid_key: String,
    pub too_many_tries: String,
    pub callback_registered: String,
    pub ticket_by_sms: String,
    pub goodbye: String,
    pub no_caller_number: String,
    pub transferring: String,
    pub transfer_failed: String,
    pub apology: String,
    pub call_again: String,
    pub sms_ticket: String,
    pub sms_received: String,
}

impl Prompts {
    pub fn zh_cn() -> Self {
        use figment::providers::{Format, Toml};
        figment::Figment::from(Toml::string(ZH_CN))
            .extract()
            .expect("prompts/zh-CN/prompts.toml is valid (checked by a unit test)")
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
        assert!(p.menu.contains("请按1") && p.menu.contains("请按0") && p.menu.contains("星号"));
        assert!(p.callback_registered.contains("{ticket}"));
    }

    #[test]
    fn menu_names_each_option_before_its_key() {
        // R3: "法律咨询请按1", never "按1法律咨询".
        let menu = Prompts::zh_cn().menu;
        for part in menu.split('。').filter(|s| !s.is_empty()) {
            let key = part.find("请按").expect("each sentence offers a key");
            assert!(key > 0, "option named before the key in {part:?}");
        }
    }

    #[test]
    fn placeholders_are_filled() {
        assert_eq!(
            fill("编号{ticket}，再说一遍{ticket}", &[("ticket", "一")]),
            "编号一，再说一遍一"
        );
    }
}
