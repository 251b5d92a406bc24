//! The kinds of webhook a telephony or SMS provider delivers.

/// Which webhook a route receives; decides how the delivery is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookKind {
    VoiceIncoming,
    VoiceGather,
    VoiceRecording,
    VoiceDial,
    VoiceStatus,
    VoiceFallback,
    SmsIncoming,
    SmsStatus,
    CallbackLawyer,
    CallbackLawyerStatus,
    CallbackCaller,
    CallbackCallerStatus,
    /// The answering-machine verdict on a callback's caller leg, reported after it was answered.
    CallbackScreened,
}

impl WebhookKind {
    pub const ALL: [WebhookKind; 13] = [
        WebhookKind::VoiceIncoming,
        WebhookKind::VoiceGather,
        WebhookKind::VoiceRecording,
        WebhookKind::VoiceDial,
        WebhookKind::VoiceStatus,
        WebhookKind::VoiceFallback,
        WebhookKind::SmsIncoming,
        WebhookKind::SmsStatus,
        WebhookKind::CallbackLawyer,
        WebhookKind::CallbackLawyerStatus,
        WebhookKind::CallbackCaller,
        WebhookKind::CallbackCallerStatus,
        WebhookKind::CallbackScreened,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WebhookKind::VoiceIncoming => "voice_incoming",
            WebhookKind::VoiceGather => "voice_gather",
            WebhookKind::VoiceRecording => "voice_recording",
            WebhookKind::VoiceDial => "voice_dial",
            WebhookKind::VoiceStatus => "voice_status",
            WebhookKind::VoiceFallback => "voice_fallback",
            WebhookKind::SmsIncoming => "sms_incoming",
            WebhookKind::SmsStatus => "sms_status",
            WebhookKind::CallbackLawyer => "callback_lawyer",
            WebhookKind::CallbackLawyerStatus => "callback_lawyer_status",
            WebhookKind::CallbackCaller => "callback_caller",
            WebhookKind::CallbackCallerStatus => "callback_caller_status",
            WebhookKind::CallbackScreened => "callback_screened",
        }
    }
}
