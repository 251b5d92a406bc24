//! jambonz, the self-hosted voice platform, behind the provider port: signed JSON webhooks
//! ([`hooks`]), verb documents ([`verbs`]), recordings streamed by `listen` ([`listen`]) and
//! the REST API for the callback legs and call updates ([`rest`]).

mod hooks;
pub mod listen;
pub mod rest;
pub mod signature;
pub mod verbs;
pub mod webhook;

use base64::Engine;
use secrecy::ExposeSecret;
use serde_json::{json, Value};

pub use rest::RestClient;
pub use signature::{Seal, SIGNATURE_HEADER};

use crate::config::Settings;
use crate::crypto::DataKey;
use crate::providers::{Action, Deleted, Leg, Media, OutboundCall, ProviderError, Telephony};

/// The REST client, the webhook secret and what the documents need.
#[derive(Debug, Clone)]
pub struct Jambonz {
    pub rest: RestClient,
    pub secret: Vec<u8>,
    pub seal: Seal,
    pub base: url::Url,
    pub synthesizer: Option<Value>,
    pub recognizer_language: String,
    pub recordings: listen::Store,
}

/// The query parameter of a continuation's document.
const DOC: &str = "doc";

impl Jambonz {
    pub fn from_settings(settings: &Settings, key: DataKey) -> Self {
        let j = &settings.jambonz;
        let secret = j.webhook_secret.expose_secret().as_bytes().to_vec();
        let seal = Seal::new(&secret);
        let synthesizer = (!j.say_vendor.is_empty()).then(|| {
            let mut s = json!({"vendor": j.say_vendor, "language": j.say_language});
            if !j.say_voice.is_empty() {
                s["voice"] = json!(j.say_voice);
            }
            s
        });
        Self {
            rest: RestClient::new(
                &j.api_base,
                &j.account_sid,
                j.api_key.clone(),
                std::time::Duration::from_millis(j.request_timeout_ms),
            ),
            recordings: listen::Store {
                dir: settings.data_dir.join("recordings"),
                key,
                base: settings.public_url.clone(),
                seal: seal.clone(),
            },
            secret,
            seal,
            base: settings.public_url.clone(),
            synthesizer,
            recognizer_language: j.recognizer_language.clone(),
        }
    }

    fn style<'a>(&'a self, call: Option<&'a str>) -> verbs::Style<'a> {
        verbs::Style {
            base: &self.base,
            seal: &self.seal,
            call,
            synthesizer: self.synthesizer.clone(),
            recognizer_language: &self.recognizer_language,
        }
    }

    /// Actions as a verb document for `call`.
    pub fn verbs(&self, call: Option<&str>, actions: &[Action]) -> Value {
        verbs::render(actions, &self.style(call))
    }

    /// A callback leg as jambonz's create-call request: the leg's hooks (sealed), the ring time.
    pub fn call_request(&self, call: &OutboundCall<'_>) -> Value {
        let name = match call.leg {
            Leg::Lawyer => "lawyer",
            Leg::Caller => "caller",
        };
        let style = self.style(None);
        let a = call.assignment;
        json!({
            "from": call.from,
            "to": {"type": "phone", "number": call.to},
            "call_hook": {"url": style.sealed(&format!("/jambonz/callback/{name}?a={a}")), "method": "POST"},
            "call_status_hook": {"url": style.sealed(&format!("/jambonz/callback/{name}/status?a={a}")), "method": "POST"},
            "timeout": call.ring_secs,
        })
    }

    /// A call update: hanging up is a status, anything else a redirect to the document, which
    /// the continuation route gives back.
    pub fn update_request(&self, call_id: &str, actions: &[Action]) -> Value {
        if actions == [Action::Hangup] {
            return json!({"call_status": "completed"});
        }
        let doc = serde_json::to_string(&self.verbs(Some(call_id), actions)).expect("JSON values serialise");
        let doc = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(doc);
        let url = self.style(None).sealed(&format!("/jambonz/voice/continue?{DOC}={doc}"));
        json!({"call_hook": {"url": url, "method": "POST"}})
    }
}

#[async_trait::async_trait]
impl Telephony for Jambonz {
    fn name(&self) -> &'static str {
        "jambonz"
    }

    fn is_configured(&self) -> bool {
        self.rest.is_configured()
    }

    async fn place_call(&self, call: &OutboundCall<'_>) -> Result<String, ProviderError> {
        self.rest.create_call(&self.call_request(call)).await
    }

    async fn update_call(&self, call_id: &str, actions: &[Action]) -> Result<(), ProviderError> {
        self.rest
            .update_call(call_id, &self.update_request(call_id, actions))
            .await
    }

    async fn fetch_recording(&self, url: &str, _hosts: &[String], max_bytes: usize) -> Result<Media, ProviderError> {
        match self.recordings.fetch(url, max_bytes).await {
            Some(result) => result,
            None => Err(ProviderError::NotRecordingHost(
                url::Url::parse(url)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_owned))
                    .unwrap_or_default(),
            )),
        }
    }

    async fn delete_recording(&self, url: &str) -> Result<Deleted, ProviderError> {
        match self.recordings.delete(url).await {
            Some(result) => result.map(|()| Deleted::Gone),
            None => Ok(Deleted::NotOurs),
        }
    }
}
