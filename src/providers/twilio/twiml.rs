//! [`Action`]s → TwiML. Text and attributes are XML-escaped by quick-xml; the document starts
//! with the XML declaration (no blank line before it: Twilio rejects that), and relative paths
//! become absolute URLs under the public base URL.

use std::io::{self, Cursor};

use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::Writer;

use crate::providers::hook::absolute;
use crate::providers::{readings, Action, GatherInput, Hook, Reading, NORMAL_SPEED};

pub const CONTENT_TYPE: &str = "text/xml; charset=utf-8";

/// Where the document's relative paths point, and the voice that speaks its `Say`s.
#[derive(Debug, Clone, Copy)]
pub struct Style<'a> {
    pub base: &'a url::Url,
    /// A named voice (`Polly.Zhiyu-Neural`, `Google.cmn-CN-Wavenet-A`), which takes SSML; empty:
    /// Twilio's default voice for `language`, spoken at its own rate.
    pub voice: &'a str,
    pub language: &'a str,
}

/// Text for a named voice, each run of digits read digit by digit (`<say-as
/// interpret-as="digits">`, see [`readings`]).
fn ssml_text(w: &mut Writer<Cursor<Vec<u8>>>, text: &str) -> io::Result<()> {
    for reading in readings(text) {
        match reading {
            Reading::Words(words) => w.write_event(Event::Text(BytesText::new(words)))?,
            Reading::Digits(run) => {
                w.create_element("say-as")
                    .with_attribute(("interpret-as", "digits"))
                    .write_text_content(BytesText::new(run))?;
            }
        }
    }
    Ok(())
}

/// A whole `<Response>` document.
pub fn render(actions: &[Action], style: &Style<'_>) -> String {
    let mut writer = Writer::new(Cursor::new(Vec::new()));
    write_document(&mut writer, actions, style).expect("writing XML to memory cannot fail");
    String::from_utf8(writer.into_inner().into_inner()).expect("quick-xml writes UTF-8")
}

fn write_document(w: &mut Writer<Cursor<Vec<u8>>>, actions: &[Action], style: &Style<'_>) -> io::Result<()> {
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let response = w.create_element("Response");
    if actions.is_empty() {
        response.write_empty()?;
    } else {
        response.write_inner_content(|w| actions.iter().try_for_each(|a| write_action(w, a, style)))?;
    }
    Ok(())
}

fn write_action(w: &mut Writer<Cursor<Vec<u8>>>, action: &Action, style: &Style<'_>) -> io::Result<()> {
    let base = style.base;
    match action {
        Action::Say {
            text, speed_percent, ..
        } => {
            let mut say = w.create_element("Say");
            if !style.voice.is_empty() {
                say = say.with_attribute(("voice", style.voice));
            }
            let say = say.with_attribute(("language", style.language));
            if style.voice.is_empty() {
                say.write_text_content(BytesText::new(text))?;
            } else if *speed_percent != NORMAL_SPEED {
                // The caller's rate as SSML, which only the named (Polly and Google) voices take.
                say.write_inner_content(|w| {
                    w.create_element("prosody")
                        .with_attribute(("rate", format!("{speed_percent}%").as_str()))
                        .write_inner_content(|w| ssml_text(w, text))
                        .map(|_| ())
                })?;
            } else {
                say.write_inner_content(|w| ssml_text(w, text))?;
            }
        }
        Action::Play { url } => {
            w.create_element("Play")
                .write_text_content(BytesText::new(&absolute(base, url)))?;
        }
        Action::Gather {
            input,
            num_digits,
            timeout_secs,
            finish_on_key,
            action,
            prompts,
            empty_result,
        } => {
            let mut el = w
                .create_element("Gather")
                .with_attribute(("input", gather_input(*input)))
                .with_attribute(("action", absolute(base, &path(action)).as_str()))
                .with_attribute(("method", "POST"))
                .with_attribute(("timeout", timeout_secs.to_string().as_str()));
            if *empty_result {
                el = el.with_attribute(("actionOnEmptyResult", "true"));
            }
            if let Some(n) = num_digits {
                el = el.with_attribute(("numDigits", n.to_string().as_str()));
            }
            if let Some(key) = finish_on_key {
                el = el.with_attribute(("finishOnKey", key.as_str()));
            }
            if matches!(input, GatherInput::Speech | GatherInput::DtmfSpeech) {
                el = el.with_attribute(("language", "zh-CN"));
            }
            el.write_inner_content(|w| prompts.iter().try_for_each(|p| write_action(w, p, style)))?;
        }
        Action::Record {
            action,
            max_length_secs,
            timeout_secs,
            finish_on_key,
            play_beep,
        } => {
            w.create_element("Record")
                .with_attribute(("action", absolute(base, &path(action)).as_str()))
                .with_attribute(("method", "POST"))
                .with_attribute(("maxLength", max_length_secs.to_string().as_str()))
                .with_attribute(("timeout", timeout_secs.to_string().as_str()))
                .with_attribute(("finishOnKey", finish_on_key.as_str()))
                .with_attribute(("playBeep", if *play_beep { "true" } else { "false" }))
                .write_empty()?;
        }
        Action::Dial {
            number,
            caller_id,
            timeout_secs,
            action,
        } => {
            let mut el = w
                .create_element("Dial")
                .with_attribute(("timeout", timeout_secs.to_string().as_str()));
            if let Some(id) = caller_id {
                el = el.with_attribute(("callerId", id.as_str()));
            }
            if let Some(a) = action {
                el = el
                    .with_attribute(("action", absolute(base, &path(a)).as_str()))
                    .with_attribute(("method", "POST"));
            }
            el.write_inner_content(|w| {
                w.create_element("Number").write_text_content(BytesText::new(number))?;
                Ok(())
            })?;
        }
        Action::Conference { room, end_on_exit } => {
            w.create_element("Dial").write_inner_content(|w| {
                w.create_element("Conference")
                    .with_attribute(("beep", "false"))
                    .with_attribute(("startConferenceOnEnter", "true"))
                    .with_attribute(("endConferenceOnExit", if *end_on_exit { "true" } else { "false" }))
                    .write_text_content(BytesText::new(room))?;
                Ok(())
            })?;
        }
        Action::Redirect { to } => {
            w.create_element("Redirect")
                .with_attribute(("method", "POST"))
                .write_text_content(BytesText::new(&absolute(base, &path(to))))?;
        }
        Action::Pause { secs } => {
            w.create_element("Pause")
                .with_attribute(("length", secs.to_string().as_str()))
                .write_empty()?;
        }
        Action::Hangup => {
            w.create_element("Hangup").write_empty()?;
        }
        // Twilio's machine detection is asked for on the call request, and decides before it
        // fetches the leg's TwiML (AnsweredBy).
        Action::Screen { .. } => {}
        Action::Message { body, tracked } => {
            let mut message = w.create_element("Message");
            let report;
            if let Some(id) = tracked {
                // Twilio posts the created message's status reports to `action`.
                report = absolute(base, &format!("/twilio/sms/status?m={id}"));
                message = message.with_attribute(("action", report.as_str()));
            }
            message.write_text_content(BytesText::new(body))?;
        }
    }
    Ok(())
}

fn gather_input(input: GatherInput) -> &'static str {
    match input {
        GatherInput::Dtmf => "dtmf",
        GatherInput::Speech => "speech",
        GatherInput::DtmfSpeech => "dtmf speech",
    }
}

/// The route under which this adapter takes a hook's report.
fn path(hook: &Hook) -> String {
    hook.route("twilio")
}

#[cfg(test)]
mod tests {
    use super::*;

    static BASE: std::sync::LazyLock<url::Url> =
        std::sync::LazyLock::new(|| url::Url::parse("https://hotline.example.org/").unwrap());

    /// Twilio's default voice for zh-CN.
    fn base() -> Style<'static> {
        Style {
            base: &BASE,
            voice: "",
            language: "zh-CN",
        }
    }

    #[test]
    fn paths_keep_the_public_prefix() {
        let base = url::Url::parse("https://proxy.example.org/hotline/").unwrap();
        assert_eq!(
            absolute(&base, "/twilio/voice"),
            "https://proxy.example.org/hotline/twilio/voice"
        );
        assert_eq!(
            absolute(&base, "https://cdn.example.org/a.wav"),
            "https://cdn.example.org/a.wav"
        );
    }

    #[test]
    fn empty_response_is_a_valid_document() {
        assert_eq!(
            render(&[], &base()),
            r#"<?xml version="1.0" encoding="UTF-8"?><Response/>"#
        );
    }

    #[test]
    fn text_is_escaped() {
        let xml = render(
            &[Action::Say {
                text: "A&B <律师> \"x\"".into(),
                key: None,
                speed_percent: 75,
            }],
            &base(),
        );
        assert!(xml.starts_with("<?xml"), "no blank line before the declaration");
        assert!(
            xml.contains(r#"<Say language="zh-CN">A&amp;B &lt;律师&gt; &quot;x&quot;</Say>"#),
            "{xml}"
        );
        roxmltree::Document::parse(&xml).expect("well-formed");
    }

    #[test]
    fn a_named_voice_speaks_at_the_callers_rate() {
        let style = Style {
            voice: "Polly.Zhiyu-Neural",
            language: "cmn-CN",
            ..base()
        };
        let say = |speed_percent| Action::Say {
            text: "法律咨询<1>".into(),
            key: None,
            speed_percent,
        };
        let xml = render(&[say(75), say(NORMAL_SPEED), say(130)], &style);
        let number = Action::Say {
            text: "这里是12348热线，请按1".into(),
            key: None,
            speed_percent: NORMAL_SPEED,
        };
        let numbered = render(&[number], &style);
        assert!(
            numbered.contains(r#"这里是<say-as interpret-as="digits">12348</say-as>热线，请按1</Say>"#),
            "{numbered}"
        );
        roxmltree::Document::parse(&xml).expect("well-formed");
        let open = r#"<Say voice="Polly.Zhiyu-Neural" language="cmn-CN">"#;
        assert!(
            xml.contains(&format!(
                r#"{open}<prosody rate="75%">法律咨询&lt;1&gt;</prosody></Say>"#
            )),
            "{xml}"
        );
        assert!(xml.contains(&format!("{open}法律咨询&lt;1&gt;</Say>")), "{xml}");
        assert!(xml.contains(r#"<prosody rate="130%">"#), "{xml}");
    }

    #[test]
    fn every_verb_renders() {
        let actions = vec![
            Action::Gather {
                input: GatherInput::Dtmf,
                num_digits: Some(1),
                timeout_secs: 10,
                finish_on_key: None,
                action: Hook::Answer { turn: 4 },
                empty_result: true,
                prompts: vec![
                    Action::Say {
                        text: "请按1".into(),
                        key: Some("menu".into()),
                        speed_percent: NORMAL_SPEED,
                    },
                    Action::Play {
                        url: "/audio/a.wav".into(),
                    },
                ],
            },
            Action::Record {
                action: Hook::Recording { turn: 4 },
                max_length_secs: 60,
                timeout_secs: 5,
                finish_on_key: "0123456789*#".into(),
                play_beep: true,
            },
            Action::Dial {
                number: "+862912348".into(),
                caller_id: Some("+862912348".into()),
                timeout_secs: 30,
                action: Some(Hook::Transfer { turn: 4 }),
            },
            Action::Pause { secs: 1 },
            Action::Redirect {
                to: Hook::Resume { key: "k1".into() },
            },
            Action::Message {
                body: "编号 12345678".into(),
                tracked: Some("m1".into()),
            },
            Action::Hangup,
        ];
        let xml = render(&actions, &base());
        let doc = roxmltree::Document::parse(&xml).expect("well-formed");
        let names: Vec<&str> = doc.root_element().children().map(|n| n.tag_name().name()).collect();
        assert_eq!(
            names,
            ["Gather", "Record", "Dial", "Pause", "Redirect", "Message", "Hangup"]
        );
        let gather = doc.root_element().first_child().unwrap();
        assert_eq!(
            gather.attribute("action"),
            Some("https://hotline.example.org/twilio/voice/menu?turn=4")
        );
        assert_eq!(gather.attribute("numDigits"), Some("1"));
        assert_eq!(gather.attribute("actionOnEmptyResult"), Some("true"));
        assert!(
            xml.contains("<Play>https://hotline.example.org/audio/a.wav</Play>"),
            "{xml}"
        );
        assert!(xml.contains(r#"finishOnKey="0123456789*#""#), "{xml}");
        assert!(xml.contains("<Number>+862912348</Number>"), "{xml}");
        let url = |verb: &str, attr: Option<&str>| {
            let n = doc
                .root_element()
                .children()
                .find(|n| n.tag_name().name() == verb)
                .unwrap();
            attr.map_or_else(|| n.text(), |a| n.attribute(a)).map(str::to_owned)
        };
        let at = |path: &str| Some(format!("https://hotline.example.org{path}"));
        assert_eq!(url("Record", Some("action")), at("/twilio/voice/recording?turn=4"));
        assert_eq!(url("Dial", Some("action")), at("/twilio/voice/dial?turn=4"));
        assert_eq!(url("Redirect", None), at("/twilio/voice/resume?d=k1"));
    }
}
