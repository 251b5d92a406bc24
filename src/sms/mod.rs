//! SMS: reading what a texter sent (keywords, menu answers, free text) and how long a text is
//! in SMS segments, with splitting of long texts.

pub mod keywords;
pub mod segments;

pub use segments::{count, split, Encoding, SegmentCount};

/// The signature every automatic text starts with.
pub const SIGNATURE: &str = "【12348】";
