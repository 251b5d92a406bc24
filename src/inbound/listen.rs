//! Speech in the voice menus: a menu answer's recording is fetched from the provider,
//! recognised and matched to the node's choices within the webhook's time budget.

use std::time::{Duration, Instant};

use crate::app::AppState;
use crate::asr::intent::{Outcome, Thresholds};
use crate::asr::Mode;
use crate::ivr::listen::{choices, prompt_words};
use crate::ivr::script::Listen;
use crate::ivr::{Ask, CallState, Event, Recording};

/// Time kept back from the webhook budget for the engine, storage and the answer.
const BUDGET_RESERVE: Duration = Duration::from_millis(1500);
/// Silence that ends a spoken answer; doubled for callers with long timeouts.
const SILENCE_SECS: u32 = 2;

/// The speech window for this wait, if the caller can answer by voice here.
pub fn window(state: &AppState, s: &CallState, ask: Ask) -> Option<Listen> {
    let offered =
        ask == Ask::Choice && state.asr.is_some() && !s.profile.keypad_only && choices(&state.flow, s).is_some();
    offered.then(|| Listen {
        window_secs: state.settings.whisper.menu_window_secs,
        silence_secs: if s.profile.long_timeouts {
            SILENCE_SECS * 2
        } else {
            SILENCE_SECS
        },
    })
}

/// Whether a recording at this node is a spoken menu answer (rather than a message).
pub fn is_answer(state: &AppState, s: &CallState) -> bool {
    choices(&state.flow, s).is_some()
}

/// The engine event for a spoken answer: the option heard (sure, or to be confirmed), not
/// understood, silence, or — when recognition cannot finish in time — keys instead.
pub async fn hear(state: &AppState, call_sid: &str, s: &CallState, recording: &Recording) -> Event {
    let (Some(asr), Some(choices)) = (&state.asr, choices(&state.flow, s)) else {
        return Event::SpeechBusy;
    };
    let budget = Duration::from_millis(state.settings.ivr.webhook_budget_ms).saturating_sub(BUDGET_RESERVE);
    let started = Instant::now();
    let mode = Mode::Menu {
        words: prompt_words(&choices),
        choices,
    };
    let max_secs = state.settings.whisper.menu_window_secs + 2;
    let recognised = asr.recognise_url(&recording.url, mode, max_secs, budget).await;
    let ms = started.elapsed().as_millis() as u64;
    metrics::histogram!(crate::meters::SPEECH_ANSWER_SECONDS).record(ms as f64 / 1000.0);
    let transcript = match recognised {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(call_sid, error = %e, ms, "spoken answer not recognised; asking for keys");
            metrics::counter!(crate::meters::SPEECH_ANSWERS, "outcome" => "unavailable").increment(1);
            return Event::SpeechBusy;
        }
    };
    if transcript.text.is_empty() {
        return Event::Keys(String::new());
    }
    let w = &state.settings.whisper;
    let heard = transcript.heard;
    let (event, outcome) = match (Thresholds::from_settings(w).outcome(heard.as_ref()), &heard) {
        (Outcome::Taken, Some(h)) => (
            Event::Heard {
                key: h.key.clone(),
                sure: true,
            },
            "taken",
        ),
        (Outcome::Confirm, Some(h)) => (
            Event::Heard {
                key: h.key.clone(),
                sure: false,
            },
            "confirm",
        ),
        _ => (Event::NotUnderstood, "not_understood"),
    };
    metrics::counter!(crate::meters::SPEECH_ANSWERS, "outcome" => outcome).increment(1);
    tracing::info!(
        call_sid,
        node = %s.node,
        intent = heard.as_ref().map(|h| h.intent.as_str()),
        confidence = heard.as_ref().map(|h| h.confidence),
        outcome,
        recognition_ms = transcript.ms,
        ms,
        "spoken answer"
    );
    event
}
