//! A provider simulator speaking Twilio's wire format: it signs every webhook as Twilio does
//! (its own implementation, not the service's), posts form bodies, and follows the TwiML it
//! gets back (Gather → action with Digits, Redirect, Dial → action with DialCallStatus,
//! Record → action with RecordingUrl), recording what the caller would hear.

use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha1::Sha1;

use crate::helpers::{Line, TestApp, ACCOUNT_SID, HOTLINE_NUMBER};

/// Twilio's algorithm: URL, then each parameter's name and value, sorted by name.
pub fn twilio_signature(token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted = params.to_vec();
    sorted.sort();
    let mut data = url.to_owned();
    for (k, v) in &sorted {
        data.push_str(k);
        data.push_str(v);
    }
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(token.as_bytes()).unwrap();
    mac.update(data.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

pub fn sid(prefix: &str) -> String {
    let mut b = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut b);
    format!("{prefix}{}", hex::encode(b))
}

pub fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// What came back from one webhook.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

impl Reply {
    /// Asserts what Twilio requires of a voice answer and returns the parsed document's text.
    pub fn assert_twiml(&self) -> &str {
        assert_eq!(self.status, 200, "voice webhooks always answer 200: {}", self.body);
        assert!(
            self.content_type.starts_with("text/xml"),
            "Content-Type was {}",
            self.content_type
        );
        assert!(
            self.body.starts_with("<?xml"),
            "nothing may precede the XML declaration: {:?}",
            self.body
        );
        let doc = roxmltree::Document::parse(&self.body).expect("well-formed TwiML");
        assert_eq!(doc.root_element().tag_name().name(), "Response");
        &self.body
    }
}

/// Posts a signed form webhook to `path` (signed over the app's public URL + path).
pub async fn post_signed(app: &TestApp, path: &str, params: &[(String, String)], headers: &[(&str, &str)]) -> Reply {
    let signature = twilio_signature(&app.auth_token, &format!("{}{path}", app.public_url), params);
    let mut all_headers = vec![("X-Twilio-Signature", signature.as_str())];
    all_headers.extend_from_slice(headers);
    post_raw(
        app,
        path,
        &form_body(params),
        &all_headers,
        "application/x-www-form-urlencoded",
    )
    .await
}

pub fn form_body(params: &[(String, String)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        s.append_pair(k, v);
    }
    s.finish()
}

pub async fn post_raw(app: &TestApp, path: &str, body: &str, headers: &[(&str, &str)], content_type: &str) -> Reply {
    let mut req = app
        .http
        .post(app.url(path))
        .header("content-type", content_type)
        .body(body.to_owned());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.expect("request sent");
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    Reply {
        status,
        content_type,
        body: resp.text().await.unwrap(),
    }
}

/// What the caller heard or saw happen, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Heard {
    Say(String),
    Play(String),
    Dial(String),
    Hangup,
}

/// What the caller does at each point where the call waits for them.
#[derive(Debug, Clone)]
pub enum Input {
    /// Press keys at a Gather.
    Keys(&'static str),
    /// Let a Gather time out.
    Silence,
    /// How a Dial ends (DialCallStatus).
    DialResult(&'static str),
    /// Speak at a Record: the provider posts this recording URL, ended by `#`.
    Speak(&'static str),
    /// Answer a menu by voice: the recording at this URL, ended by silence (no `Digits`).
    Answer(&'static str),
    /// A key pressed at a Record before anything was said: Twilio posts `Digits` and no
    /// recording.
    KeyAtRecord(&'static str),
    /// A key pressed at a Record after a recording too short to keep: `RecordingDuration=0`.
    KeyAfterEmptyRecording(&'static str),
}

pub struct Phone<'a> {
    pub app: &'a TestApp,
    pub call_sid: String,
    pub from: String,
    pub heard: Vec<Heard>,
    /// Every raw TwiML document received.
    pub documents: Vec<String>,
    /// The HTTP status of the final status callback.
    pub status_reply: Option<u16>,
}

impl<'a> Phone<'a> {
    pub fn new(app: &'a TestApp, from: &str) -> Self {
        Self {
            app,
            call_sid: match app.line {
                Line::Twilio => sid("CA"),
                Line::Jambonz => uuid::Uuid::new_v4().to_string(),
            },
            from: from.to_owned(),
            heard: Vec::new(),
            documents: Vec::new(),
            status_reply: None,
        }
    }

    pub fn params(&self, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut p = pairs(&[
            ("AccountSid", ACCOUNT_SID),
            ("ApiVersion", "2010-04-01"),
            ("CallSid", &self.call_sid),
            ("CallStatus", "in-progress"),
            ("Direction", "inbound"),
            ("From", &self.from),
            ("To", HOTLINE_NUMBER),
            ("Caller", &self.from),
            ("CallerCountry", "CN"),
        ]);
        for (k, v) in pairs(extra) {
            match p.iter_mut().find(|(name, _)| *name == k) {
                Some(existing) => existing.1 = v,
                None => p.push((k, v)),
            }
        }
        p
    }

    /// Places the call through the app's provider and follows its documents until the call
    /// ends or the script runs out (the caller hangs up). Returns true when the service ended
    /// the call itself.
    pub async fn call(&mut self, script: &[Input]) -> bool {
        match self.app.line {
            Line::Twilio => self.call_twilio(script).await,
            Line::Jambonz => self.call_jambonz(script).await,
        }
    }

    /// [`Phone::call`] on Twilio: follows the TwiML.
    async fn call_twilio(&mut self, script: &[Input]) -> bool {
        let mut inputs = script.iter().peekable();
        let mut next = Some(("/twilio/voice".to_owned(), Vec::new()));
        let mut ended_by_service = false;
        while let Some((path, extra)) = next.take() {
            let extra: Vec<(&str, &str)> = extra
                .iter()
                .map(|(k, v): &(String, String)| (k.as_str(), v.as_str()))
                .collect();
            let reply = post_signed(self.app, &path, &self.params(&extra), &[]).await;
            let body = reply.assert_twiml().to_owned();
            self.documents.push(body.clone());
            let doc = roxmltree::Document::parse(&body).unwrap();
            for verb in doc.root_element().children().filter(|n| n.is_element()) {
                let text = all_text(verb);
                match verb.tag_name().name() {
                    "Say" => self.heard.push(Heard::Say(text)),
                    "Play" => self.heard.push(Heard::Play(text)),
                    "Pause" => {}
                    "Gather" => {
                        for prompt in verb.children().filter(|n| n.is_element()) {
                            let t = all_text(prompt);
                            match prompt.tag_name().name() {
                                "Say" => self.heard.push(Heard::Say(t)),
                                "Play" => self.heard.push(Heard::Play(t)),
                                other => panic!("unexpected <{other}> inside Gather"),
                            }
                        }
                        let action = self.path_of(verb.attribute("action").expect("Gather has an action"));
                        // Without actionOnEmptyResult a Gather nobody presses a key at falls
                        // through to the next verb (the Record after a recording prompt).
                        let on_empty = verb.attribute("actionOnEmptyResult") == Some("true");
                        // A caller who says nothing more at a closing hears it out.
                        if !on_empty
                            && matches!(
                                inputs.peek(),
                                None | Some(
                                    Input::Speak(_)
                                        | Input::Answer(_)
                                        | Input::Silence
                                        | Input::KeyAtRecord(_)
                                        | Input::KeyAfterEmptyRecording(_)
                                )
                            )
                        {
                            continue;
                        }
                        next = match inputs.next() {
                            Some(Input::Keys(k)) => Some((action, vec![("Digits".into(), k.to_string())])),
                            Some(Input::Silence) => Some((action, vec![("Digits".into(), String::new())])),
                            Some(other) => panic!(
                                "script wanted {other:?} but the call waits for keys; heard so far: {}",
                                self.said()
                            ),
                            None => None,
                        };
                        break;
                    }
                    "Record" => {
                        let action = self.path_of(verb.attribute("action").expect("Record has an action"));
                        match inputs.next() {
                            Some(Input::Speak(url)) => {
                                next = Some((
                                    action,
                                    vec![
                                        ("RecordingUrl".into(), url.to_string()),
                                        ("RecordingDuration".into(), "6".into()),
                                        ("RecordingSid".into(), sid("RE")),
                                        ("Digits".into(), "#".into()),
                                    ],
                                ));
                                break;
                            }
                            Some(Input::Answer(url)) => {
                                next = Some((
                                    action,
                                    vec![
                                        ("RecordingUrl".into(), url.to_string()),
                                        ("RecordingDuration".into(), "2".into()),
                                        ("RecordingSid".into(), sid("RE")),
                                    ],
                                ));
                                break;
                            }
                            Some(Input::KeyAtRecord(key)) => {
                                next = Some((action, vec![("Digits".into(), key.to_string())]));
                                break;
                            }
                            Some(Input::KeyAfterEmptyRecording(key)) => {
                                next = Some((
                                    action,
                                    vec![
                                        ("RecordingUrl".into(), format!("{}/r/RE-empty", self.app.public_url)),
                                        ("RecordingDuration".into(), "0".into()),
                                        ("RecordingSid".into(), sid("RE")),
                                        ("Digits".into(), key.to_string()),
                                    ],
                                ));
                                break;
                            }
                            // Nothing said: Twilio moves on to the next verb.
                            Some(Input::Silence) => continue,
                            // The script is over: the caller hangs up at the beep.
                            None => break,
                            other => panic!("script wanted {other:?} but the call records"),
                        }
                    }
                    "Redirect" => {
                        next = Some((self.path_of(&text), Vec::new()));
                        break;
                    }
                    "Dial" => {
                        let number = verb
                            .children()
                            .find(|n| n.has_tag_name("Number"))
                            .and_then(|n| n.text())
                            .unwrap_or(&text)
                            .to_owned();
                        self.heard.push(Heard::Dial(number));
                        let status = match inputs.next() {
                            Some(Input::DialResult(s)) => s.to_string(),
                            other => panic!("script wanted a dial result, got {other:?}"),
                        };
                        if let Some(action) = verb.attribute("action") {
                            next = Some((self.path_of(action), vec![("DialCallStatus".into(), status)]));
                        } else {
                            ended_by_service = true;
                        }
                        break;
                    }
                    "Hangup" => {
                        self.heard.push(Heard::Hangup);
                        ended_by_service = true;
                        break;
                    }
                    other => panic!("unexpected TwiML verb <{other}>"),
                }
            }
        }
        let status = post_signed(
            self.app,
            "/twilio/voice/status",
            &self.params(&[("CallStatus", "completed"), ("CallDuration", "42")]),
            &[],
        )
        .await;
        self.status_reply = Some(status.status);
        ended_by_service
    }

    pub fn path_of(&self, url: &str) -> String {
        url.strip_prefix(&self.app.public_url)
            .unwrap_or_else(|| panic!("{url} is not under the public URL {}", self.app.public_url))
            .to_owned()
    }

    /// Everything said, joined.
    pub fn said(&self) -> String {
        self.heard
            .iter()
            .filter_map(|h| match h {
                Heard::Say(t) => Some(t.as_str()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join(" | ")
    }
}

/// Reads a ticket number back from digits spoken one by one ("八、三、…").
pub fn ticket_from_speech(said: &str) -> String {
    const NAMES: [char; 10] = ['零', '一', '二', '三', '四', '五', '六', '七', '八', '九'];
    let start = said.find("受理编号是：").expect("a ticket was read out") + "受理编号是：".len();
    said[start..]
        .chars()
        .take_while(|c| NAMES.contains(c) || *c == '、')
        .filter_map(|c| NAMES.iter().position(|n| *n == c))
        .map(|d| char::from(b'0' + d as u8))
        .collect()
}

/// The text of a verb, SSML inside it (`<prosody>`) included.
fn all_text(node: roxmltree::Node<'_, '_>) -> String {
    node.descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect::<String>()
        .trim()
        .to_owned()
}
