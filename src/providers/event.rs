//! What a provider tells us, independent of its wire format.

/// One webhook delivery, parsed. Every variant keeps the provider's call or message id; the raw
/// payload (with any fields not modelled here) is stored separately, never dropped.
#[derive(Debug, Clone, PartialEq)]
pub enum InboundEvent {
    /// A call reached the hotline number.
    CallStarted {
        call_sid: String,
        /// As the provider sent it: may be withheld ("anonymous") or not a phone number.
        from: String,
        to: String,
    },
    /// A `Gather` finished: the keys pressed (empty when the caller pressed nothing) and, when
    /// speech input was on, what the provider recognised.
    KeysGathered {
        call_sid: String,
        digits: String,
        speech: Option<String>,
    },
    /// A `Record` finished. A key pressed before anything was said, or an empty recording,
    /// comes without a recording URL: a normal turn, not an error.
    RecordingReady {
        call_sid: String,
        recording_url: Option<String>,
        duration_secs: Option<u32>,
        /// The key that ended the recording, if a key did.
        digits: Option<String>,
    },
    /// A `Dial` finished.
    DialFinished { call_sid: String, status: CallStatus },
    /// A call changed state (status callback), including its end. Reports may come in any
    /// order, even before the call's own webhook: they carry what is needed to record the call.
    CallStatusChanged {
        call_sid: String,
        status: CallStatus,
        duration_secs: Option<u32>,
        /// The caller and the number called, when the report has them.
        from: Option<String>,
        to: Option<String>,
        direction: Direction,
    },
    /// The provider could not use our answer and asks the fallback URL instead.
    VoiceFallback {
        call_sid: String,
        error_code: Option<String>,
    },
    /// A leg of a callback the service placed was answered: the provider asks what to do.
    /// `answered_by` is the answering-machine verdict where detection was on.
    CallbackAnswered {
        call_sid: String,
        leg: Leg,
        answered_by: Option<String>,
    },
    /// The answering-machine verdict on a callback's caller leg, reported after the leg was
    /// answered: `human`, `machine` or `unknown`.
    CallbackScreened { call_sid: String, answered_by: String },
    /// A leg of a callback changed state (status callback).
    CallbackStatus {
        call_sid: String,
        leg: Leg,
        status: CallStatus,
    },
    SmsReceived {
        message_sid: String,
        from: String,
        to: String,
        body: String,
    },
    SmsStatusChanged {
        message_sid: String,
        status: MessageStatus,
        error_code: Option<String>,
    },
}

/// The two calls of a callback: the lawyer first, then the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leg {
    Lawyer,
    Caller,
}

/// Which way a call goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Inbound,
    Outbound,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }
}

/// Call states, provider-neutral.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallStatus {
    Queued,
    Ringing,
    InProgress,
    Completed,
    Busy,
    NoAnswer,
    Failed,
    Canceled,
    Unknown,
}

impl CallStatus {
    pub const ALL: [CallStatus; 9] = [
        CallStatus::Queued,
        CallStatus::Ringing,
        CallStatus::InProgress,
        CallStatus::Completed,
        CallStatus::Busy,
        CallStatus::NoAnswer,
        CallStatus::Failed,
        CallStatus::Canceled,
        CallStatus::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CallStatus::Queued => "queued",
            CallStatus::Ringing => "ringing",
            CallStatus::InProgress => "in_progress",
            CallStatus::Completed => "completed",
            CallStatus::Busy => "busy",
            CallStatus::NoAnswer => "no_answer",
            CallStatus::Failed => "failed",
            CallStatus::Canceled => "canceled",
            CallStatus::Unknown => "unknown",
        }
    }

    pub fn is_final(self) -> bool {
        matches!(
            self,
            CallStatus::Completed | CallStatus::Busy | CallStatus::NoAnswer | CallStatus::Failed | CallStatus::Canceled
        )
    }

    /// How far along a call is: queued → ringing → in progress → ended. Status callbacks may
    /// arrive in any order, so a call only moves to a higher rank; every final status has the
    /// same rank, so the first end reported is the one kept. An unrecognised status moves
    /// nothing.
    pub fn rank(self) -> i64 {
        match self {
            CallStatus::Unknown => 0,
            CallStatus::Queued => 1,
            CallStatus::Ringing => 2,
            CallStatus::InProgress => 3,
            CallStatus::Completed
            | CallStatus::Busy
            | CallStatus::NoAnswer
            | CallStatus::Failed
            | CallStatus::Canceled => 4,
        }
    }
}

/// SMS delivery states, provider-neutral, in the order they normally happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MessageStatus {
    Queued,
    Sent,
    Delivered,
    Undelivered,
    Failed,
    Received,
    Unknown,
}

impl MessageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Queued => "queued",
            MessageStatus::Sent => "sent",
            MessageStatus::Delivered => "delivered",
            MessageStatus::Undelivered => "undelivered",
            MessageStatus::Failed => "failed",
            MessageStatus::Received => "received",
            MessageStatus::Unknown => "unknown",
        }
    }

    /// Status callbacks may arrive out of order: a later stage never goes back to an earlier one.
    pub fn rank(self) -> i64 {
        match self {
            MessageStatus::Unknown => 0,
            MessageStatus::Queued => 1,
            MessageStatus::Sent => 2,
            MessageStatus::Received => 3,
            MessageStatus::Delivered | MessageStatus::Undelivered | MessageStatus::Failed => 4,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::CallStatus;

    /// Storage ranks a stored status by its text, so each text must name one status.
    #[test]
    fn only_final_statuses_have_the_final_rank_and_each_is_stored_by_its_own_name() {
        let top = CallStatus::ALL.iter().map(|s| s.rank()).max().unwrap();
        for s in CallStatus::ALL {
            assert_eq!(s.is_final(), s.rank() == top, "{s:?}");
            let same_name = CallStatus::ALL.iter().filter(|o| o.as_str() == s.as_str()).count();
            assert_eq!(same_name, 1, "{s:?}");
        }
    }
}
