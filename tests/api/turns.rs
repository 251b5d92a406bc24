//! A call's webhooks posted one by one, on either provider, for the tests that send what a
//! provider sends when it misbehaves: copies of one delivery, stale turns, keys racing.

use base64::Engine;
use serde_json::{json, Value};
use tokio::sync::Barrier;

use crate::helpers::{random_hex, Line};
use crate::jambonz_line::{attributes, post_jambonz};
use crate::provider::{post_signed, sid, Phone};

/// One answer of the service: a TwiML or jambonz verb document, checked as the provider would.
#[derive(Debug, Clone, PartialEq)]
pub struct Doc {
    pub body: String,
    line: Line,
}

/// Where a document waits for the caller.
#[derive(Debug, Clone, PartialEq)]
pub enum Wait {
    /// Keys (a Gather / gather): the path their report goes to.
    Keys(String),
    /// A recording (Record / listen): the path of its report, and on jambonz the stream the
    /// audio goes to first.
    Record { path: String, stream: Option<String> },
}

impl Wait {
    pub fn path(&self) -> &str {
        match self {
            Wait::Keys(path) | Wait::Record { path, .. } => path,
        }
    }
}

/// What the caller does at a wait.
#[derive(Debug, Clone, Copy)]
pub enum Act<'a> {
    Press(&'a str),
    /// A recording at this URL, `secs` long, ended by silence.
    Recorded(&'a str, u32),
}

impl Doc {
    /// The first wait in the document.
    pub fn wait(&self) -> Option<Wait> {
        self.waits().into_iter().next()
    }

    /// The document's recording, if it has one (after any prompt that waits for keys).
    pub fn record(&self) -> Option<Wait> {
        self.waits().into_iter().find(|w| matches!(w, Wait::Record { .. }))
    }

    /// Whether the caller is asked to speak: the document records, or on jambonz what follows
    /// its prompt when nothing is pressed (carried in the wait's URL) does.
    pub fn asks_to_speak(&self) -> bool {
        self.record().is_some() || self.rest().is_some_and(|rest| rest.asks_to_speak())
    }

    /// On jambonz, the rest of the document a wait falls through to (its URL's `rest=`).
    fn rest(&self) -> Option<Doc> {
        let path = self.wait()?.path().to_owned();
        let query = path.split_once('?')?.1;
        let rest = form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "rest")?.1;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(rest.as_bytes())
            .expect("the rest is base64");
        Some(Doc {
            body: String::from_utf8(bytes).expect("the rest is JSON"),
            line: self.line,
        })
    }

    fn waits(&self) -> Vec<Wait> {
        let path = |url: &str| {
            let at = url
                .find(&format!("/{}/", self.provider()))
                .unwrap_or_else(|| panic!("{url} is not a webhook of ours"));
            url[at..].to_owned()
        };
        match self.line {
            Line::Twilio => {
                let doc = roxmltree::Document::parse(&self.body).expect("well-formed TwiML");
                doc.descendants()
                    .filter_map(|n| match (n.tag_name().name(), n.attribute("action")) {
                        ("Gather", Some(url)) => Some(Wait::Keys(path(url))),
                        ("Record", Some(url)) => Some(Wait::Record {
                            path: path(url),
                            stream: None,
                        }),
                        _ => None,
                    })
                    .collect()
            }
            Line::Jambonz => {
                let verbs: Vec<Value> = serde_json::from_str(&self.body).expect("a verb document");
                verbs
                    .iter()
                    .filter_map(|v| match (v["verb"].as_str(), v["actionHook"].as_str()) {
                        (Some("gather"), Some(url)) => Some(Wait::Keys(path(url))),
                        (Some("listen"), Some(url)) => Some(Wait::Record {
                            path: path(url),
                            stream: v["url"].as_str().map(str::to_owned),
                        }),
                        _ => None,
                    })
                    .collect()
            }
        }
    }

    fn provider(&self) -> &'static str {
        match self.line {
            Line::Twilio => "twilio",
            Line::Jambonz => "jambonz",
        }
    }
}

impl Phone<'_> {
    /// The call comes in.
    pub async fn open(&self) -> Doc {
        match self.app.line {
            Line::Twilio => self.post("/twilio/voice", &[], &[]).await,
            Line::Jambonz => self.post_json("/jambonz/voice", json!({})).await,
        }
    }

    /// What the provider reports after `act` at the wait at `path`.
    pub async fn report(&self, path: &str, act: Act<'_>) -> Doc {
        self.report_with_token(path, act, None).await
    }

    /// [`Phone::report`], on Twilio with this `I-Twilio-Idempotency-Token`.
    pub async fn report_with_token(&self, path: &str, act: Act<'_>, token: Option<&str>) -> Doc {
        let headers: Vec<(&str, &str)> = token.iter().map(|t| ("I-Twilio-Idempotency-Token", *t)).collect();
        match (self.app.line, act) {
            (Line::Twilio, Act::Press(key)) => self.post(path, &[("Digits", key)], &headers).await,
            (Line::Twilio, Act::Recorded(url, secs)) => {
                let secs = secs.to_string();
                let extra = [
                    ("RecordingUrl", url),
                    ("RecordingSid", &sid("RE")),
                    ("RecordingDuration", &secs),
                ];
                self.post(path, &extra, &headers).await
            }
            (Line::Jambonz, Act::Press(key)) => {
                self.post_json(path, json!({"reason": "dtmfDetected", "digits": key}))
                    .await
            }
            // The audio went to the listen's stream before (see [`Phone::speak_into`]).
            (Line::Jambonz, Act::Recorded(..)) => self.post_json(path, json!({})).await,
        }
    }

    /// The same report twice at the same moment (on Twilio each copy with its own idempotency
    /// token when `tokens`).
    pub async fn report_twice_at_once(&self, path: &str, act: Act<'_>, tokens: bool) -> [Doc; 2] {
        let barrier = Barrier::new(2);
        let copy = |token: String| {
            let barrier = &barrier;
            async move {
                barrier.wait().await;
                self.report_with_token(path, act, tokens.then_some(token.as_str()))
                    .await
            }
        };
        let (a, b) = tokio::join!(copy(random_hex(8)), copy(random_hex(8)));
        [a, b]
    }

    /// Reaches the document's recording: on jambonz a prompt that waits for keys before it
    /// is waited out, and the caller's audio (`recording`) streams to the listen.
    pub async fn speak_into(&self, doc: &Doc, recording: &str) -> Wait {
        let wait = match (self.app.line, doc.record()) {
            (_, Some(wait)) => wait,
            (Line::Jambonz, None) => {
                let waited = doc.wait().expect("a prompt before the recording");
                let rest = self.post_json(waited.path(), json!({"reason": "timeout"})).await;
                rest.record()
                    .unwrap_or_else(|| panic!("no recording after {}", doc.body))
            }
            (Line::Twilio, None) => panic!("no recording in {}", doc.body),
        };
        if let Wait::Record {
            stream: Some(stream), ..
        } = &wait
        {
            self.stream(stream, Some(recording)).await;
        }
        wait
    }

    async fn post(&self, path: &str, extra: &[(&str, &str)], headers: &[(&str, &str)]) -> Doc {
        let reply = post_signed(self.app, path, &self.params(extra), headers).await;
        Doc {
            body: reply.assert_twiml().to_owned(),
            line: Line::Twilio,
        }
    }

    async fn post_json(&self, path: &str, extra: Value) -> Doc {
        let reply = post_jambonz(self.app, path, &attributes(self, extra)).await;
        reply.assert_verbs();
        Doc {
            body: reply.body,
            line: Line::Jambonz,
        }
    }
}
