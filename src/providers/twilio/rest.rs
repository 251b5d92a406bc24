//! Twilio's REST API (2010-04-01) for outbound calls and SMS, deleting recordings, and fetching
//! a recording's audio for the console's player.
//!
//! Requests are `application/x-www-form-urlencoded` with HTTP Basic auth (account SID, auth
//! token), list parameters as repeated keys (`StatusCallbackEvent=initiated&StatusCallbackEvent=…`),
//! exactly as Twilio's published OpenAPI document describes; a test checks them against a mock
//! of that document. The base URL is configurable so tests and other Twilio-compatible
//! providers can be used.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::providers::{Media, ProviderError};

/// An outbound call. `url` is where the provider fetches TwiML once the call is answered.
#[derive(Debug, Clone, Default)]
pub struct CallRequest {
    pub to: String,
    pub from: String,
    pub url: String,
    pub status_callback: Option<String>,
    /// Any of initiated, ringing, answered, completed.
    pub status_callback_events: Vec<String>,
    pub timeout_secs: Option<u32>,
    /// "Enable" or "DetectMessageEnd": answering-machine detection.
    pub machine_detection: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct SmsRequest {
    pub to: String,
    pub from: String,
    pub body: String,
    pub status_callback: Option<String>,
}

/// What the provider answers to a create: the new resource's id and first status.
#[derive(Debug, Clone, Deserialize)]
pub struct Created {
    pub sid: String,
    pub status: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    code: Option<i64>,
    message: Option<String>,
}

#[derive(Clone)]
pub struct RestClient {
    http: reqwest::Client,
    base: url::Url,
    account_sid: String,
    auth_token: SecretString,
}

impl std::fmt::Debug for RestClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestClient")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

impl RestClient {
    pub fn new(base: url::Url, account_sid: &str, auth_token: SecretString, timeout: Duration) -> Self {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .user_agent(concat!("hotline/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("a TLS backend is compiled in");
        Self {
            http,
            base,
            account_sid: account_sid.to_owned(),
            auth_token,
        }
    }

    pub async fn create_call(&self, req: &CallRequest) -> Result<Created, ProviderError> {
        self.post("Calls.json", call_form(req)).await
    }

    /// Replaces what a call in progress is doing with new TwiML (to tell a lawyer waiting in the
    /// conference that the caller did not answer, then hang up).
    pub async fn update_call(&self, call_sid: &str, twiml: &str) -> Result<Created, ProviderError> {
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("Twiml", twiml)
            .finish();
        self.post(&format!("Calls/{call_sid}.json"), body).await
    }

    pub async fn send_sms(&self, req: &SmsRequest) -> Result<Created, ProviderError> {
        self.post("Messages.json", sms_form(req)).await
    }

    /// Deletes a recording (retention). One already gone counts as deleted.
    pub async fn delete_recording(&self, recording_sid: &str) -> Result<(), ProviderError> {
        if !self.is_configured() {
            return Err(ProviderError::NotConfigured);
        }
        let resp = self
            .http
            .delete(self.url(&format!("Recordings/{recording_sid}.json")))
            .basic_auth(&self.account_sid, Some(self.auth_token.expose_secret()))
            .send()
            .await?;
        let status = resp.status();
        if status.is_success() || status == reqwest::StatusCode::NOT_FOUND {
            return Ok(());
        }
        Err(refused(status, resp).await)
    }

    /// A recording's audio, with the account's credentials: only from `hosts` (the credentials go
    /// with the request) and at most `max_bytes`. The provider's 404 is `Refused { status: 404 }`.
    pub async fn fetch_media(
        &self,
        recording_url: &str,
        hosts: &[String],
        max_bytes: usize,
    ) -> Result<Media, ProviderError> {
        let url = url::Url::parse(recording_url).map_err(|_| ProviderError::NotRecordingHost(recording_url.into()))?;
        let host = url.host_str().unwrap_or_default();
        if !matches!(url.scheme(), "https" | "http") || !hosts.iter().any(|h| h == host) {
            return Err(ProviderError::NotRecordingHost(host.to_owned()));
        }
        let mut request = self.http.get(url);
        if self.is_configured() {
            request = request.basic_auth(&self.account_sid, Some(self.auth_token.expose_secret()));
        }
        let mut resp = request.send().await?;
        let status = resp.status();
        if !status.is_success() {
            return Err(refused(status, resp).await);
        }
        if resp.content_length().is_some_and(|n| n > max_bytes as u64) {
            return Err(ProviderError::TooLarge(max_bytes));
        }
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut bytes = Vec::new();
        while let Some(chunk) = resp.chunk().await? {
            if bytes.len() + chunk.len() > max_bytes {
                return Err(ProviderError::TooLarge(max_bytes));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(Media { content_type, bytes })
    }

    fn url(&self, resource: &str) -> String {
        format!(
            "{}/2010-04-01/Accounts/{}/{resource}",
            self.base.as_str().trim_end_matches('/'),
            self.account_sid
        )
    }

    /// Whether an account is set up, so that calls and texts can be sent at all.
    pub fn is_configured(&self) -> bool {
        let sid_ok = !self.account_sid.is_empty() && self.account_sid.bytes().all(|b| b.is_ascii_alphanumeric());
        sid_ok && !self.auth_token.expose_secret().is_empty()
    }

    async fn post(&self, resource: &str, body: String) -> Result<Created, ProviderError> {
        if !self.is_configured() {
            return Err(ProviderError::NotConfigured);
        }
        let resp = self
            .http
            .post(self.url(resource))
            .basic_auth(&self.account_sid, Some(self.auth_token.expose_secret()))
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(reqwest::header::ACCEPT, "application/json")
            .body(body)
            .send()
            .await?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp.json().await?);
        }
        Err(refused(status, resp).await)
    }
}

/// The provider's error, from its JSON body where it sent one.
async fn refused(status: reqwest::StatusCode, resp: reqwest::Response) -> ProviderError {
    let text = resp.text().await.unwrap_or_default();
    let parsed: Option<ErrorBody> = serde_json::from_str(&text).ok();
    ProviderError::Refused {
        status: status.as_u16(),
        code: parsed.as_ref().and_then(|e| e.code),
        message: parsed
            .and_then(|e| e.message)
            .unwrap_or_else(|| text.chars().take(200).collect()),
    }
}

fn call_form(req: &CallRequest) -> String {
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.append_pair("To", &req.to)
        .append_pair("From", &req.from)
        .append_pair("Url", &req.url);
    if let Some(cb) = &req.status_callback {
        form.append_pair("StatusCallback", cb);
        for event in &req.status_callback_events {
            form.append_pair("StatusCallbackEvent", event);
        }
    }
    if let Some(t) = req.timeout_secs {
        form.append_pair("Timeout", &t.to_string());
    }
    if let Some(md) = &req.machine_detection {
        form.append_pair("MachineDetection", md);
    }
    form.finish()
}

fn sms_form(req: &SmsRequest) -> String {
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.append_pair("To", &req.to)
        .append_pair("From", &req.from)
        .append_pair("Body", &req.body);
    if let Some(cb) = &req.status_callback {
        form.append_pair("StatusCallback", cb);
    }
    form.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_parameters_are_repeated_keys() {
        let body = call_form(&CallRequest {
            to: "+8613800138000".into(),
            from: "+862912348".into(),
            url: "https://h.example.org/twilio/voice".into(),
            status_callback: Some("https://h.example.org/s".into()),
            status_callback_events: vec!["initiated".into(), "answered".into()],
            timeout_secs: Some(30),
            machine_detection: Some("Enable".into()),
        });
        assert_eq!(
            body,
            "To=%2B8613800138000&From=%2B862912348&Url=https%3A%2F%2Fh.example.org%2Ftwilio%2Fvoice\
             &StatusCallback=https%3A%2F%2Fh.example.org%2Fs&StatusCallbackEvent=initiated&StatusCallbackEvent=answered\
             &Timeout=30&MachineDetection=Enable"
        );
    }

    #[test]
    fn chinese_text_is_percent_encoded_utf8() {
        let body = sms_form(&SmsRequest {
            to: "+8613800138000".into(),
            from: "+862912348".into(),
            body: "编号 1".into(),
            status_callback: None,
        });
        assert_eq!(body, "To=%2B8613800138000&From=%2B862912348&Body=%E7%BC%96%E5%8F%B7+1");
    }

    #[tokio::test]
    async fn unconfigured_account_is_refused_before_any_request() {
        let client = RestClient::new(
            url::Url::parse("http://127.0.0.1:9").unwrap(),
            "",
            SecretString::from("x"),
            Duration::from_secs(1),
        );
        let err = client.send_sms(&SmsRequest::default()).await.unwrap_err();
        assert!(matches!(err, ProviderError::NotConfigured));
        assert!(!err.is_transient());
    }
}
