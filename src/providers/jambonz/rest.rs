//! jambonz's REST API (`<api_base>/v1/`, `Authorization: Bearer <api key>`), as
//! `@jambonz/node-client` calls it: create a call (`POST Accounts/{sid}/Calls`, 201 with the
//! call's `sid`) and update one (`PUT Accounts/{sid}/Calls/{call}`, 200, 202 or 204).

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::providers::ProviderError;

#[derive(Debug, Clone)]
pub struct RestClient {
    http: reqwest::Client,
    base: String,
    account_sid: String,
    api_key: SecretString,
}

impl RestClient {
    pub fn new(api_base: &url::Url, account_sid: &str, api_key: SecretString, timeout: Duration) -> Self {
        let base = api_base.as_str().trim_end_matches('/');
        let base = match base.ends_with("/v1") {
            true => format!("{base}/"),
            false => format!("{base}/v1/"),
        };
        Self {
            http: reqwest::Client::builder()
                .timeout(timeout)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("a plain HTTP client builds"),
            base,
            account_sid: account_sid.to_owned(),
            api_key,
        }
    }

    pub fn is_configured(&self) -> bool {
        !self.account_sid.is_empty() && !self.api_key.expose_secret().is_empty()
    }

    fn calls(&self) -> String {
        format!("{}Accounts/{}/Calls", self.base, self.account_sid)
    }

    /// Creates a call; returns its sid.
    pub async fn create_call(&self, body: &Value) -> Result<String, ProviderError> {
        if !self.is_configured() {
            return Err(ProviderError::NotConfigured);
        }
        let response = self
            .http
            .post(self.calls())
            .bearer_auth(self.api_key.expose_secret())
            .json(body)
            .send()
            .await?;
        let status = response.status();
        if status != reqwest::StatusCode::CREATED {
            return Err(refused(status, response).await);
        }
        let created: Value = response.json().await?;
        created
            .get("sid")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| ProviderError::Refused {
                status: status.as_u16(),
                code: None,
                message: "the created call has no sid".into(),
            })
    }

    /// Changes a call in progress.
    pub async fn update_call(&self, call_sid: &str, body: &Value) -> Result<(), ProviderError> {
        if !self.is_configured() {
            return Err(ProviderError::NotConfigured);
        }
        let response = self
            .http
            .put(format!("{}/{call_sid}", self.calls()))
            .bearer_auth(self.api_key.expose_secret())
            .json(body)
            .send()
            .await?;
        match response.status().as_u16() {
            200 | 202 | 204 => Ok(()),
            _ => Err(refused(response.status(), response).await),
        }
    }
}

async fn refused(status: reqwest::StatusCode, response: reqwest::Response) -> ProviderError {
    let text = response.text().await.unwrap_or_default();
    let message = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| {
            v.get("msg")
                .or_else(|| v.get("message"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| text.chars().take(200).collect());
    ProviderError::Refused {
        status: status.as_u16(),
        code: None,
        message,
    }
}
