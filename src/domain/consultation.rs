//! A consultation: one person's legal question, from first contact until it is closed.

/// How the person reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Voice,
    Sms,
}

impl Channel {
    pub const ALL: [Channel; 2] = [Channel::Voice, Channel::Sms];

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == value)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Voice => "voice",
            Channel::Sms => "sms",
        }
    }
}

/// Where a consultation stands. Stored as the lower-case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsultationStatus {
    /// Waiting in the callback queue for a lawyer.
    WaitingCallback,
    /// A lawyer has it.
    InProgress,
    /// Every callback attempt failed; the caller was told by SMS how to reach us.
    Unreachable,
    Closed,
}

impl ConsultationStatus {
    pub const ALL: [ConsultationStatus; 4] = [
        ConsultationStatus::WaitingCallback,
        ConsultationStatus::InProgress,
        ConsultationStatus::Unreachable,
        ConsultationStatus::Closed,
    ];

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ConsultationStatus::WaitingCallback => "waiting_callback",
            ConsultationStatus::InProgress => "in_progress",
            ConsultationStatus::Unreachable => "unreachable",
            ConsultationStatus::Closed => "closed",
        }
    }
}
