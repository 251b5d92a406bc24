//! What a lawyer needs to know about a case before calling back: where the caller is, and how
//! to reach them (disability, speech rate, slow keys, texting). The callback whisper reads it
//! out; the console shows it as text.

use crate::app::AppState;
use crate::domain::legal_aid::Outcome;
use crate::domain::DisabilityCategory;
use crate::storage::applications::Application;
use crate::storage::consultations::Consultation;
use crate::storage::StorageError;

/// "西安市" or "西安市碑林区", when known.
pub fn place(state: &AppState, c: &Consultation) -> Option<String> {
    let regions = &state.flow.regions;
    c.county
        .as_deref()
        .and_then(|code| regions.county(code))
        .map(|(p, county)| format!("{}{}", p.name, county.name))
        .or_else(|| {
            c.prefecture
                .as_deref()
                .and_then(|code| regions.prefecture(code))
                .map(|p| p.name.clone())
        })
}

/// Accessibility needs, in words.
pub async fn needs(
    state: &AppState,
    c: &Consultation,
    application: Option<&Application>,
) -> Result<Vec<String>, StorageError> {
    let mut needs = Vec::new();
    if let Some(application) = application {
        let category = application
            .disability_category
            .and_then(|c| u8::try_from(c).ok())
            .and_then(DisabilityCategory::from_digit);
        let level = application.disability_level.and_then(|l| u8::try_from(l).ok());
        if let (Some(category), Some(level)) = (category, level) {
            needs.push(format!("来电人为{}", category.with_level(level)));
        }
    }
    let profile = state.db.caller_profile(&c.caller_id).await?;
    if profile.rate == crate::speech::SpeechRate::Slower {
        needs.push("语速较慢".into());
    }
    if profile.long_timeouts {
        needs.push("按键较慢".into());
    }
    if c.channel == crate::domain::Channel::Sms {
        needs.push("曾用短信联系".into());
    }
    Ok(needs)
}

/// The pre-assessment's outcome, in words.
pub fn outcome_words(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::LikelyEligible => "很可能符合条件",
        Outcome::NeedsReview => "需要审查",
        Outcome::ConsultationOnly => "仅提供咨询",
    }
}
