//! Telephony and SMS providers. The rest of the service speaks only the provider-neutral
//! [`InboundEvent`], [`Action`] and [`Hook`] types; each provider folder turns its wire format into events
//! and actions into its response format, and has its own REST client.

pub mod action;
pub mod aliyun;
pub mod event;
pub mod hook;
pub mod jambonz;
pub mod kind;
pub mod port;
pub mod twilio;
pub mod wire;

pub use action::{readings, Action, GatherInput, Reading, NORMAL_SPEED};
pub use event::{CallStatus, Direction, InboundEvent, Leg, MessageStatus};
pub use hook::Hook;
pub use kind::WebhookKind;
pub use port::{Deleted, Media, Messaging, OutboundCall, OutboundSms, ProviderError, Telephony};
pub use wire::{Context, Delivery, Incoming, MediaRoute, Received, Refusal, Route, Wire};
