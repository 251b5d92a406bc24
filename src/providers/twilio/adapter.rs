//! Twilio behind the provider port: callback legs and SMS through the REST API, with the
//! status callbacks at this adapter's routes, and call updates as TwiML.

use super::rest::{CallRequest, RestClient, SmsRequest};
use super::twiml::{self, Style};
use super::Validator;
use crate::providers::{Action, Deleted, Leg, Media, Messaging, OutboundCall, OutboundSms, ProviderError, Telephony};

/// The REST client, the webhook signature's validator, and what TwiML needs: the public base
/// URL and the `<Say>` voice.
#[derive(Debug, Clone)]
pub struct Twilio {
    pub rest: RestClient,
    pub validator: Validator,
    pub base: url::Url,
    pub voice: String,
    pub language: String,
}

impl Twilio {
    /// Actions as a TwiML document, in this deployment's voice.
    pub fn twiml(&self, actions: &[Action]) -> String {
        let style = Style {
            base: &self.base,
            voice: &self.voice,
            language: &self.language,
        };
        twiml::render(actions, &style)
    }

    fn url(&self, path: &str) -> String {
        crate::providers::hook::absolute(&self.base, path)
    }

    /// A callback leg as Twilio's create-call request: the leg's TwiML and status routes,
    /// answered-and-completed status callbacks, the ring time, and answering-machine detection
    /// on the caller's leg.
    pub fn call_request(&self, call: &OutboundCall<'_>) -> CallRequest {
        let name = match call.leg {
            Leg::Lawyer => "lawyer",
            Leg::Caller => "caller",
        };
        let a = call.assignment;
        CallRequest {
            to: call.to.to_owned(),
            from: call.from.to_owned(),
            url: self.url(&format!("/twilio/callback/{name}?a={a}")),
            status_callback: Some(self.url(&format!("/twilio/callback/{name}/status?a={a}"))),
            status_callback_events: vec!["answered".into(), "completed".into()],
            timeout_secs: Some(call.ring_secs),
            machine_detection: (call.leg == Leg::Caller).then(|| "Enable".to_owned()),
        }
    }
}

/// The recording SID (`RE` and 32 hex digits) at the end of a Twilio RecordingUrl, with or
/// without an extension; None for a URL that is not a Twilio recording's.
pub fn recording_sid(url: &str) -> Option<&str> {
    let last = url.split(['?', '#']).next()?.rsplit('/').next()?;
    let sid = last.split('.').next()?;
    let ok = sid.len() == 34 && sid.starts_with("RE") && sid[2..].bytes().all(|b| b.is_ascii_hexdigit());
    ok.then_some(sid)
}

#[async_trait::async_trait]
impl Telephony for Twilio {
    fn name(&self) -> &'static str {
        "twilio"
    }

    fn is_configured(&self) -> bool {
        self.rest.is_configured()
    }

    async fn place_call(&self, call: &OutboundCall<'_>) -> Result<String, ProviderError> {
        Ok(self.rest.create_call(&self.call_request(call)).await?.sid)
    }

    async fn update_call(&self, call_id: &str, actions: &[Action]) -> Result<(), ProviderError> {
        self.rest.update_call(call_id, &self.twiml(actions)).await.map(|_| ())
    }

    async fn fetch_recording(&self, url: &str, hosts: &[String], max_bytes: usize) -> Result<Media, ProviderError> {
        self.rest.fetch_media(url, hosts, max_bytes).await
    }

    async fn delete_recording(&self, url: &str) -> Result<Deleted, ProviderError> {
        match recording_sid(url) {
            Some(sid) => self.rest.delete_recording(sid).await.map(|()| Deleted::Gone),
            None => Ok(Deleted::NotOurs),
        }
    }
}

#[async_trait::async_trait]
impl Messaging for Twilio {
    fn is_configured(&self) -> bool {
        self.rest.is_configured()
    }

    async fn send_sms(&self, sms: &OutboundSms<'_>) -> Result<String, ProviderError> {
        let request = SmsRequest {
            to: sms.to.to_owned(),
            from: sms.from.to_owned(),
            body: sms.body.to_owned(),
            status_callback: Some(self.url("/twilio/sms/status")),
        };
        Ok(self.rest.send_sms(&request).await?.sid)
    }
}

#[cfg(test)]
mod tests {
    use super::recording_sid;

    #[test]
    fn the_sid_comes_from_the_recording_url() {
        let sid = "RE0123456789abcdef0123456789abcdef";
        for url in [
            format!("https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/{sid}"),
            format!("https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/{sid}.wav"),
            format!("https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/{sid}.mp3?x=1"),
        ] {
            assert_eq!(recording_sid(&url), Some(sid), "{url}");
        }
        assert_eq!(recording_sid("https://example.org/audio/RE123.wav"), None);
        assert_eq!(
            recording_sid("https://example.org/audio/CA0123456789abcdef0123456789abcdef"),
            None
        );
    }
}
