//! A telephony provider's webhooks: where they arrive, how a delivery is verified and read,
//! and how an answer is written. The HTTP edge runs one pipeline for every provider over this
//! trait (verify, identify the delivery, store, handle, remember); each adapter supplies its
//! routes, its signature and its document format.

use axum::http::HeaderMap;

use super::{Action, InboundEvent, WebhookKind};

/// What a webhook's URL says about the call, beyond the provider's own fields.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// The IVR turn (`turn=`), 0 when absent.
    pub turn: u32,
    /// The callback assignment (`a=`) of a callback leg's webhooks.
    pub assignment: Option<String>,
    /// The stored outbound message (`m=`) a reply's delivery report is about.
    pub message: Option<String>,
    /// The delivery a held caller comes back for (`d=`, see [`Route::Resume`]).
    pub delivery: Option<String>,
}

impl Context {
    /// The context in a webhook URL's query. A turn that does not parse is taken as the first:
    /// stale for a call past it, so it changes nothing; ids that are not ids are dropped.
    pub fn from_query(query: Option<&str>) -> Self {
        let get = |name: &str| {
            query
                .and_then(|q| form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == name))
                .map(|(_, v)| v.into_owned())
        };
        let id = |v: &String| v.len() <= 64 && v.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
        Self {
            turn: get("turn").map_or(0, |v| v.parse::<u32>().ok().filter(|t| *t > 0).unwrap_or(1)),
            assignment: get("a").filter(id),
            message: get("m").filter(id),
            delivery: get("d")
                .filter(|d| d.len() <= 100 && d.bytes().all(|b| b.is_ascii_alphanumeric() || b":-_".contains(&b))),
        }
    }
}

/// One webhook request as it arrived.
#[derive(Debug)]
pub struct Incoming<'a> {
    /// The URL the provider called: the configured public URL plus this request's path and
    /// query, never the Host header (behind a proxy or tunnel they differ).
    pub url: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

impl Incoming<'_> {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Whether the body is declared as this media type (parameters such as charset aside).
    pub fn is_media_type(&self, expected: &str) -> bool {
        self.header(axum::http::header::CONTENT_TYPE.as_str())
            .and_then(|ct| ct.split(';').next())
            .is_some_and(|t| t.trim().eq_ignore_ascii_case(expected))
    }
}

/// A verified, parsed delivery.
#[derive(Debug)]
pub struct Delivery {
    pub event: InboundEvent,
    pub context: Context,
    /// Identifies this delivery across retries: a hash of the signed content, never a header a
    /// replay could change.
    pub signed_key: String,
    /// The payload as the provider sent it, every field kept (stored encrypted).
    pub payload: serde_json::Value,
}

/// Why a webhook request is refused.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("missing or invalid {0}")]
    Forged(&'static str),
    #[error("the body must be {0}")]
    MediaType(&'static str),
    #[error("{0}")]
    Malformed(String),
}

/// What a route of a provider receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// A webhook delivery of this kind.
    Hook(WebhookKind),
    /// Where a held caller comes back (`Hook::Resume`): the answer waited for, else the call's
    /// current prompt; it changes nothing.
    Resume,
    /// Where the provider collects a document the adapter wrote into the URL earlier (a call
    /// update, for a provider whose update takes a URL, not a document); it changes nothing.
    Continue,
}

/// What a verified webhook request turned out to be.
#[derive(Debug)]
pub enum Received {
    /// A delivery for the pipeline.
    Delivery(Box<Delivery>),
    /// Something the adapter answers itself from what it wrote into the URL (the rest of a
    /// document after a wait nobody answered); nothing changes.
    Answer(String),
}

/// A route an adapter serves outside the webhook pipeline (a media stream), with its own state.
pub type MediaRoute = (&'static str, axum::routing::MethodRouter);

pub trait Wire: Send + Sync {
    /// The provider's name, as stored with its calls and deliveries.
    fn name(&self) -> &'static str;
    /// Every path the provider posts to, and what arrives there.
    fn routes(&self) -> Vec<(&'static str, Route)>;
    /// Verifies the signature, then reads the delivery.
    fn read(&self, kind: WebhookKind, incoming: &Incoming<'_>) -> Result<Received, Refusal>;
    /// Verifies a resume request and returns the call it is about, with its context.
    fn read_resume(&self, incoming: &Incoming<'_>) -> Result<(String, Context), Refusal>;
    /// Actions as this provider's answer document for `call` (None: a document for no call in
    /// particular, such as the fallback).
    fn render(&self, call: Option<&str>, actions: &[Action]) -> String;
    /// The answer document's Content-Type.
    fn content_type(&self) -> &'static str;
    /// Verifies a [`Route::Continue`] request and returns the document it carries.
    fn read_continue(&self, _incoming: &Incoming<'_>) -> Result<String, Refusal> {
        Err(Refusal::Malformed("this provider has no continuation route".into()))
    }
    /// Routes outside the pipeline.
    fn media_routes(&self) -> Vec<MediaRoute> {
        Vec::new()
    }
}
