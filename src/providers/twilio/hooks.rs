//! Twilio's webhooks behind the provider-neutral pipeline: its routes, the `X-Twilio-Signature`
//! over the public URL and the form, and the delivery's identity.
//!
//! Unsigned or forged requests are refused before the body is looked at; a well-signed but
//! malformed form is refused saying what is wrong.

use sha2::{Digest, Sha256};

use super::webhook::parse_form;
use super::{parse_event, twiml, Twilio, SIGNATURE_HEADER};
use crate::providers::{Action, Context, Delivery, Incoming, Received, Refusal, Route, WebhookKind, Wire};

const FORM: &str = "application/x-www-form-urlencoded";

const JSON: &str = "application/json";

/// A verified request's parameters: as leniently decoded for the signature and the delivery's
/// identity, and as strictly parsed for the event.
struct Verified {
    lenient: Vec<(String, String)>,
    params: Vec<(String, String)>,
}

impl Twilio {
    /// A form is verified over its leniently decoded parameters (as Twilio's own libraries do),
    /// so a body refused as malformed is still told apart from a forged one. A JSON body is
    /// verified by `bodySHA256` in the signed URL; its top-level fields are the parameters.
    fn verify(&self, incoming: &Incoming<'_>) -> Result<Verified, Refusal> {
        let signature = incoming.header(SIGNATURE_HEADER);
        if incoming.is_media_type(JSON) {
            let signed = signature.is_some_and(|sig| self.validator.validate_json(incoming.url, incoming.body, sig));
            if !signed {
                return Err(Refusal::Forged("X-Twilio-Signature (bodySHA256)"));
            }
            let params = json_params(incoming.body)?;
            return Ok(Verified {
                lenient: params.clone(),
                params,
            });
        }
        let lenient: Vec<(String, String)> = form_urlencoded::parse(incoming.body).into_owned().collect();
        let signed = signature.is_some_and(|sig| self.validator.validate_form(incoming.url, &lenient, sig));
        if !signed {
            return Err(Refusal::Forged("X-Twilio-Signature"));
        }
        if !incoming.is_media_type(FORM) {
            return Err(Refusal::MediaType(FORM));
        }
        let params = parse_form(incoming.body).map_err(|e| Refusal::Malformed(e.to_string()))?;
        Ok(Verified { lenient, params })
    }
}

/// A JSON body's top-level fields as parameters: strings as they are, numbers and booleans as
/// written; null, arrays and objects are not parameters of a call or a message.
fn json_params(body: &[u8]) -> Result<Vec<(String, String)>, Refusal> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| Refusal::Malformed(format!("the body is not JSON: {e}")))?;
    let serde_json::Value::Object(fields) = value else {
        return Err(Refusal::Malformed("the JSON body is not an object".into()));
    };
    Ok(fields
        .into_iter()
        .filter_map(|(k, v)| match v {
            serde_json::Value::String(s) => Some((k, s)),
            serde_json::Value::Number(n) => Some((k, n.to_string())),
            serde_json::Value::Bool(b) => Some((k, b.to_string())),
            _ => None,
        })
        .collect())
}

impl Wire for Twilio {
    fn name(&self) -> &'static str {
        "twilio"
    }

    fn routes(&self) -> Vec<(&'static str, Route)> {
        use WebhookKind as K;
        vec![
            ("/twilio/voice", Route::Hook(K::VoiceIncoming)),
            ("/twilio/voice/menu", Route::Hook(K::VoiceGather)),
            ("/twilio/voice/recording", Route::Hook(K::VoiceRecording)),
            ("/twilio/voice/dial", Route::Hook(K::VoiceDial)),
            ("/twilio/voice/status", Route::Hook(K::VoiceStatus)),
            ("/twilio/voice/fallback", Route::Hook(K::VoiceFallback)),
            ("/twilio/voice/resume", Route::Resume),
            ("/twilio/callback/lawyer", Route::Hook(K::CallbackLawyer)),
            ("/twilio/callback/lawyer/status", Route::Hook(K::CallbackLawyerStatus)),
            ("/twilio/callback/caller", Route::Hook(K::CallbackCaller)),
            ("/twilio/callback/caller/status", Route::Hook(K::CallbackCallerStatus)),
            ("/twilio/sms", Route::Hook(K::SmsIncoming)),
            ("/twilio/sms/status", Route::Hook(K::SmsStatus)),
        ]
    }

    fn read(&self, kind: WebhookKind, incoming: &Incoming<'_>) -> Result<Received, Refusal> {
        let Verified { lenient, params } = self.verify(incoming)?;
        let event = parse_event(kind, &params).map_err(|e| Refusal::Malformed(e.to_string()))?;
        let payload = serde_json::Value::Object(
            params
                .into_iter()
                .map(|(k, v)| (k, serde_json::Value::String(v)))
                .collect(),
        );
        Ok(Received::Delivery(Box::new(Delivery {
            event,
            context: Context::from_query(incoming.query),
            // Twilio's I-Twilio-Idempotency-Token is the same on every retry of a delivery, but
            // a replay can carry any token: the signed content alone says which delivery it is.
            signed_key: format!("sha:{}", delivery_hash(incoming.url, &lenient)),
            payload,
        })))
    }

    fn read_resume(&self, incoming: &Incoming<'_>) -> Result<(String, Context), Refusal> {
        let lenient = self.verify(incoming)?.lenient;
        let call_sid = lenient
            .into_iter()
            .find(|(k, _)| k == "CallSid")
            .map(|(_, v)| v)
            .ok_or_else(|| Refusal::Malformed(super::WebhookError::Missing("CallSid").to_string()))?;
        Ok((call_sid, Context::from_query(incoming.query)))
    }

    fn render(&self, _call: Option<&str>, actions: &[Action]) -> String {
        self.twiml(actions)
    }

    fn content_type(&self) -> &'static str {
        twiml::CONTENT_TYPE
    }
}

/// Identifies a delivery: the signed URL (IVR action URLs carry the turn number) and the
/// parameters in sorted order.
fn delivery_hash(url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut hasher = Sha256::new();
    hasher.update(url.as_bytes());
    for (k, v) in sorted {
        hasher.update([0]);
        hasher.update(k.as_bytes());
        hasher.update([0]);
        hasher.update(v.as_bytes());
    }
    hex::encode(hasher.finalize())
}
