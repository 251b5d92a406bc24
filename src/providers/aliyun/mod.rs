//! Aliyun (阿里云) SMS upstream push: replies to the hotline's SMS number, delivered as a JSON
//! array to a URL of ours. The push is not signed, so the URL carries a secret and only
//! configured addresses may post (see `http::aliyun`). We answer `{"code":0,"msg":"接收成功"}`;
//! anything else makes Aliyun deliver again.
//!
//! A body: `[{"phone_number":"13800000000","send_time":"2026-11-29 10:00:00","content":"你好",
//! "sign_name":"12348","dest_code":"1234","sequence_id":1234567890}]`

use serde::Deserialize;

/// One text a person sent.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct UpstreamSms {
    pub phone_number: String,
    pub content: String,
    #[serde(default)]
    pub send_time: String,
    #[serde(default)]
    pub dest_code: String,
    /// Aliyun's id of the message: the same on every redelivery.
    pub sequence_id: i64,
}

impl UpstreamSms {
    /// Our id for the message, unique across providers.
    pub fn message_id(&self) -> String {
        format!("aliyun-{}", self.sequence_id)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("not an Aliyun upstream SMS push: {0}")]
pub struct PushError(String);

pub fn parse_push(body: &[u8]) -> Result<Vec<UpstreamSms>, PushError> {
    serde_json::from_slice(body).map_err(|e| PushError(e.to_string()))
}

/// The answer that tells Aliyun the push was received.
pub const RECEIVED: &str = r#"{"code":0,"msg":"接收成功"}"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_documented_shape() {
        let body = r#"[{"phone_number":"13800000000","send_time":"2026-11-29 10:00:00","content":"你好","sign_name":"12348","dest_code":"1234","sequence_id":1234567890,"extra":1}]"#;
        let items = parse_push(body.as_bytes()).unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(
            (items[0].phone_number.as_str(), items[0].content.as_str()),
            ("13800000000", "你好")
        );
        assert_eq!(items[0].message_id(), "aliyun-1234567890");
        assert!(parse_push(b"{\"phone_number\":1}").is_err());
        assert!(
            parse_push(b"[{\"content\":\"x\"}]").is_err(),
            "no number, no sequence id"
        );
    }
}
