//! Aliyun (阿里云) SMS: the upstream push of texts people send to the hotline's number and the
//! delivery reports of ours ([`push`]), and the sender, `SendSms` of the Dysmsapi API
//! ([`sender`]) with its RPC signature ([`signature`]).

pub mod push;
pub mod sender;
pub mod signature;

pub use push::{parse_push, parse_reports, PushError, Report, UpstreamSms, RECEIVED};
pub use sender::Aliyun;
