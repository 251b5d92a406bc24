//! jambonz's webhooks behind the provider-neutral pipeline: its routes, the
//! `Jambonz-Signature` over the body, the seal over the URL's query, and the delivery's
//! identity.

use base64::Engine;
use sha2::{Digest, Sha256};

use super::verbs::REST;
use super::webhook::{call_sid, parse_event};
use super::{listen, Jambonz, DOC, SIGNATURE_HEADER};
use crate::providers::{
    Action, Context, Delivery, InboundEvent, Incoming, MediaRoute, Received, Refusal, Route, WebhookKind, Wire,
};

const JSON: &str = "application/json";

impl Jambonz {
    /// The signature, then the seal of a URL with a query (every hook URL the service gave
    /// out), then the media type.
    fn verify(&self, incoming: &Incoming<'_>) -> Result<serde_json::Value, Refusal> {
        let now = chrono::Utc::now().timestamp();
        let signed = incoming
            .header(SIGNATURE_HEADER)
            .is_some_and(|h| super::signature::verify(&self.secret, h, incoming.body, now));
        if !signed {
            return Err(Refusal::Forged("Jambonz-Signature"));
        }
        if incoming.query.is_some() && !self.seal.holds(incoming.url) {
            return Err(Refusal::Forged("URL seal (k=)"));
        }
        if !incoming.is_media_type(JSON) {
            return Err(Refusal::MediaType(JSON));
        }
        serde_json::from_slice(incoming.body).map_err(|e| Refusal::Malformed(format!("the body is not JSON: {e}")))
    }
}

/// A document the adapter wrote into a URL parameter.
fn carried(query: Option<&str>, name: &str) -> Option<Result<String, Refusal>> {
    let value = form_urlencoded::parse(query?.as_bytes()).find(|(k, _)| k == name)?.1;
    Some(
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(value.as_bytes())
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or_else(|| Refusal::Malformed(format!("the {name} parameter is not a document"))),
    )
}

impl Wire for Jambonz {
    fn name(&self) -> &'static str {
        "jambonz"
    }

    fn routes(&self) -> Vec<(&'static str, Route)> {
        use WebhookKind as K;
        vec![
            ("/jambonz/voice", Route::Hook(K::VoiceIncoming)),
            ("/jambonz/voice/menu", Route::Hook(K::VoiceGather)),
            ("/jambonz/voice/recording", Route::Hook(K::VoiceRecording)),
            ("/jambonz/voice/dial", Route::Hook(K::VoiceDial)),
            ("/jambonz/voice/status", Route::Hook(K::VoiceStatus)),
            ("/jambonz/voice/resume", Route::Resume),
            ("/jambonz/voice/continue", Route::Continue),
            ("/jambonz/callback/lawyer", Route::Hook(K::CallbackLawyer)),
            ("/jambonz/callback/lawyer/status", Route::Hook(K::CallbackLawyerStatus)),
            ("/jambonz/callback/caller", Route::Hook(K::CallbackCaller)),
            ("/jambonz/callback/caller/status", Route::Hook(K::CallbackCallerStatus)),
            ("/jambonz/callback/caller/screened", Route::Hook(K::CallbackScreened)),
        ]
    }

    fn read(&self, kind: WebhookKind, incoming: &Incoming<'_>) -> Result<Received, Refusal> {
        let body = self.verify(incoming)?;
        let context = Context::from_query(incoming.query);
        let event = parse_event(kind, &body, |call_sid| self.recordings.found(call_sid, context.turn))
            .map_err(|e| Refusal::Malformed(e.to_string()))?;
        // A wait nobody answered goes on with the rest of its document.
        let unanswered = match &event {
            InboundEvent::KeysGathered { digits, speech, .. } => digits.is_empty() && speech.is_none(),
            InboundEvent::RecordingReady {
                recording_url, digits, ..
            } => recording_url.is_none() && digits.is_none(),
            _ => false,
        };
        if unanswered {
            if let Some(rest) = carried(incoming.query, REST) {
                return rest.map(Received::Answer);
            }
        }
        Ok(Received::Delivery(Box::new(Delivery {
            event,
            signed_key: format!("sha:{}", delivery_hash(incoming.url, incoming.body)),
            context,
            payload: body,
        })))
    }

    fn read_resume(&self, incoming: &Incoming<'_>) -> Result<(String, Context), Refusal> {
        let body = self.verify(incoming)?;
        let call_sid = call_sid(&body).map_err(|e| Refusal::Malformed(e.to_string()))?;
        Ok((call_sid, Context::from_query(incoming.query)))
    }

    fn read_continue(&self, incoming: &Incoming<'_>) -> Result<String, Refusal> {
        self.verify(incoming)?;
        carried(incoming.query, DOC).unwrap_or_else(|| Err(Refusal::Malformed(format!("no {DOC} parameter"))))
    }

    fn render(&self, call: Option<&str>, actions: &[Action]) -> String {
        serde_json::to_string(&self.verbs(call, actions)).expect("JSON values serialise")
    }

    fn content_type(&self) -> &'static str {
        JSON
    }

    fn media_routes(&self) -> Vec<MediaRoute> {
        let store = self.recordings.clone();
        vec![(
            listen::PATH,
            axum::routing::get(move |uri, upgrade| store.clone().accept(uri, upgrade)),
        )]
    }
}

/// Identifies a delivery: the URL (action URLs carry the turn) and the signed body.
fn delivery_hash(url: &str, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(url.as_bytes());
    hasher.update([0]);
    hasher.update(body);
    hex::encode(hasher.finalize())
}
