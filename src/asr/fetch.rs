//! Fetching a caller's recording from the provider: only from the configured hosts, with the
//! account's credentials, within a size and time limit.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use super::AsrError;

#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    hosts: Vec<String>,
    account_sid: String,
    auth_token: SecretString,
    max_bytes: usize,
}

impl Fetcher {
    pub fn new(hosts: Vec<String>, account_sid: &str, auth_token: SecretString, max_bytes: usize) -> Self {
        Self {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("a plain HTTP client builds"),
            hosts,
            account_sid: account_sid.to_owned(),
            auth_token,
            max_bytes,
        }
    }

    /// The recording as WAV bytes (Twilio serves WAV at the bare RecordingUrl).
    pub async fn fetch(&self, recording_url: &str, timeout: Duration) -> Result<Vec<u8>, AsrError> {
        let url = url::Url::parse(recording_url).map_err(|e| AsrError::Fetch(format!("bad URL: {e}")))?;
        let host = url.host_str().unwrap_or_default();
        if !matches!(url.scheme(), "https" | "http") || !self.hosts.iter().any(|h| h == host) {
            return Err(AsrError::Fetch(format!(
                "host {host} is not a recording host (whisper.recording_hosts)"
            )));
        }
        let mut request = self.client.get(url).timeout(timeout);
        if !self.account_sid.is_empty() {
            request = request.basic_auth(&self.account_sid, Some(self.auth_token.expose_secret()));
        }
        let mut response = request.send().await.map_err(|e| AsrError::Fetch(e.to_string()))?;
        if !response.status().is_success() {
            return Err(AsrError::Fetch(format!("the provider answered {}", response.status())));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| AsrError::Fetch(e.to_string()))? {
            if body.len() + chunk.len() > self.max_bytes {
                return Err(AsrError::Fetch(format!("recording over {} bytes", self.max_bytes)));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn recordings_come_only_from_the_configured_hosts() {
        let f = Fetcher::new(vec!["api.twilio.com".into()], "AC1", "token".to_owned().into(), 1000);
        for url in [
            "https://evil.example.com/2010-04-01/Accounts/AC1/Recordings/RE1",
            "file:///etc/passwd",
            "ftp://api.twilio.com/r",
            "not a url",
        ] {
            let err = f.fetch(url, Duration::from_secs(1)).await.unwrap_err();
            assert!(matches!(err, AsrError::Fetch(_)), "{url}: {err}");
        }
    }
}
