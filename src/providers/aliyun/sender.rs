//! Texts through Aliyun's `SendSms` (Dysmsapi 2017-05-25): a POST of the signed parameters to
//! `aliyun.sms_endpoint`. Mainland SMS must use an approved signature (`SignName`) and
//! template (`TemplateCode`): the hotline's text goes in the template's one parameter
//! (`aliyun.template_param`, e.g. a template `${content}`). Aliyun takes at most 500
//! characters; a longer text goes as several, and the first part's `BizId` names it.
//! Aliyun adds the approved signature (【…】) itself, so the text's own is left out.
//! The answer is `{"Code":"OK","BizId":…}`; any other code is a refusal, and throttling or
//! Aliyun's own faults are worth a retry.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};

use super::signature::{canonical, sign};
use crate::config::Settings;
use crate::providers::{Messaging, OutboundSms, ProviderError};

/// Aliyun's limit of one text.
const MAX_CHARS: usize = 500;

#[derive(Debug, Clone)]
pub struct Aliyun {
    http: reqwest::Client,
    endpoint: url::Url,
    access_key_id: String,
    access_key_secret: SecretString,
    sign_name: String,
    template_code: String,
    template_param: String,
}

impl Aliyun {
    pub fn from_settings(settings: &Settings) -> Self {
        let a = &settings.aliyun;
        Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_millis(a.request_timeout_ms))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("a plain HTTP client builds"),
            endpoint: a.sms_endpoint.clone(),
            access_key_id: a.access_key_id.clone(),
            access_key_secret: a.access_key_secret.clone(),
            sign_name: a.sign_name.clone(),
            template_code: a.template_code.clone(),
            template_param: a.template_param.clone(),
        }
    }

    /// The signed parameters of one `SendSms`.
    pub fn request(&self, to: &str, text: &str, timestamp: &str, nonce: &str) -> Vec<(&'static str, String)> {
        let mut params = vec![
            ("AccessKeyId", self.access_key_id.clone()),
            ("Action", "SendSms".to_owned()),
            ("Format", "JSON".to_owned()),
            ("PhoneNumbers", aliyun_number(to)),
            ("SignName", self.sign_name.clone()),
            ("SignatureMethod", "HMAC-SHA1".to_owned()),
            ("SignatureNonce", nonce.to_owned()),
            ("SignatureVersion", "1.0".to_owned()),
            ("TemplateCode", self.template_code.clone()),
            ("TemplateParam", json!({ &self.template_param: text }).to_string()),
            ("Timestamp", timestamp.to_owned()),
            ("Version", "2017-05-25".to_owned()),
        ];
        let signature = sign(&params, self.access_key_secret.expose_secret());
        params.push(("Signature", signature));
        params
    }

    async fn send_one(&self, to: &str, text: &str) -> Result<String, ProviderError> {
        let timestamp = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let params = self.request(to, text, &timestamp, &uuid::Uuid::new_v4().to_string());
        let response = self
            .http
            .post(self.endpoint.clone())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(canonical(&params))
            .send()
            .await?;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let code = answer["Code"].as_str().unwrap_or_default();
        match (code, answer["BizId"].as_str()) {
            ("OK", Some(id)) => Ok(id.to_owned()),
            _ => Err(ProviderError::Refused {
                // Throttling and Aliyun's own faults may pass; anything else will not.
                status: match code {
                    c if c.contains("LIMIT_CONTROL") || c.starts_with("Throttling") => 429,
                    c if c.starts_with("isp.") || c.is_empty() && status >= 500 => 503,
                    _ if status >= 400 => status,
                    _ => 400,
                },
                code: None,
                message: format!("{code}: {}", answer["Message"].as_str().unwrap_or(&text)),
            }),
        }
    }
}

/// Aliyun's numbers: a mainland mobile as its 11 digits, others with the country code, no `+`.
fn aliyun_number(e164: &str) -> String {
    let digits = e164.trim_start_matches('+');
    digits.strip_prefix("86").unwrap_or(digits).to_owned()
}

#[async_trait::async_trait]
impl Messaging for Aliyun {
    fn is_configured(&self) -> bool {
        !self.access_key_id.is_empty()
            && !self.access_key_secret.expose_secret().is_empty()
            && !self.sign_name.is_empty()
            && !self.template_code.is_empty()
    }

    async fn send_sms(&self, sms: &OutboundSms<'_>) -> Result<String, ProviderError> {
        if !self.is_configured() {
            return Err(ProviderError::NotConfigured);
        }
        // Aliyun puts the approved signature in front itself: the text's own 【…】 would be a
        // second one.
        let body = match sms.body.strip_prefix('【').and_then(|rest| rest.split_once('】')) {
            Some((_, text)) => text,
            None => sms.body,
        };
        let chars: Vec<char> = body.chars().collect();
        let mut first = None;
        for part in chars.chunks(MAX_CHARS) {
            let id = self.send_one(sms.to, &part.iter().collect::<String>()).await?;
            first.get_or_insert(id);
        }
        first.ok_or_else(|| ProviderError::Refused {
            status: 400,
            code: None,
            message: "an empty text is not sent".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::aliyun_number;

    #[test]
    fn numbers_lose_the_plus_and_a_mainland_country_code() {
        assert_eq!(aliyun_number("+8613800000000"), "13800000000");
        assert_eq!(aliyun_number("+85291234567"), "85291234567");
    }
}
