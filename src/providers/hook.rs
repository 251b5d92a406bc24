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
    /// Whether a person or a machine answered the caller's leg of this callback assignment.
    Screening { assignment: String },
}

impl Hook {
    /// The route under which `provider`'s adapter takes this hook's report (`/twilio/…`,
    /// `/jambonz/…`; `http::router` serves each adapter's).
    pub fn route(&self, provider: &str) -> String {
        match self {
            Hook::Answer { turn } => format!("/{provider}/voice/menu?turn={turn}"),
            Hook::Recording { turn } => format!("/{provider}/voice/recording?turn={turn}"),
            Hook::Transfer { turn } => format!("/{provider}/voice/dial?turn={turn}"),
            Hook::Resume { key } => format!("/{provider}/voice/resume?d={key}"),
            Hook::Screening { assignment } => format!("/{provider}/callback/caller/screened?a={assignment}"),
        }
    }
}

/// `/twilio/voice/menu` → `https://public.example/prefix/twilio/voice/menu` (the public URL may
/// carry a path prefix behind a proxy); absolute URLs are left as they are.
pub fn absolute(base: &url::Url, path: &str) -> String {
    if path.starts_with('/') {
        format!("{}{path}", base.as_str().trim_end_matches('/'))
    } else {
        path.to_owned()
    }
}
