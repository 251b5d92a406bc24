//! One integration test binary: each test starts the real service on port 0 with its own
//! database (a SQLite file, or a fresh PostgreSQL database) and its own Redis key prefix, and
//! talks to it as the provider would. Every test runs once per database backend.

mod helpers;
mod jambonz_line;
mod legs;
mod provider;
mod turns;

mod accuracy;
mod aliyun;
mod application;
mod binary;
mod browser;
mod callback;
mod caller;
mod desk;
mod exactly_once;
mod health;
mod interleaved;
mod ivr;
mod jambonz;
mod layers;
mod listen;
mod neural_voice;
mod offers;
mod openapi;
mod overload;
mod phrases;
mod playback;
mod queue;
mod resilience;
mod retention;
mod roster;
mod roster_page;
mod security;
mod sessions;
mod settings;
mod shift;
mod simulate;
mod sms;
mod speech;
mod status_order;
mod storage_faults;
mod voice;
mod webhooks;
