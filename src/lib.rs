//! `hotline`: the backend of an accessible 12348 public legal-service hotline.
//!
//! A telephony provider (Twilio or jambonz) posts call events, and an SMS provider (Twilio or
//! Aliyun) text events, to the HTTP edge; the IVR decides what the caller hears; consultations
//! are kept in SQL and queued in Redis for a lawyer's callback.
//!
//! # Layout
//! - [`http`] receives webhooks and checks signatures, then [`inbound`] acts on the events;
//! - [`ivr`] is the pure menu logic and what it says; [`providers`] translates wire formats;
//! - [`storage`] (SQL) is the record, [`kv`] and [`routing`] the Redis side;
//! - [`speech`] renders what the IVR says as telephone audio; [`asr`] recognises what callers say;
//! - [`domain`] holds the validated value types, [`crypto`] protects personal data.

/// The shared handles every layer takes: settings, database, Redis, voice, speech input.
pub mod app;
/// Speech input: recordings recognised with whisper.cpp, matched to menu options.
pub mod asr;
/// Staff sign-in: passwords, sessions, API tokens, the login rate limit, roles.
pub mod auth;
/// Settings: compiled-in defaults, a file, `HOTLINE_*` environment variables.
pub mod config;
/// Encryption and keyed look-up hashes for personal data at rest.
pub mod crypto;
/// The duty desk: queue, offers, cases, notes, closing, roster, with every role check.
pub mod desk;
/// Validated value types: phone numbers, tickets, consultation states.
pub mod domain;
/// The HTTP edge: webhook routes, health, metrics.
pub mod http;
/// What the service does with each provider event.
pub mod inbound;
/// The voice menus: flow files, the pure engine, prompts.
pub mod ivr;
/// Background jobs run beside the server.
pub mod jobs;
/// Redis: IVR sessions and webhook de-duplication.
pub mod kv;
/// Measurements of speech: the phrase inventory, recognition evaluations, prompt durations.
pub mod measure;
/// Prometheus metrics: every one described and registered at start, with build info.
pub mod meters;
/// SMS to callers and lawyers: the automatic texts, lawyers' replies, retries.
pub mod notify;
/// The words the hotline says and writes, per language, with placeholders filled.
pub mod prompts;
/// Provider-neutral events and actions, the provider ports, and the Twilio, jambonz and Aliyun adapters.
pub mod providers;
/// The callback queue in Redis and its reconciliation with SQL.
pub mod routing;
/// Running the service and the worker, with graceful shutdown.
pub mod server;
/// `hotline simulate`: the provider's part, played against a running server.
pub mod simulate;
/// SMS: segment counting and splitting.
pub mod sms;
/// Speech output: synthesised Mandarin prompts as telephone audio, cached and served.
pub mod speech;
/// SQL storage on SQLite or PostgreSQL.
pub mod storage;
/// Logging with redaction of phone and ID numbers.
pub mod telemetry;
