//! A caller's recording played back to staff: only to those who may see the case (the case
//! page's own check), every play written to the audit trail, the audio fetched from the provider
//! with the account's credentials (from `whisper.recording_hosts` only, at most
//! `whisper.max_recording_bytes`). The audio is not kept here; the transcript is in the case file.

use super::{case_for, DeskError};
use crate::app::AppState;
use crate::auth::Staff;
use crate::providers::ProviderError;

/// What the case page says where audio the retention job deleted would play.
pub const DELETED: &str = "录音已按保存期限删除";

/// A recording's audio, ready to send.
#[derive(Debug, Clone)]
pub struct Audio {
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// The audio of recording `id` of the case with this ticket; audited as `recording.play`.
pub async fn audio(state: &AppState, staff: &Staff, ticket: &str, id: &str) -> Result<Audio, DeskError> {
    let c = case_for(state, staff, ticket, "recording.play").await?;
    let r = state
        .db
        .recording_of(&c.id, id)
        .await?
        .ok_or_else(|| DeskError::NotFound("这个案件没有这段录音".into()))?;
    if r.deleted_at.is_some() {
        return Err(DeskError::NotFound(DELETED.into()));
    }
    let w = &state.settings.whisper;
    let media = state
        .telephony
        .fetch_recording(&r.url, &w.recording_hosts(), w.max_recording_bytes)
        .await
        .map_err(|e| match e {
            // Gone at the provider before the retention job noticed.
            ProviderError::Refused { status: 404, .. } => DeskError::NotFound("电话服务商那里已经没有这段录音".into()),
            e => DeskError::Provider(e),
        })?;
    Ok(Audio {
        content_type: content_type(media.content_type.as_deref(), &media.bytes),
        bytes: media.bytes,
    })
}

/// The provider's audio type, or one read from the bytes when it sent none that a player knows.
fn content_type(sent: Option<&str>, bytes: &[u8]) -> String {
    match sent {
        Some(t) if t.starts_with("audio/") => t.to_owned(),
        _ if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WAVE" => "audio/wav".into(),
        _ if bytes.starts_with(b"ID3") || bytes.starts_with(&[0xff, 0xfb]) || bytes.starts_with(&[0xff, 0xf3]) => {
            "audio/mpeg".into()
        }
        _ => "application/octet-stream".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::content_type;

    #[test]
    fn the_audio_type_is_the_providers_or_read_from_the_bytes() {
        assert_eq!(content_type(Some("audio/x-wav"), b""), "audio/x-wav");
        assert_eq!(content_type(Some("audio/mpeg"), b"RIFF"), "audio/mpeg");
        let wav = b"RIFF\x24\x00\x00\x00WAVEfmt ";
        assert_eq!(content_type(None, wav), "audio/wav");
        assert_eq!(content_type(Some("application/octet-stream"), wav), "audio/wav");
        assert_eq!(content_type(None, b"ID3\x03"), "audio/mpeg");
        assert_eq!(content_type(Some("text/html"), b"<html>"), "application/octet-stream");
    }
}
