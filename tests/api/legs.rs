//! A callback's legs as each provider drives them: the call the service asked the provider to
//! place (its REST request, in the provider's wire format), then answered and reported on
//! through the hooks that request named — Twilio's form posts to `Url` and `StatusCallback`,
//! jambonz's signed JSON to `call_hook` and `call_status_hook`. Every jambonz document is
//! validated with `@jambonz/verb-specifications`.

use serde_json::{json, Value};

use crate::helpers::{FakeProvider, Line, RestRequest, TestApp, ACCOUNT_SID, HOTLINE_NUMBER};
use crate::jambonz_line::{post_jambonz, validate_documents};
use crate::provider::{pairs, post_signed, Reply};

/// One leg the provider was asked to place.
pub struct Placed {
    line: Line,
    request: RestRequest,
    pub sid: String,
}

/// Where a REST request asked the provider to call.
fn destination(r: &RestRequest) -> Option<String> {
    match &r.json {
        Some(body) => body["to"]["number"].as_str().map(str::to_owned),
        None => r.get("To").map(str::to_owned),
    }
}

fn is_call(r: &RestRequest) -> bool {
    r.path.ends_with("/Calls.json") || r.path.ends_with("/Calls")
}

/// Calls the provider was asked to place to `to`.
pub fn calls_to(app: &TestApp, to: &str) -> usize {
    calls_in(&app.provider, to)
}

/// Calls this provider was asked to place to `to` (it outlives the service).
pub fn calls_in(provider: &FakeProvider, to: &str) -> usize {
    provider
        .requests()
        .iter()
        .filter(|r| is_call(r) && destination(r).as_deref() == Some(to))
        .count()
}

impl Placed {
    /// The newest call the provider was asked to place to `to`; `sid` is what the provider
    /// answered, as the service stored it.
    pub fn to(app: &TestApp, to: &str, sid: &str) -> Self {
        let request = app
            .provider
            .requests()
            .into_iter()
            .rev()
            .find(|r| is_call(r) && destination(r).as_deref() == Some(to))
            .unwrap_or_else(|| panic!("no call was placed to {to}"));
        Self {
            line: app.line,
            request,
            sid: sid.to_owned(),
        }
    }

    /// The hook the request named, as a path on the service.
    fn hook(&self, app: &TestApp, status: bool) -> String {
        let url = match (&self.request.json, status) {
            (Some(body), false) => body["call_hook"]["url"].as_str().map(str::to_owned),
            (Some(body), true) => body["call_status_hook"]["url"].as_str().map(str::to_owned),
            (None, false) => self.request.get("Url").map(str::to_owned),
            (None, true) => self.request.get("StatusCallback").map(str::to_owned),
        }
        .expect("the request names its hooks");
        url.strip_prefix(&app.public_url)
            .expect("a hook on this service")
            .to_owned()
    }

    /// The person picks up (`answered_by`: Twilio's machine-detection verdict): the document the
    /// leg is given.
    pub async fn answered(&self, app: &TestApp, answered_by: Option<&str>) -> Document {
        let path = self.hook(app, false);
        let reply = match self.line {
            Line::Twilio => {
                let mut params = self.twilio(&[("CallStatus", "in-progress")]);
                if let Some(verdict) = answered_by {
                    params.push(("AnsweredBy".into(), verdict.into()));
                }
                post_signed(app, &path, &params, &[]).await
            }
            Line::Jambonz => {
                let to = destination(&self.request);
                let body = json!({
                    "call_sid": self.sid, "account_sid": crate::helpers::JAMBONZ_ACCOUNT,
                    "direction": "outbound", "from": HOTLINE_NUMBER, "to": to,
                    "call_status": "in-progress", "sip_status": 200,
                });
                post_jambonz(app, &path, &body).await
            }
        };
        Document::of(self.line, reply)
    }

    /// The provider reports the leg's status (`completed`, `no-answer`, `busy`…); the HTTP status.
    pub async fn status(&self, app: &TestApp, status: &str) -> u16 {
        let path = self.hook(app, true);
        match self.line {
            Line::Twilio => post_signed(app, &path, &self.twilio(&[("CallStatus", status)]), &[]).await,
            Line::Jambonz => {
                let body = json!({
                    "call_sid": self.sid, "account_sid": crate::helpers::JAMBONZ_ACCOUNT,
                    "direction": "outbound", "call_status": status, "duration": 0,
                });
                post_jambonz(app, &path, &body).await
            }
        }
        .status
    }

    /// jambonz's answering-machine event (`amd_machine_detected`, …) on this leg, posted to the
    /// hook the leg's document named: the document that replaces the leg's (none: it goes on).
    pub async fn screened(&self, app: &TestApp, hook: &str, event: &str) -> Document {
        let path = hook.strip_prefix(&app.public_url).expect("a hook on this service");
        let body = json!({
            "type": event, "reason": "long greeting", "language": "zh-CN",
            "call_sid": self.sid, "account_sid": crate::helpers::JAMBONZ_ACCOUNT,
            "direction": "outbound", "call_status": "in-progress",
        });
        Document::of(Line::Jambonz, post_jambonz(app, path, &body).await)
    }

    fn twilio(&self, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let to = destination(&self.request).unwrap_or_default();
        let mut params = pairs(&[
            ("AccountSid", ACCOUNT_SID),
            ("CallSid", &self.sid),
            ("Direction", "outbound-api"),
            ("From", HOTLINE_NUMBER),
            ("To", &to),
            ("ApiVersion", "2010-04-01"),
        ]);
        params.extend(pairs(extra));
        params
    }
}

/// A voice document the service answered with, in either provider's format.
#[derive(Debug)]
pub struct Document {
    pub line: Line,
    pub body: String,
}

impl Document {
    fn of(line: Line, reply: Reply) -> Self {
        match line {
            Line::Twilio => {
                reply.assert_twiml();
            }
            Line::Jambonz => {
                reply.assert_verbs();
                validate_documents(std::slice::from_ref(&reply.body));
            }
        }
        Self { line, body: reply.body }
    }

    pub fn says(&self, text: &str) -> bool {
        self.body.contains(text)
    }

    pub fn hangs_up(&self) -> bool {
        match self.line {
            Line::Twilio => self.body.contains("<Hangup/>"),
            Line::Jambonz => self.verbs().iter().any(|v| v["verb"] == "hangup"),
        }
    }

    /// The conference room the leg joins, and whether the room ends when this leg leaves.
    pub fn room(&self) -> Option<(String, bool)> {
        match self.line {
            Line::Twilio => {
                let start = self.body.find("<Conference")?;
                let rest = &self.body[start..];
                let name_at = rest.find('>')? + 1;
                let name = &rest[name_at..rest.find("</Conference>")?];
                Some((
                    name.to_owned(),
                    rest[..name_at].contains("endConferenceOnExit=\"true\""),
                ))
            }
            Line::Jambonz => self.verbs().into_iter().find(|v| v["verb"] == "conference").map(|v| {
                (
                    v["name"].as_str().unwrap_or_default().to_owned(),
                    v["endConferenceOnExit"] == json!(true),
                )
            }),
        }
    }

    /// Where the provider is to report whether a person or a machine answered (jambonz's
    /// `config` verb with `amd`).
    pub fn screening(&self) -> Option<String> {
        self.verbs()
            .into_iter()
            .find(|v| v["verb"] == "config")
            .and_then(|v| v["amd"]["actionHook"].as_str().map(str::to_owned))
    }

    pub fn is_empty(&self) -> bool {
        self.verbs().is_empty()
    }

    fn verbs(&self) -> Vec<Value> {
        serde_json::from_str(&self.body).unwrap_or_default()
    }
}

/// What a call in progress was changed to hear (the provider's update of `sid`): Twilio's
/// `Twiml`, or the document behind jambonz's `call_hook`.
pub async fn update_heard(app: &TestApp, sid: &str) -> Document {
    let update = app
        .provider
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.path.ends_with(&format!("/Calls/{sid}")) || r.path.ends_with(&format!("/Calls/{sid}.json")))
        .unwrap_or_else(|| panic!("call {sid} was not updated"));
    match app.line {
        Line::Twilio => Document {
            line: Line::Twilio,
            body: update.get("Twiml").expect("new TwiML").to_owned(),
        },
        Line::Jambonz => {
            let hook = update
                .json
                .as_ref()
                .and_then(|b| b["call_hook"]["url"].as_str())
                .expect("a redirect");
            let path = hook.strip_prefix(&app.public_url).expect("on this service");
            let reply = post_jambonz(app, path, &json!({"call_sid": sid, "call_status": "in-progress"})).await;
            Document::of(Line::Jambonz, reply)
        }
    }
}
