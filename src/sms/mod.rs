//! SMS conversations. For now: how long a text is in SMS segments, and splitting long texts.

pub mod segments;

pub use segments::{count, split, Encoding, SegmentCount};
