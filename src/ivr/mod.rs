//! The voice menu, free of I/O: [`menu::step`] decides, [`script`] turns a decision into the
//! provider-neutral actions a caller hears. The HTTP edge does the storage and queueing between
//! the two.

pub mod menu;
pub mod prompts;
pub mod script;

pub use menu::{step, Decision, Notice, Session, Turn};
pub use prompts::Prompts;
