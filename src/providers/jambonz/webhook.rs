//! jambonz webhook bodies (JSON) → [`InboundEvent`].
//!
//! Every webhook carries the call's attributes: `call_sid` (a UUID), `direction` (`inbound`,
//! `outbound`), `from`, `to`, `call_status` (`trying`, `ringing`, `early-media`, `in-progress`,
//! `completed`, `failed`, `busy`, `no-answer`), `sip_status`, `account_sid`, `application_sid`…
//! and, by webhook:
//! - a gather's actionHook: `reason` (`dtmfDetected`, `speechDetected`, `timeout`…), `digits`,
//!   `speech.alternatives[0].transcript`;
//! - a dial's actionHook: `dial_call_status`, `dial_sip_status`, `dial_call_sid`;
//! - the call status hook: `call_status`, `duration`;
//! - a listen's actionHook: the call attributes, and `digits` when a key ended it.
//!
//! A listen's audio comes over its websocket ([`super::listen`]); the recording is what that
//! stream left, so it is found by the reader of the hook, not here.

use serde_json::Value;

use crate::providers::{CallStatus, Direction, InboundEvent, Leg, WebhookKind};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WebhookError {
    #[error("the body is not a JSON object")]
    NotObject,
    #[error("the webhook has no {0}")]
    Missing(&'static str),
    #[error("the field {field} is invalid: {reason}")]
    Invalid { field: &'static str, reason: &'static str },
    #[error("jambonz sends no {0} webhook")]
    Unsupported(&'static str),
}

/// What a recording hook found of the listen's audio.
pub struct Found {
    pub url: Option<String>,
    pub duration_secs: Option<u32>,
}

/// The call a webhook is about.
pub fn call_sid(body: &Value) -> Result<String, WebhookError> {
    Hook(body.as_object().ok_or(WebhookError::NotObject)?).sid("call_sid")
}

/// The typed event of one webhook; other fields are ignored here (the body is stored).
pub fn parse_event(
    kind: WebhookKind,
    body: &Value,
    recording: impl FnOnce(&str) -> Found,
) -> Result<InboundEvent, WebhookError> {
    let hook = Hook(body.as_object().ok_or(WebhookError::NotObject)?);
    let call_sid = hook.sid("call_sid")?;
    let leg = |lawyer| if lawyer { Leg::Lawyer } else { Leg::Caller };
    Ok(match kind {
        WebhookKind::VoiceIncoming => InboundEvent::CallStarted {
            from: hook.text("from").unwrap_or_default().to_owned(),
            to: hook.text("to").unwrap_or_default().to_owned(),
            call_sid,
        },
        WebhookKind::VoiceGather => InboundEvent::KeysGathered {
            digits: hook.keys("digits")?.unwrap_or_default(),
            speech: hook.transcript(),
            call_sid,
        },
        WebhookKind::VoiceRecording => {
            let found = recording(&call_sid);
            InboundEvent::RecordingReady {
                recording_url: found.url,
                duration_secs: found.duration_secs,
                digits: hook.keys("digits")?.filter(|d| !d.is_empty()),
                call_sid,
            }
        }
        WebhookKind::VoiceDial => InboundEvent::DialFinished {
            status: call_status(hook.require("dial_call_status")?),
            call_sid,
        },
        WebhookKind::VoiceStatus => InboundEvent::CallStatusChanged {
            status: call_status(hook.require("call_status")?),
            duration_secs: hook.number("duration")?,
            from: hook.text("from").filter(|f| !f.is_empty()).map(str::to_owned),
            to: hook.text("to").filter(|t| !t.is_empty()).map(str::to_owned),
            direction: match hook.text("direction") {
                Some(d) if d.starts_with("outbound") => Direction::Outbound,
                _ => Direction::Inbound,
            },
            call_sid,
        },
        WebhookKind::CallbackLawyer | WebhookKind::CallbackCaller => InboundEvent::CallbackAnswered {
            leg: leg(kind == WebhookKind::CallbackLawyer),
            answered_by: hook.text("answered_by").filter(|a| !a.is_empty()).map(str::to_owned),
            call_sid,
        },
        WebhookKind::CallbackScreened => InboundEvent::CallbackScreened {
            answered_by: verdict(hook.require("type")?).to_owned(),
            call_sid,
        },
        WebhookKind::CallbackLawyerStatus | WebhookKind::CallbackCallerStatus => InboundEvent::CallbackStatus {
            leg: leg(kind == WebhookKind::CallbackLawyerStatus),
            status: call_status(hook.require("call_status")?),
            call_sid,
        },
        WebhookKind::VoiceFallback | WebhookKind::SmsIncoming | WebhookKind::SmsStatus => {
            return Err(WebhookError::Unsupported(kind.as_str()))
        }
    })
}

/// An answering-machine event (`amd_machine_detected`, `amd_human_detected`, …) as a verdict:
/// a greeting too long for a person, or a tone, is a machine; no speech, no decision in time, or
/// the end of a machine's greeting already reported decide nothing.
fn verdict(event: &str) -> &'static str {
    match event {
        "amd_machine_detected" | "amd_tone_detected" => "machine",
        "amd_human_detected" => "human",
        _ => "unknown",
    }
}

struct Hook<'a>(&'a serde_json::Map<String, Value>);

impl Hook<'_> {
    fn text(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(Value::as_str)
    }

    fn require(&self, name: &'static str) -> Result<&str, WebhookError> {
        self.text(name)
            .filter(|v| !v.is_empty())
            .ok_or(WebhookError::Missing(name))
    }

    /// jambonz's ids are UUIDs; letters, digits, `-` and `_`, at most 64.
    fn sid(&self, name: &'static str) -> Result<String, WebhookError> {
        let sid = self.require(name)?;
        let ok = sid.len() <= 64 && sid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| sid.to_owned()).ok_or(WebhookError::Invalid {
            field: name,
            reason: "expected at most 64 letters, digits, '-' or '_'",
        })
    }

    fn number(&self, name: &'static str) -> Result<Option<u32>, WebhookError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                .map(|n| Some(n.min(u64::from(u32::MAX)) as u32))
                .ok_or(WebhookError::Invalid {
                    field: name,
                    reason: "expected a whole number",
                }),
        }
    }

    /// Keypad input: digits, `*`, `#`, and the A–D some SIP phones send (a wrong key to every
    /// menu, said so, rather than a refused webhook that would drop the call).
    fn keys(&self, name: &'static str) -> Result<Option<String>, WebhookError> {
        let key = |b: u8| b.is_ascii_digit() || b"*#ABCDabcd".contains(&b);
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(v)) if v.len() <= 64 && v.bytes().all(key) => Ok(Some(v.to_ascii_uppercase())),
            Some(_) => Err(WebhookError::Invalid {
                field: name,
                reason: "expected keypad keys 0-9, *, # or A-D",
            }),
        }
    }

    /// The best transcript of a gather that took speech.
    fn transcript(&self) -> Option<String> {
        let speech = self.0.get("speech")?;
        let alternatives = speech
            .get("alternatives")
            .or_else(|| speech.pointer("/transcripts/0/alternatives"))?;
        alternatives
            .pointer("/0/transcript")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
    }
}

/// jambonz's `call_status` and `dial_call_status` values.
fn call_status(value: &str) -> CallStatus {
    match value {
        "queued" | "trying" => CallStatus::Queued,
        "ringing" | "early-media" => CallStatus::Ringing,
        "in-progress" => CallStatus::InProgress,
        "completed" => CallStatus::Completed,
        "busy" => CallStatus::Busy,
        "no-answer" => CallStatus::NoAnswer,
        "failed" => CallStatus::Failed,
        "canceled" | "cancelled" => CallStatus::Canceled,
        _ => CallStatus::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn none(_: &str) -> Found {
        Found {
            url: None,
            duration_secs: None,
        }
    }

    #[test]
    fn gathers_give_keys_and_speech() {
        let body = json!({"call_sid": "9fb35c28-9688-4531-943c-e280b04f3adf", "reason": "speechDetected", "digits": "",
            "speech": {"is_final": true, "alternatives": [{"confidence": 0.9, "transcript": " 申请法律援助 "}]}});
        let event = parse_event(WebhookKind::VoiceGather, &body, none).unwrap();
        assert_eq!(
            event,
            InboundEvent::KeysGathered {
                call_sid: "9fb35c28-9688-4531-943c-e280b04f3adf".into(),
                digits: String::new(),
                speech: Some("申请法律援助".into()),
            }
        );
        let letter = json!({"call_sid": "a", "digits": "a"});
        assert!(matches!(
            parse_event(WebhookKind::VoiceGather, &letter, none),
            Ok(InboundEvent::KeysGathered { digits, .. }) if digits == "A"
        ));
        let bad = json!({"call_sid": "a", "digits": "1<"});
        assert!(matches!(
            parse_event(WebhookKind::VoiceGather, &bad, none),
            Err(WebhookError::Invalid { field: "digits", .. })
        ));
        assert_eq!(
            parse_event(WebhookKind::VoiceGather, &json!({"digits": "1"}), none),
            Err(WebhookError::Missing("call_sid"))
        );
        assert_eq!(
            parse_event(WebhookKind::VoiceGather, &json!([1]), none),
            Err(WebhookError::NotObject)
        );
    }

    #[test]
    fn statuses_map_onto_the_neutral_ones() {
        let body = json!({"call_sid": "a", "call_status": "no-answer", "duration": 0, "direction": "outbound"});
        assert_eq!(
            parse_event(WebhookKind::CallbackCallerStatus, &body, none).unwrap(),
            InboundEvent::CallbackStatus {
                call_sid: "a".into(),
                leg: Leg::Caller,
                status: CallStatus::NoAnswer
            }
        );
        let status = parse_event(WebhookKind::VoiceStatus, &body, none).unwrap();
        assert!(matches!(
            status,
            InboundEvent::CallStatusChanged {
                status: CallStatus::NoAnswer,
                duration_secs: Some(0),
                direction: Direction::Outbound,
                ..
            }
        ));
    }
}
