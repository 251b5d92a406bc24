//! The voice menus, free of I/O: [`flow`] loads and checks the menu tree (data in
//! `config/flows/`), [`engine::step`] decides each turn, [`script`] turns the engine's lines and
//! waits into provider-neutral actions, [`listen`] names what a caller may say at each node.
//! The HTTP edge does the storage and queueing between them.

pub mod engine;
pub mod flow;
pub mod listen;
pub mod script;

pub use engine::{step, Ask, CallState, Event, Line, Next, Profile, Recording, Reply, Task};
pub use flow::Flow;
