//! Twilio webhook bodies → [`InboundEvent`].
//!
//! Sample bodies (form-encoded, shown decoded):
//! - incoming call: `CallSid=CA…&AccountSid=AC…&From=+8613800138000&To=+862912348&CallStatus=ringing&Direction=inbound&ApiVersion=2010-04-01`
//! - gather action: the same plus `Digits=1` (empty when nothing was pressed), `SpeechResult`, `Confidence`
//! - record action: plus `RecordingUrl=https://api.twilio.com/…/RE…`, `RecordingDuration=7`, `Digits=hangup`
//! - dial action: plus `DialCallStatus=completed`, `DialCallSid`, `DialCallDuration`
//! - status callback: the call's `From`, `To`, `Direction` plus `CallStatus=completed&CallDuration=42&Timestamp=…&SequenceNumber=3`;
//!   they come in any order, even before the incoming call's webhook
//! - fallback: the original parameters plus `ErrorCode=11200&ErrorUrl=…`
//! - incoming SMS: `MessageSid=SM…&From=…&To=…&Body=…&NumSegments=1`
//! - SMS status: `MessageSid=SM…&MessageStatus=delivered&ErrorCode=30003`
//! - an outbound callback leg answered: `CallSid=CA…&CallStatus=in-progress&Direction=outbound-api&AnsweredBy=human`

use percent_encoding::percent_decode;

use crate::providers::{CallStatus, Direction, InboundEvent, Leg, MessageStatus, WebhookKind};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WebhookError {
    #[error("the body must be application/x-www-form-urlencoded")]
    NotForm,
    #[error("the form body is not valid UTF-8 after percent-decoding")]
    Encoding,
    #[error("the form has no {0}")]
    Missing(&'static str),
    #[error("the form field {field} is invalid: {reason}")]
    Invalid { field: &'static str, reason: &'static str },
    #[error("Twilio sends no {0} webhook")]
    Unsupported(&'static str),
}

/// Strict `application/x-www-form-urlencoded` decoding: every pair kept, in order, repeated
/// names included; invalid UTF-8 is an error rather than silently replaced.
pub fn parse_form(body: &[u8]) -> Result<Vec<(String, String)>, WebhookError> {
    body.split(|b| *b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let mut it = pair.splitn(2, |b| *b == b'=');
            let name = decode(it.next().unwrap_or_default())?;
            let value = decode(it.next().unwrap_or_default())?;
            Ok((name, value))
        })
        .collect()
}

fn decode(raw: &[u8]) -> Result<String, WebhookError> {
    let plus_as_space: Vec<u8> = raw.iter().map(|b| if *b == b'+' { b' ' } else { *b }).collect();
    percent_decode(&plus_as_space)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| WebhookError::Encoding)
}

/// The typed event of one webhook; unknown fields are ignored here (the raw form is stored).
pub fn parse_event(kind: WebhookKind, params: &[(String, String)]) -> Result<InboundEvent, WebhookError> {
    let form = Form(params);
    Ok(match kind {
        WebhookKind::VoiceIncoming => InboundEvent::CallStarted {
            call_sid: form.sid("CallSid")?,
            from: form.get("From").unwrap_or_default().to_owned(),
            to: form.get("To").unwrap_or_default().to_owned(),
        },
        WebhookKind::VoiceGather => InboundEvent::KeysGathered {
            call_sid: form.sid("CallSid")?,
            digits: form.keys("Digits")?.unwrap_or_default(),
            speech: form.get("SpeechResult").filter(|s| !s.is_empty()).map(str::to_owned),
        },
        WebhookKind::VoiceRecording => InboundEvent::RecordingReady {
            call_sid: form.sid("CallSid")?,
            recording_url: form.get("RecordingUrl").filter(|u| !u.is_empty()).map(str::to_owned),
            // Twilio reports -1 or nothing for a recording that holds nothing.
            duration_secs: form
                .get("RecordingDuration")
                .and_then(|d| d.parse::<i64>().ok())
                .map(|d| d.clamp(0, i64::from(u32::MAX)) as u32),
            digits: form.get("Digits").filter(|d| !d.is_empty()).map(str::to_owned),
        },
        WebhookKind::VoiceDial => InboundEvent::DialFinished {
            call_sid: form.sid("CallSid")?,
            status: call_status(form.require("DialCallStatus")?),
        },
        WebhookKind::VoiceStatus => InboundEvent::CallStatusChanged {
            call_sid: form.sid("CallSid")?,
            status: call_status(form.require("CallStatus")?),
            duration_secs: form.number("CallDuration")?,
            from: form.get("From").filter(|f| !f.is_empty()).map(str::to_owned),
            to: form.get("To").filter(|t| !t.is_empty()).map(str::to_owned),
            // inbound, outbound-api (placed through the REST API) or outbound-dial (a Dial).
            direction: match form.get("Direction") {
                Some(d) if d.starts_with("outbound") => Direction::Outbound,
                _ => Direction::Inbound,
            },
        },
        WebhookKind::VoiceFallback => InboundEvent::VoiceFallback {
            call_sid: form.sid("CallSid")?,
            error_code: form.get("ErrorCode").map(str::to_owned),
        },
        WebhookKind::CallbackLawyer | WebhookKind::CallbackCaller => InboundEvent::CallbackAnswered {
            call_sid: form.sid("CallSid")?,
            leg: if kind == WebhookKind::CallbackLawyer {
                Leg::Lawyer
            } else {
                Leg::Caller
            },
            answered_by: form.get("AnsweredBy").filter(|a| !a.is_empty()).map(str::to_owned),
        },
        WebhookKind::CallbackLawyerStatus | WebhookKind::CallbackCallerStatus => InboundEvent::CallbackStatus {
            call_sid: form.sid("CallSid")?,
            leg: if kind == WebhookKind::CallbackLawyerStatus {
                Leg::Lawyer
            } else {
                Leg::Caller
            },
            status: call_status(form.require("CallStatus")?),
        },
        // Twilio's verdict comes with the answered leg (AnsweredBy), never on its own.
        WebhookKind::CallbackScreened => return Err(WebhookError::Unsupported(kind.as_str())),
        WebhookKind::SmsIncoming => InboundEvent::SmsReceived {
            message_sid: form.message_sid()?,
            from: form.require("From")?.to_owned(),
            to: form.get("To").unwrap_or_default().to_owned(),
            body: form.get("Body").unwrap_or_default().to_owned(),
        },
        WebhookKind::SmsStatus => InboundEvent::SmsStatusChanged {
            message_sid: form.message_sid()?,
            status: message_status(
                form.get("MessageStatus")
                    .or_else(|| form.get("SmsStatus"))
                    .ok_or(WebhookError::Missing("MessageStatus"))?,
            ),
            error_code: form.get("ErrorCode").filter(|c| !c.is_empty()).map(str::to_owned),
        },
    })
}

struct Form<'a>(&'a [(String, String)]);

impl Form<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    fn require(&self, name: &'static str) -> Result<&str, WebhookError> {
        self.get(name)
            .filter(|v| !v.is_empty())
            .ok_or(WebhookError::Missing(name))
    }

    /// Provider ids: Twilio's `CA` + 32 hex, SignalWire's UUIDs. Letters, digits, `-`, `_`.
    fn sid(&self, name: &'static str) -> Result<String, WebhookError> {
        let sid = self.require(name)?;
        let ok = sid.len() <= 64 && sid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(sid.to_owned())
        } else {
            Err(WebhookError::Invalid {
                field: name,
                reason: "expected at most 64 letters, digits, '-' or '_'",
            })
        }
    }

    fn message_sid(&self) -> Result<String, WebhookError> {
        match self.get("MessageSid") {
            Some(_) => self.sid("MessageSid"),
            None => self.sid("SmsSid"),
        }
    }

    fn number(&self, name: &'static str) -> Result<Option<u32>, WebhookError> {
        match self.get(name).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| WebhookError::Invalid {
                field: name,
                reason: "expected a whole number",
            }),
        }
    }

    /// Keypad input: digits, `*` and `#` only.
    fn keys(&self, name: &'static str) -> Result<Option<String>, WebhookError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) if v.len() <= 64 && v.bytes().all(|b| b.is_ascii_digit() || b == b'*' || b == b'#') => {
                Ok(Some(v.to_owned()))
            }
            Some(_) => Err(WebhookError::Invalid {
                field: name,
                reason: "expected keypad keys 0-9, * or #",
            }),
        }
    }
}

/// Twilio's `CallStatus` and `DialCallStatus` values.
fn call_status(value: &str) -> CallStatus {
    match value {
        "queued" | "initiated" => CallStatus::Queued,
        "ringing" => CallStatus::Ringing,
        "in-progress" | "answered" => CallStatus::InProgress,
        "completed" => CallStatus::Completed,
        "busy" => CallStatus::Busy,
        "no-answer" => CallStatus::NoAnswer,
        "failed" => CallStatus::Failed,
        "canceled" => CallStatus::Canceled,
        _ => CallStatus::Unknown,
    }
}

/// Twilio's `MessageStatus` values.
fn message_status(value: &str) -> MessageStatus {
    match value {
        "accepted" | "scheduled" | "queued" | "sending" => MessageStatus::Queued,
        "sent" => MessageStatus::Sent,
        "delivered" | "read" => MessageStatus::Delivered,
        "undelivered" => MessageStatus::Undelivered,
        "failed" | "canceled" => MessageStatus::Failed,
        "receiving" | "received" => MessageStatus::Received,
        _ => MessageStatus::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SID: &str = "CA0123456789abcdef0123456789abcdef";

    #[test]
    fn form_decoding_keeps_repeats_order_and_chinese() {
        let form = parse_form(b"A=1&B=%E5%BE%8B%E5%B8%88&A=2&Empty=&Plus=a+b").unwrap();
        let expect = [("A", "1"), ("B", "律师"), ("A", "2"), ("Empty", ""), ("Plus", "a b")];
        let got: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(got, expect);
    }

    #[test]
    fn invalid_utf8_is_an_error() {
        assert_eq!(parse_form(b"Body=%FF%FE"), Err(WebhookError::Encoding));
    }

    #[test]
    fn events_are_typed_and_unknown_fields_ignored() {
        let form = parse_form(
            format!("CallSid={SID}&From=%2B8613800138000&To=%2B862912348&FutureField=x&CallStatus=ringing").as_bytes(),
        )
        .unwrap();
        assert_eq!(
            parse_event(WebhookKind::VoiceIncoming, &form).unwrap(),
            InboundEvent::CallStarted {
                call_sid: SID.into(),
                from: "+8613800138000".into(),
                to: "+862912348".into()
            }
        );
    }

    #[test]
    fn table_of_webhooks() {
        let cases: &[(WebhookKind, &str, Result<InboundEvent, WebhookError>)] = &[
            (
                WebhookKind::VoiceGather,
                "CallSid=CA1&Digits=",
                Ok(InboundEvent::KeysGathered {
                    call_sid: "CA1".into(),
                    digits: "".into(),
                    speech: None,
                }),
            ),
            (
                WebhookKind::VoiceGather,
                "CallSid=CA1&Digits=1%2A&SpeechResult=%E5%BE%8B%E5%B8%88",
                Ok(InboundEvent::KeysGathered {
                    call_sid: "CA1".into(),
                    digits: "1*".into(),
                    speech: Some("律师".into()),
                }),
            ),
            (
                WebhookKind::VoiceGather,
                "CallSid=CA1&Digits=abc",
                Err(WebhookError::Invalid {
                    field: "Digits",
                    reason: "expected keypad keys 0-9, * or #",
                }),
            ),
            (
                WebhookKind::VoiceGather,
                "Digits=1",
                Err(WebhookError::Missing("CallSid")),
            ),
            (
                WebhookKind::VoiceIncoming,
                "CallSid=CA%3Cscript%3E",
                Err(WebhookError::Invalid {
                    field: "CallSid",
                    reason: "expected at most 64 letters, digits, '-' or '_'",
                }),
            ),
            (
                WebhookKind::VoiceStatus,
                "CallSid=CA1&CallStatus=no-answer&CallDuration=0",
                Ok(InboundEvent::CallStatusChanged {
                    call_sid: "CA1".into(),
                    status: CallStatus::NoAnswer,
                    duration_secs: Some(0),
                    from: None,
                    to: None,
                    direction: Direction::Inbound,
                }),
            ),
            (
                WebhookKind::VoiceStatus,
                "CallSid=CA1&CallStatus=ringing&From=%2B8613800138000&To=%2B862912348&Direction=outbound-api&SequenceNumber=1",
                Ok(InboundEvent::CallStatusChanged {
                    call_sid: "CA1".into(),
                    status: CallStatus::Ringing,
                    duration_secs: None,
                    from: Some("+8613800138000".into()),
                    to: Some("+862912348".into()),
                    direction: Direction::Outbound,
                }),
            ),
            (
                WebhookKind::VoiceStatus,
                "CallSid=CA1&CallStatus=completed&CallDuration=ten",
                Err(WebhookError::Invalid {
                    field: "CallDuration",
                    reason: "expected a whole number",
                }),
            ),
            (
                WebhookKind::VoiceRecording,
                "CallSid=CA1&RecordingUrl=https%3A%2F%2Fapi.twilio.com%2Fr%2FRE1&RecordingDuration=7&Digits=hangup",
                Ok(InboundEvent::RecordingReady {
                    call_sid: "CA1".into(),
                    recording_url: Some("https://api.twilio.com/r/RE1".into()),
                    duration_secs: Some(7),
                    digits: Some("hangup".into()),
                }),
            ),
            (
                WebhookKind::VoiceDial,
                "CallSid=CA1&DialCallStatus=busy",
                Ok(InboundEvent::DialFinished {
                    call_sid: "CA1".into(),
                    status: CallStatus::Busy,
                }),
            ),
            (
                WebhookKind::VoiceFallback,
                "CallSid=CA1&ErrorCode=11200",
                Ok(InboundEvent::VoiceFallback {
                    call_sid: "CA1".into(),
                    error_code: Some("11200".into()),
                }),
            ),
            (
                WebhookKind::SmsIncoming,
                "MessageSid=SM1&From=%2B8613800138000&To=%2B8610&Body=%E4%BD%A0%E5%A5%BD",
                Ok(InboundEvent::SmsReceived {
                    message_sid: "SM1".into(),
                    from: "+8613800138000".into(),
                    to: "+8610".into(),
                    body: "你好".into(),
                }),
            ),
            (
                WebhookKind::SmsStatus,
                "SmsSid=SM1&SmsStatus=undelivered&ErrorCode=30003",
                Ok(InboundEvent::SmsStatusChanged {
                    message_sid: "SM1".into(),
                    status: MessageStatus::Undelivered,
                    error_code: Some("30003".into()),
                }),
            ),
            (
                WebhookKind::SmsStatus,
                "MessageSid=SM1",
                Err(WebhookError::Missing("MessageStatus")),
            ),
        ];
        for (kind, body, expected) in cases {
            let form = parse_form(body.as_bytes()).unwrap();
            assert_eq!(&parse_event(*kind, &form), expected, "{kind:?} {body}");
        }
    }

    proptest::proptest! {
        /// Whatever arrives, decoding and parsing answer Ok or a typed error; never a panic.
        #[test]
        fn arbitrary_bodies_never_panic(body in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            if let Ok(form) = parse_form(&body) {
                for kind in [
                    WebhookKind::VoiceIncoming, WebhookKind::VoiceGather, WebhookKind::VoiceRecording,
                    WebhookKind::VoiceDial, WebhookKind::VoiceStatus, WebhookKind::VoiceFallback,
                    WebhookKind::SmsIncoming, WebhookKind::SmsStatus,
                ] {
                    let _ = parse_event(kind, &form);
                }
            }
        }

        /// Form-shaped input with arbitrary names and values round-trips through encoding.
        #[test]
        fn encoded_pairs_round_trip(pairs in proptest::collection::vec(("[A-Za-z]{1,12}", "\\PC{0,40}"), 0..8)) {
            let mut s = form_urlencoded::Serializer::new(String::new());
            for (k, v) in &pairs {
                s.append_pair(k, v);
            }
            let decoded = parse_form(s.finish().as_bytes()).unwrap();
            proptest::prop_assert_eq!(decoded, pairs);
        }
    }
}
