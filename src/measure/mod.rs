//! Measurements of the hotline's speech, for the commands and tests that report them: the phrase
//! inventory of every listening node, recognition judged against it, batch recognition of
//! files, character error rates, and how long the prompts take to hear.

pub mod batch;
pub mod cer;
pub mod durations;
pub mod eval;
pub mod inventory;
