//! A phone on jambonz's wire: webhooks signed as jambonz signs them (`Jambonz-Signature`, its
//! own implementation, not the service's), JSON bodies with jambonz's call attributes, and the
//! verb documents followed as jambonz runs them: a `gather` always calls its actionHook (with
//! `reason: "timeout"` when nothing came), a `listen` streams the caller's audio to its
//! websocket and then calls its actionHook. Every document is checked by
//! `@jambonz/verb-specifications` (tests/jambonz/check.js).

use std::path::PathBuf;
use std::process::{Command, Stdio};

use futures_util::{SinkExt, StreamExt};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{TestApp, HOTLINE_NUMBER, JAMBONZ_ACCOUNT};
use crate::provider::{Heard, Input, Phone, Reply};

/// jambonz's algorithm: HMAC-SHA256 of `<t>.<body>`, as `t=<t>,v1=<hex>`.
pub fn jambonz_signature(secret: &str, t: i64, body: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Posts a signed JSON webhook to `path` (a path, or a URL under the public URL).
pub async fn post_jambonz(app: &TestApp, path: &str, body: &Value) -> Reply {
    let body = body.to_string();
    let signature = jambonz_signature(&app.jambonz_secret, now(), &body);
    crate::provider::post_raw(
        app,
        path,
        &body,
        &[("Jambonz-Signature", &signature)],
        "application/json",
    )
    .await
}

impl Reply {
    /// Asserts what jambonz requires of an answer and returns the verbs.
    pub fn assert_verbs(&self) -> Vec<Value> {
        assert_eq!(self.status, 200, "jambonz webhooks answer 200: {}", self.body);
        assert!(
            self.content_type.starts_with("application/json"),
            "Content-Type was {}",
            self.content_type
        );
        match serde_json::from_str(&self.body) {
            Ok(Value::Array(verbs)) => verbs,
            other => panic!("a verb document is a JSON array: {other:?} from {}", self.body),
        }
    }
}

/// jambonz's call attributes, and the fields of one webhook.
pub fn attributes(phone: &Phone<'_>, extra: Value) -> Value {
    let mut body = json!({
        "call_sid": phone.call_sid,
        "account_sid": JAMBONZ_ACCOUNT,
        "application_sid": "7087fe50-8acb-4f3b-b820-97b573723aab",
        "call_id": "d8907723-0bc7-123b-09b5-12e962f3039b",
        "direction": "inbound",
        "from": phone.from,
        "to": HOTLINE_NUMBER,
        "caller_name": "",
        "sip_status": 200,
        "sip_reason": "OK",
        "call_status": "in-progress",
        "originating_sip_ip": "192.0.2.10",
        "trace_id": "18228daa536f82e0ec29074e7bf47b89",
    });
    if let (Some(b), Value::Object(extra)) = (body.as_object_mut(), extra) {
        b.extend(extra);
    }
    body
}

/// The texts of a `say` (SSML tags dropped) or the URLs of a `play`.
fn heard(name: &str, verb: &Value) -> Vec<Heard> {
    let items = |field: &str| match &verb[field] {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
        _ => Vec::new(),
    };
    match name {
        "say" => items("text")
            .into_iter()
            .map(|t| {
                let mut plain = String::new();
                let mut in_tag = false;
                for c in t.chars() {
                    match c {
                        '<' => in_tag = true,
                        '>' => in_tag = false,
                        c if !in_tag => plain.push(c),
                        _ => {}
                    }
                }
                Heard::Say(plain.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">"))
            })
            .collect(),
        "play" => items("url").into_iter().map(Heard::Play).collect(),
        other => panic!("unexpected prompt {other}"),
    }
}

impl Phone<'_> {
    /// [`Phone::call`] on jambonz.
    pub async fn call_jambonz(&mut self, script: &[Input]) -> bool {
        let mut inputs = script.iter().peekable();
        let mut next = Some(("/jambonz/voice".to_owned(), json!({})));
        let mut ended_by_service = false;
        let mut documents = Vec::new();
        while let Some((path, extra)) = next.take() {
            let reply = post_jambonz(self.app, &path, &attributes(self, extra)).await;
            let verbs = reply.assert_verbs();
            documents.push(reply.body.clone());
            self.documents.push(reply.body.clone());
            for verb in &verbs {
                let name = verb["verb"].as_str().expect("every verb is named");
                match name {
                    "say" | "play" => self.heard.extend(heard(name, verb)),
                    "pause" => {}
                    "gather" => {
                        for prompt in ["say", "play"] {
                            if verb.get(prompt).is_some() {
                                self.heard.extend(heard(prompt, &verb[prompt]));
                            }
                        }
                        let action = self.path_of(verb["actionHook"].as_str().expect("a gather's actionHook"));
                        // A wait that falls through: the caller who does not press here is
                        // waited out, and the service answers with what follows.
                        let falls_through = action.contains("&rest=");
                        let waits = matches!(
                            inputs.peek(),
                            None | Some(
                                Input::Speak(_)
                                    | Input::Answer(_)
                                    | Input::Silence
                                    | Input::KeyAtRecord(_)
                                    | Input::KeyAfterEmptyRecording(_)
                            )
                        );
                        if falls_through && waits {
                            next = Some((action, json!({"reason": "timeout"})));
                            break;
                        }
                        next = match inputs.next() {
                            Some(Input::Keys(k)) => Some((action, json!({"reason": "dtmfDetected", "digits": k}))),
                            Some(Input::Silence) => Some((action, json!({"reason": "timeout"}))),
                            Some(other) => panic!(
                                "script wanted {other:?} but the call waits for keys; heard so far: {}",
                                self.said()
                            ),
                            None => None,
                        };
                        break;
                    }
                    "listen" => {
                        let action = self.path_of(verb["actionHook"].as_str().expect("a listen's actionHook"));
                        let stream = verb["url"].as_str().expect("a listen's url");
                        let report = match inputs.next() {
                            Some(Input::Speak(url)) => {
                                self.stream(stream, Some(url)).await;
                                json!({"digits": "#"})
                            }
                            Some(Input::Answer(url)) => {
                                self.stream(stream, Some(url)).await;
                                json!({})
                            }
                            Some(Input::KeyAtRecord(key)) | Some(Input::KeyAfterEmptyRecording(key)) => {
                                self.stream(stream, None).await;
                                json!({"digits": key})
                            }
                            Some(Input::Silence) => {
                                self.stream(stream, None).await;
                                json!({})
                            }
                            // The script is over: the caller hangs up at the beep.
                            None => break,
                            other => panic!("script wanted {other:?} but the call records"),
                        };
                        next = Some((action, report));
                        break;
                    }
                    "redirect" => {
                        next = Some((self.path_of(verb["actionHook"].as_str().unwrap()), json!({})));
                        break;
                    }
                    "dial" => {
                        let number = verb["target"][0]["number"].as_str().expect("a phone target").to_owned();
                        self.heard.push(Heard::Dial(number));
                        let status = match inputs.next() {
                            Some(Input::DialResult(s)) => s.to_string(),
                            other => panic!("script wanted a dial result, got {other:?}"),
                        };
                        match verb["actionHook"].as_str() {
                            Some(action) => next = Some((self.path_of(action), json!({"dial_call_status": status}))),
                            None => ended_by_service = true,
                        }
                        break;
                    }
                    "hangup" => {
                        self.heard.push(Heard::Hangup);
                        ended_by_service = true;
                        break;
                    }
                    other => panic!("unexpected jambonz verb {other}"),
                }
            }
        }
        let status = post_jambonz(
            self.app,
            "/jambonz/voice/status",
            &attributes(self, json!({"call_status": "completed", "duration": 42})),
        )
        .await;
        self.status_reply = Some(status.status);
        validate_documents(&documents);
        ended_by_service
    }

    /// What jambonz does for a `listen`: opens its websocket, sends the call's attributes,
    /// streams the recording's audio as 16-bit PCM (none for a caller who says nothing) and
    /// closes, then waits for the service to finish with it.
    pub async fn stream(&self, url: &str, recording: Option<&str>) {
        let (rate, pcm) = match recording {
            Some(url) => self.audio(url).await,
            None => (8000, Vec::new()),
        };
        let local = url.replacen(
            &self.app.public_url.replacen("http", "ws", 1),
            &format!("ws://{}", self.app.addr),
            1,
        );
        let mut request = local.into_client_request().unwrap();
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", "audio.jambonz.org".parse().unwrap());
        let (mut ws, response) = tokio_tungstenite::connect_async(request)
            .await
            .unwrap_or_else(|e| panic!("the listen websocket {url} opens: {e}"));
        assert_eq!(
            response
                .headers()
                .get("sec-websocket-protocol")
                .and_then(|v| v.to_str().ok()),
            Some("audio.jambonz.org")
        );
        let mut meta = attributes(self, json!({"sampleRate": rate, "mixType": "mono"}));
        meta["callSid"] = json!(self.call_sid);
        ws.send(Message::Text(meta.to_string().into())).await.unwrap();
        // 20 ms frames, as a media server sends them.
        for frame in pcm.chunks((rate as usize / 50) * 2) {
            ws.send(Message::Binary(frame.to_vec().into())).await.unwrap();
        }
        ws.send(Message::Close(None)).await.unwrap();
        while let Some(Ok(_)) = ws.next().await {}
    }

    /// A recording's audio: the fake provider's, else a second of tone for a URL that is only a
    /// name in a script.
    async fn audio(&self, url: &str) -> (u32, Vec<u8>) {
        let fetched = self
            .app
            .http
            .get(url)
            .basic_auth(crate::helpers::ACCOUNT_SID, Some(&self.app.auth_token))
            .send()
            .await
            .ok()
            .filter(|r| r.status().is_success());
        let wav = match fetched {
            Some(r) => r.bytes().await.unwrap().to_vec(),
            None => crate::helpers::tone_wav(8000, 1.0, 440.0),
        };
        // The telephone's 8 kHz, as the listen asks for it: pairs of 16 kHz samples averaged.
        let samples = hotline::asr::audio::wav_to_16k(&wav, 600).expect("a WAV recording");
        let pcm = samples
            .chunks(2)
            .map(|pair| pair.iter().sum::<f32>() / pair.len() as f32)
            .flat_map(|s| ((s.clamp(-1.0, 1.0) * 32767.0) as i16).to_le_bytes())
            .collect();
        (8000, pcm)
    }
}

/// tests/jambonz/check.js with its packages, or None (with a notice; under CI, a failure).
pub fn checker() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/jambonz");
    if dir.join("node_modules/@jambonz/verb-specifications").exists()
        && dir.join("node_modules/@jambonz/node-client").exists()
    {
        return Some(dir.join("check.js"));
    }
    let notice = "jambonz checks skipped: run `npm ci --prefix tests/jambonz` (scripts/test does)";
    if std::env::var_os("CI").is_some() {
        panic!("{notice} (CI must run them)");
    }
    eprintln!("NOTICE: {notice}");
    None
}

/// Runs check.js with `args`, `input` on its stdin: whether it accepted, and what it said.
pub fn check(args: &[&str], input: &str) -> Option<(bool, String)> {
    let script = checker()?;
    let mut child = Command::new("node")
        .arg(script)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs");
    use std::io::Write;
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some((out.status.success(), said))
}

/// Every document passes `@jambonz/verb-specifications`.
pub fn validate_documents(documents: &[String]) {
    let input = documents.iter().map(|d| format!("{d}\n")).collect::<String>();
    if let Some((valid, said)) = check(&["validate"], &input) {
        assert!(valid, "{said}");
    }
}
