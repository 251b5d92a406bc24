//! Reading TwiML back, as the provider does: the verbs of a `<Response>`, with the attributes
//! the simulator follows.

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

#[derive(Debug, Clone, PartialEq)]
pub enum Verb {
    Say(String),
    Play(String),
    Pause,
    Gather {
        action: String,
        /// `actionOnEmptyResult`: the action is called even when no key was pressed.
        on_empty: bool,
        prompts: Vec<Verb>,
    },
    Record {
        action: String,
    },
    Dial {
        number: String,
        action: Option<String>,
    },
    Redirect(String),
    Hangup,
    Message(String),
}

#[derive(Debug, thiserror::Error)]
pub enum TwimlError {
    #[error("not well-formed XML: {0}")]
    Xml(#[from] quick_xml::Error),
    #[error("<{0}> has no {1}")]
    Missing(String, &'static str),
    #[error("unknown verb <{0}>")]
    Unknown(String),
}

/// The verbs of a document, in order.
pub fn parse(xml: &str) -> Result<Vec<Verb>, TwimlError> {
    // Text is kept whole (entity references split it) and trimmed per verb.
    let mut reader = Reader::from_str(xml);
    let mut stack: Vec<Open> = Vec::new();
    let mut verbs = Vec::new();
    loop {
        match reader.read_event()? {
            Event::Start(e) => stack.push(Open {
                name: name(&e),
                attrs: attributes(&e),
                text: String::new(),
                children: Vec::new(),
            }),
            Event::Empty(e) => {
                let verb = verb(&name(&e), &attributes(&e), String::new(), Vec::new())?;
                push(&mut stack, &mut verbs, verb);
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.decode().map_err(quick_xml::Error::from)?);
                }
            }
            Event::GeneralRef(r) => {
                if let Some(top) = stack.last_mut() {
                    if let Ok(Some(c)) = r.resolve_char_ref() {
                        top.text.push(c);
                        continue;
                    }
                    let text = match r.decode().map_err(quick_xml::Error::from)?.as_ref() {
                        "amp" => "&",
                        "lt" => "<",
                        "gt" => ">",
                        "quot" => "\"",
                        "apos" => "'",
                        _ => "",
                    };
                    top.text.push_str(text);
                }
            }
            Event::End(_) => {
                let Open {
                    name,
                    attrs,
                    text,
                    children,
                } = stack.pop().expect("the reader checks nesting");
                match name.as_str() {
                    "Response" => {}
                    // <Number> or <Conference> inside <Dial>: its text is what is dialled.
                    "Number" | "Conference" => {
                        if let Some(top) = stack.last_mut() {
                            top.text = text;
                        }
                    }
                    // SSML inside <Say> (<prosody rate>, <say-as>): its text is what is said.
                    "prosody" | "say-as" => {
                        if let Some(top) = stack.last_mut() {
                            top.text.push_str(&text);
                        }
                    }
                    _ => {
                        let verb = verb(&name, &attrs, text, children)?;
                        push(&mut stack, &mut verbs, verb);
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(verbs)
}

/// An element being read: its name, attributes, text and the verbs inside it.
struct Open {
    name: String,
    attrs: Vec<(String, String)>,
    text: String,
    children: Vec<Verb>,
}

fn push(stack: &mut [Open], verbs: &mut Vec<Verb>, verb: Verb) {
    match stack.last_mut() {
        Some(parent) if parent.name != "Response" => parent.children.push(verb),
        _ => verbs.push(verb),
    }
}

fn name(e: &BytesStart<'_>) -> String {
    String::from_utf8_lossy(e.name().as_ref()).into_owned()
}

fn attributes(e: &BytesStart<'_>) -> Vec<(String, String)> {
    e.attributes()
        .flatten()
        .map(|a| {
            let value = a.unescape_value().map(|v| v.into_owned()).unwrap_or_default();
            (String::from_utf8_lossy(a.key.as_ref()).into_owned(), value)
        })
        .collect()
}

fn verb(name: &str, attrs: &[(String, String)], text: String, children: Vec<Verb>) -> Result<Verb, TwimlError> {
    let attr = |key: &str| attrs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let required = |key: &'static str| attr(key).ok_or_else(|| TwimlError::Missing(name.to_owned(), key));
    let text = text.trim().to_owned();
    Ok(match name {
        "Say" => Verb::Say(text),
        "Play" => Verb::Play(text),
        "Pause" => Verb::Pause,
        "Gather" => Verb::Gather {
            action: required("action")?,
            on_empty: attr("actionOnEmptyResult").as_deref() == Some("true"),
            prompts: children,
        },
        "Record" => Verb::Record {
            action: required("action")?,
        },
        "Dial" => Verb::Dial {
            number: text,
            action: attr("action"),
        },
        "Redirect" => Verb::Redirect(text),
        "Hangup" => Verb::Hangup,
        "Message" => Verb::Message(text),
        other => return Err(TwimlError::Unknown(other.to_owned())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::{Action, GatherInput};

    #[test]
    fn reads_back_what_the_service_writes() {
        let base = url::Url::parse("https://h.example").unwrap();
        let actions = vec![
            Action::Gather {
                input: GatherInput::Dtmf,
                num_digits: Some(1),
                timeout_secs: 10,
                finish_on_key: None,
                action: crate::providers::Hook::Answer { turn: 1 },
                prompts: vec![Action::Say {
                    text: "12348：法律咨询，请按1 & <更多>".into(),
                    key: None,
                    speed_percent: 75,
                }],
                empty_result: true,
            },
            Action::Dial {
                number: "+862912348".into(),
                caller_id: None,
                timeout_secs: 30,
                action: None,
            },
            Action::Hangup,
        ];
        let verbs = parse(&crate::providers::twilio::twiml::render(
            &actions,
            &crate::providers::twilio::twiml::Style {
                base: &base,
                voice: "Polly.Zhiyu-Neural",
                language: "cmn-CN",
            },
        ))
        .unwrap();
        assert_eq!(
            verbs,
            [
                Verb::Gather {
                    action: "https://h.example/twilio/voice/menu?turn=1".into(),
                    on_empty: true,
                    prompts: vec![Verb::Say("12348：法律咨询，请按1 & <更多>".into())],
                },
                Verb::Dial {
                    number: "+862912348".into(),
                    action: None
                },
                Verb::Hangup,
            ]
        );
        assert!(parse("<Response><Teleport/></Response>").is_err());
    }
}
