//! Aliyun's pushes: texts people send to the hotline's SMS number (SmsUp) and the delivery
//! reports of ours (SmsReport), each delivered as a JSON array to a URL of ours. They are not
//! signed, so the URL carries a secret and only configured addresses may post (see
//! `http::aliyun`). We answer `{"code":0,"msg":"接收成功"}`; anything else makes Aliyun deliver
//! again.
//!
//! An upstream text: `[{"phone_number":"13800000000","send_time":"2026-11-29 10:00:00",
//! "content":"你好","sign_name":"12348","dest_code":"1234","sequence_id":1234567890}]`
//!
//! A delivery report: `[{"phone_number":"13800000000","send_time":"2026-11-29 10:00:00",
//! "report_time":"2026-11-29 10:00:05","success":true,"err_code":"DELIVERED",
//! "err_msg":"用户接收成功","sms_size":"1","biz_id":"932702304080415357^0","out_id":""}]`

use serde::Deserialize;

use crate::providers::MessageStatus;

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
#[error("not an Aliyun {kind}: {reason}")]
pub struct PushError {
    kind: &'static str,
    reason: String,
}

pub fn parse_push(body: &[u8]) -> Result<Vec<UpstreamSms>, PushError> {
    serde_json::from_slice(body).map_err(|e| PushError {
        kind: "upstream SMS push",
        reason: e.to_string(),
    })
}

/// One delivery report: `biz_id` is the id `SendSms` returned.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Report {
    pub biz_id: String,
    pub success: bool,
    #[serde(default)]
    pub err_code: String,
}

impl Report {
    pub fn status(&self) -> MessageStatus {
        match self.success {
            true => MessageStatus::Delivered,
            false => MessageStatus::Undelivered,
        }
    }
}

pub fn parse_reports(body: &[u8]) -> Result<Vec<Report>, PushError> {
    serde_json::from_slice(body).map_err(|e| PushError {
        kind: "delivery report",
        reason: e.to_string(),
    })
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

    #[test]
    fn reads_delivery_reports() {
        let body = r#"[{"phone_number":"13800000000","send_time":"2026-11-29 10:00:00","report_time":"2026-11-29 10:00:05","success":true,"err_code":"DELIVERED","err_msg":"用户接收成功","sms_size":"1","biz_id":"932702304080415357^0","out_id":""},
            {"phone_number":"13800000000","success":false,"err_code":"MK:0001","biz_id":"1^0"}]"#;
        let reports = parse_reports(body.as_bytes()).unwrap();
        assert_eq!(reports[0].biz_id, "932702304080415357^0");
        assert_eq!(reports[0].status(), MessageStatus::Delivered);
        assert_eq!(
            (reports[1].status(), reports[1].err_code.as_str()),
            (MessageStatus::Undelivered, "MK:0001")
        );
        assert!(parse_reports(b"[{\"success\":true}]").is_err(), "no biz_id");
    }
}
