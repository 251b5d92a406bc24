//! [`Action`]s → a jambonz verb document: a JSON array of `{"verb": …}` objects, as
//! `@jambonz/verb-specifications` defines them.
//!
//! Where the two models differ:
//! - a `gather` holds one `say` or one `play` (with several texts or URLs): prompts of one kind
//!   go inside it together; with mixed prompts, all but the last run of one kind play before it;
//! - a `gather` always calls its actionHook, even when nothing was pressed. A wait that should
//!   fall through to what follows (a Twilio `<Gather>` without `actionOnEmptyResult`) carries
//!   the rest of the document in its hook's URL, and the adapter answers a timeout there with it;
//! - a recording is a `listen`: the audio streams to the service's websocket;
//! - every hook URL is sealed (see [`super::signature::Seal`]).

use base64::Engine;
use serde_json::{json, Map, Value};

use super::signature::Seal;
use crate::providers::hook::absolute;
use crate::providers::{readings, Action, GatherInput, Hook, Reading, NORMAL_SPEED};

/// Where the document's URLs point and how it speaks.
pub struct Style<'a> {
    pub base: &'a url::Url,
    pub seal: &'a Seal,
    /// The call the document is for: its listen streams are sealed to it.
    pub call: Option<&'a str>,
    /// The `say` synthesizer, or None for the application's default.
    pub synthesizer: Option<Value>,
    pub recognizer_language: &'a str,
}

/// The query parameter that carries the rest of a document.
pub const REST: &str = "rest";
/// The listen stream's audio: 16-bit PCM at the telephone's own rate.
pub const LISTEN_SAMPLE_RATE: u32 = 8000;

impl Style<'_> {
    /// `path` (with a query) as a sealed absolute URL.
    pub fn sealed(&self, path: &str) -> String {
        self.seal.seal(&absolute(self.base, path))
    }

    fn hook(&self, hook: &Hook) -> String {
        self.sealed(&path(hook))
    }
}

/// The route under which this adapter takes a hook's report.
fn path(hook: &Hook) -> String {
    hook.route("jambonz")
}

/// A whole document.
pub fn render(actions: &[Action], style: &Style<'_>) -> Value {
    let mut verbs = Vec::new();
    for (i, action) in actions.iter().enumerate() {
        let falls_through = matches!(
            action,
            Action::Gather {
                empty_result: false,
                ..
            } | Action::Record { .. }
        );
        if falls_through && i + 1 < actions.len() {
            // Nothing pressed or said goes on with the rest of this document.
            let rest = serde_json::to_string(&render(&actions[i + 1..], style)).expect("JSON values serialise");
            let rest = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rest);
            let with_rest = |hook: &Hook| style.sealed(&format!("{}&{REST}={rest}", path(hook)));
            match action {
                Action::Gather { action: hook, .. } => gather(&mut verbs, action, with_rest(hook), style),
                Action::Record { action: hook, .. } => listen(&mut verbs, action, with_rest(hook), style),
                _ => unreachable!("only a wait falls through"),
            }
            return Value::Array(verbs);
        }
        verb(&mut verbs, action, style);
    }
    Value::Array(verbs)
}

fn verb(verbs: &mut Vec<Value>, action: &Action, style: &Style<'_>) {
    match action {
        Action::Say { .. } | Action::Play { .. } => verbs.push(prompt(std::slice::from_ref(action), style)),
        Action::Gather { action: hook, .. } => gather(verbs, action, style.hook(hook), style),
        Action::Record { action: hook, .. } => listen(verbs, action, style.hook(hook), style),
        Action::Dial {
            number,
            caller_id,
            timeout_secs,
            action,
        } => {
            let mut dial = json!({
                "verb": "dial",
                "target": [{"type": "phone", "number": number}],
                "timeout": timeout_secs,
            });
            if let Some(id) = caller_id {
                dial["callerId"] = json!(id);
            }
            if let Some(hook) = action {
                dial["actionHook"] = json!(style.hook(hook));
            }
            verbs.push(dial);
        }
        Action::Conference { room, end_on_exit } => verbs.push(json!({
            "verb": "conference",
            "name": room,
            "beep": false,
            "startConferenceOnEnter": true,
            "endConferenceOnExit": end_on_exit,
        })),
        Action::Redirect { to } => verbs.push(json!({"verb": "redirect", "actionHook": style.hook(to)})),
        Action::Pause { secs } => verbs.push(json!({"verb": "pause", "length": secs})),
        Action::Hangup => verbs.push(json!({"verb": "hangup"})),
        // jambonz listens to the answered leg and posts its verdicts to the hook.
        Action::Screen { report } => verbs.push(json!({"verb": "config", "amd": {"actionHook": style.hook(report)}})),
        // Texts go through the messaging provider's own webhooks, never a call's document.
        Action::Message { .. } => {}
    }
}

/// A recording as a `listen` streaming to the service, calling `url` when it ends.
fn listen(verbs: &mut Vec<Value>, action: &Action, url: String, style: &Style<'_>) {
    let Action::Record {
        action: hook,
        max_length_secs,
        timeout_secs,
        finish_on_key,
        play_beep,
    } = action
    else {
        unreachable!("listen() is given a Record");
    };
    let turn = match hook {
        Hook::Recording { turn } | Hook::Answer { turn } | Hook::Transfer { turn } => *turn,
        Hook::Resume { .. } | Hook::Screening { .. } => 0,
    };
    let call = style.call.unwrap_or_default();
    let stream = style
        .sealed(&format!("{}?turn={turn}&call={call}", super::listen::PATH))
        .replacen("http", "ws", 1);
    let mut listen = json!({
        "verb": "listen",
        "url": stream,
        "actionHook": url,
        "maxLength": max_length_secs,
        "timeout": timeout_secs,
        "playBeep": play_beep,
        "sampleRate": LISTEN_SAMPLE_RATE,
        "mixType": "mono",
    });
    if !finish_on_key.is_empty() {
        listen["finishOnKey"] = json!(finish_on_key);
    }
    verbs.push(listen);
}

/// A `gather` calling `url`, its prompts inside (see the module notes for mixed prompts).
fn gather(verbs: &mut Vec<Value>, action: &Action, url: String, style: &Style<'_>) {
    let Action::Gather {
        input,
        num_digits,
        timeout_secs,
        finish_on_key,
        prompts,
        ..
    } = action
    else {
        unreachable!("gather() is given a Gather");
    };
    let input = match input {
        GatherInput::Dtmf => json!(["digits"]),
        GatherInput::Speech => json!(["speech"]),
        GatherInput::DtmfSpeech => json!(["digits", "speech"]),
    };
    let mut gather = json!({
        "verb": "gather",
        "input": input,
        "actionHook": url,
        "timeout": timeout_secs,
        "dtmfBargein": true,
        "listenDuringPrompt": true,
    });
    if let Some(n) = num_digits {
        gather["numDigits"] = json!(n);
    }
    if let Some(key) = finish_on_key.as_deref().filter(|k| !k.is_empty()) {
        gather["finishOnKey"] = json!(key);
    }
    if gather["input"].as_array().is_some_and(|i| i.contains(&json!("speech"))) {
        gather["recognizer"] = json!({"vendor": "default", "language": style.recognizer_language});
    }
    let last_kind = prompts
        .iter()
        .rposition(|p| !same_kind(p, prompts.last().expect("not empty")));
    let (before, inside) = match (prompts.is_empty(), last_kind) {
        (true, _) => (&prompts[..0], &prompts[..0]),
        (false, Some(i)) => prompts.split_at(i + 1),
        (false, None) => (&prompts[..0], &prompts[..]),
    };
    for p in before {
        verb(verbs, p, style);
    }
    if let Some(first) = inside.first() {
        let mut nested = prompt(inside, style);
        let name = if matches!(first, Action::Play { .. }) {
            "play"
        } else {
            "say"
        };
        nested.as_object_mut().expect("an object").remove("verb");
        gather[name] = nested;
    }
    verbs.push(gather);
}

fn same_kind(a: &Action, b: &Action) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

/// One `say` (texts) or `play` (URLs) of prompts all of one kind.
fn prompt(prompts: &[Action], style: &Style<'_>) -> Value {
    let mut texts = Vec::new();
    let mut urls = Vec::new();
    for p in prompts {
        match p {
            Action::Say {
                text, speed_percent, ..
            } => texts.push(ssml(text, *speed_percent)),
            Action::Play { url } => urls.push(absolute(style.base, url)),
            other => unreachable!("only prompts play inside a gather, not {other:?}"),
        }
    }
    let one_or_many = |mut v: Vec<String>| {
        if v.len() == 1 {
            json!(v.remove(0))
        } else {
            json!(v)
        }
    };
    if urls.is_empty() {
        let mut say = Map::new();
        say.insert("verb".into(), json!("say"));
        say.insert("text".into(), one_or_many(texts));
        if let Some(synth) = &style.synthesizer {
            say.insert("synthesizer".into(), synth.clone());
        }
        Value::Object(say)
    } else {
        json!({"verb": "play", "url": one_or_many(urls)})
    }
}

/// A text as SSML for the application's voice: each run of digits read digit by digit
/// (`<say-as interpret-as="digits">`, see [`readings`]), at the caller's rate (`<prosody>`)
/// when it is not the normal one. Plain text when neither applies.
fn ssml(text: &str, speed_percent: u16) -> String {
    let readings = readings(text);
    let has_digits = readings.iter().any(|r| matches!(r, Reading::Digits(_)));
    if speed_percent == NORMAL_SPEED && !has_digits {
        return text.to_owned();
    }
    let mut inner = String::new();
    for reading in readings {
        match reading {
            Reading::Words(words) => inner.push_str(&quick_xml::escape::escape(words)),
            Reading::Digits(run) => inner.push_str(&format!("<say-as interpret-as=\"digits\">{run}</say-as>")),
        }
    }
    if speed_percent == NORMAL_SPEED {
        format!("<speak>{inner}</speak>")
    } else {
        format!("<speak><prosody rate=\"{speed_percent}%\">{inner}</prosody></speak>")
    }
}

#[cfg(test)]
mod tests {
    use super::ssml;

    #[test]
    fn the_service_number_is_read_digit_by_digit_at_the_callers_rate() {
        assert_eq!(ssml("请按1", 100), "请按1");
        assert_eq!(
            ssml("这里是12348热线", 100),
            r#"<speak>这里是<say-as interpret-as="digits">12348</say-as>热线</speak>"#
        );
        assert_eq!(
            ssml("A&B 12348", 75),
            r#"<speak><prosody rate="75%">A&amp;B <say-as interpret-as="digits">12348</say-as></prosody></speak>"#
        );
    }
}
