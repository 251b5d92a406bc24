//! The life of one callback attempt: a waiting consultation offered to a lawyer, accepted, the
//! lawyer called first, then the caller, connected — or one of the ways it ends short.

/// Stored as the lower-case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignmentState {
    /// Reserved for one lawyer until the offer lapses.
    Offered,
    Accepted,
    CallingLawyer,
    CallingCaller,
    Connected,
    Completed,
    Declined,
    Lapsed,
    /// The lawyer did not answer their own phone; the case goes back to the queue.
    LawyerUnreachable,
    /// The caller did not answer (busy, no answer, failed, or a machine): a failed attempt.
    NoAnswer,
    /// The lawyer hung up before the caller answered: not the caller's failed attempt; the case
    /// goes back to the queue at once.
    LawyerLeft,
}

impl AssignmentState {
    pub const ALL: [AssignmentState; 11] = [
        AssignmentState::Offered,
        AssignmentState::Accepted,
        AssignmentState::CallingLawyer,
        AssignmentState::CallingCaller,
        AssignmentState::Connected,
        AssignmentState::Completed,
        AssignmentState::Declined,
        AssignmentState::Lapsed,
        AssignmentState::LawyerUnreachable,
        AssignmentState::NoAnswer,
        AssignmentState::LawyerLeft,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AssignmentState::Offered => "offered",
            AssignmentState::Accepted => "accepted",
            AssignmentState::CallingLawyer => "calling_lawyer",
            AssignmentState::CallingCaller => "calling_caller",
            AssignmentState::Connected => "connected",
            AssignmentState::Completed => "completed",
            AssignmentState::Declined => "declined",
            AssignmentState::Lapsed => "lapsed",
            AssignmentState::LawyerUnreachable => "lawyer_unreachable",
            AssignmentState::NoAnswer => "no_answer",
            AssignmentState::LawyerLeft => "lawyer_left",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }

    /// An offer or a call not yet through: the lawyer gets no other offer meanwhile.
    pub fn is_pending(self) -> bool {
        self.is_active() && self != AssignmentState::Connected
    }

    /// The lawyer is busy with it: counts against their `max_cases`.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            AssignmentState::Offered
                | AssignmentState::Accepted
                | AssignmentState::CallingLawyer
                | AssignmentState::CallingCaller
                | AssignmentState::Connected
        )
    }
}

/// A lawyer's availability, set by the lawyer (available / offline) and by the service while
/// they are on a callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    Available,
    Busy,
    Offline,
    OnCall,
}

impl Presence {
    pub const ALL: [Presence; 4] = [Presence::Available, Presence::Busy, Presence::Offline, Presence::OnCall];

    pub fn as_str(self) -> &'static str {
        match self {
            Presence::Available => "available",
            Presence::Busy => "busy",
            Presence::Offline => "offline",
            Presence::OnCall => "on_call",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in AssignmentState::ALL {
            assert_eq!(AssignmentState::parse(s.as_str()), Some(s));
        }
        for p in Presence::ALL {
            assert_eq!(Presence::parse(p.as_str()), Some(p));
        }
        assert!(AssignmentState::Offered.is_active() && !AssignmentState::NoAnswer.is_active());
    }
}
