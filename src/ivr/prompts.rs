//! Prompt texts from `prompts/zh-CN/prompts.toml`, compiled in and checked by a test, so a
//! missing text is a build-time failure rather than silence on a call.

use serde::Deserialize;

const ZH_CN: &str = include_str!("../../prompts/zh-CN/prompts.toml");

/// Declares the prompt struct and the list of its keys together, so they cannot drift apart.
macro_rules! prompts {
    ($($key:ident),* $(,)?) => {
        #[derive(Debug, Clone, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct Prompts {
            $(pub $key: String,)*
        }

        impl Prompts {
            /// Every prompt as (key, text); texts with `{…}` placeholders are templates.
            pub fn all(&self) -> Vec<(&'static str, &str)> {
                vec![$((stringify!($key), self.$key.as_str()),)*]
            }
        }
    };
}

prompts!(
    welcome,
    welcome_back,
    menu,
    no_input,
    invalid_key,
    rate_slower,
    rate_faster,
    too_many_tries,
    callback_registered,
    callback_number,
    queue_ahead,
    queue_next,
    ticket_by_sms,
    goodbye,
    no_caller_number,
    transferring,
    transfer_failed,
    apology,
    call_again,
    sms_ticket,
    sms_received,
);

impl Prompts {
    /// The prompts a caller hears that have no placeholders (SMS texts are read, not heard):
    /// what `hotline prompts render` pre-renders.
    pub fn spoken(&self) -> Vec<(&'static str, &str)> {
        self.all()
            .into_iter()
            .filter(|(key, text)| !key.starts_with("sms_") && !text.contains('{'))
            .collect()
    }

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
