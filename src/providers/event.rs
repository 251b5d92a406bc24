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
    /// A call changed state (status callback), including its end.
    CallStatusChanged {
        call_sid: String,
        status: CallStatus,
        duration_secs: Option<u32>,
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
