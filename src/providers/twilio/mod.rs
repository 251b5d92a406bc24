//! The Twilio wire format, also spoken by SignalWire and Telnyx TeXML: signed form webhooks in,
//! TwiML out, and a REST API for outbound calls and SMS.

pub mod adapter;
mod hooks;
pub mod rest;
pub mod signature;
pub mod twiml;
pub mod webhook;

pub use adapter::Twilio;
pub use rest::{CallRequest, Created, RestClient, SmsRequest};
pub use signature::{Validator, SIGNATURE_HEADER};
pub use webhook::{parse_event, WebhookError};
