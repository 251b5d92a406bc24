//! The command groups of `hotline`, one file each: the service, the settings, the roster, staff
//! accounts, text messages, callbacks and the queue, speech output, speech input, and the
//! simulator.

pub mod callbacks;
pub mod config;
pub mod listening;
pub mod roster;
pub mod service;
pub mod simulate;
pub mod sms;
pub mod speech;
pub mod users;

use hotline::config::{IvrSettings, Settings};
use hotline::domain::Regions;
use hotline::ivr::Flow;
use hotline::prompts::Prompts;

/// The configured flow and its prompts.
pub fn load_flow(settings: &Settings) -> anyhow::Result<(Flow, Prompts)> {
    let prompts = Prompts::load(IvrSettings::file(&settings.ivr.prompts_file))?;
    let regions = Regions::load(IvrSettings::file(&settings.ivr.regions_file))?;
    let flow = Flow::load(IvrSettings::file(&settings.ivr.flow_file), &prompts, regions)?;
    Ok((flow, prompts))
}
