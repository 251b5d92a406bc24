//! Where a provider reports what happened next on a call, named by what it continues. The IVR
//! and the callback routing say "the answer to turn 3" or "the recording of turn 5"; each
//! adapter turns a hook into its own address.

/// The next report a call's document asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hook {
    /// The answer to this turn's question: keys, speech, or nothing.
    Answer { turn: u32 },
    /// The message recorded at this turn (or the key that ended it).
    Recording { turn: u32 },
    /// How the transfer to a person made at this turn ended.
    Transfer { turn: u32 },
    /// A held call collects the answer worked on under `key`.
    Resume { key: String },
}
