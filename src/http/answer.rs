//! One pipeline for every webhook: replay a remembered answer, claim the delivery, handle the
//! event off the request task within a time budget, remember the answer.
//!
//! Exactly once: the copy of a delivery whose insert lands owns it; a copy arriving while the
//! owner works waits for the owner's answer and sends it byte for byte; a copy of an IVR turn
//! the call has moved past changes nothing. A voice turn always gets 200 and a valid document in
//! the provider's format: when handling fails, panics or runs out of time, the caller hears the
//! apology and the configured fallback instead of the provider's "application error"; a copy
//! that cannot get the owner's answer in time hears "please hold" and comes back for it. Other
//! webhooks get 503 when a retry may succeed and a 4xx naming the problem when it never could.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::inbound::{self, HandleError};
use crate::ivr::script;
use crate::providers::{Context, Delivery, InboundEvent, Received, WebhookKind, Wire};
use crate::speech::SpeechRate;
use crate::storage::batch::Statement;
use crate::storage::events::{Answer, Claim, NewEvent, Turn, TurnOf};
use crate::storage::Db;

use super::webhook::{refuse, WebhookRequest};

/// How long a claim holds before a retry may take over from an owner that died.
const LEASE_BUDGETS: u32 = 4;

/// Why a delivery got no answer of its own.
#[derive(Debug, thiserror::Error)]
enum Failure {
    /// Nothing a retry could change: the delivery names what we do not have.
    #[error("{0}")]
    Permanent(String),
    /// The database, Redis or time ran out: a retry may succeed.
    #[error("{0}")]
    Transient(String),
    /// Another copy of this delivery is still being handled.
    #[error("another copy of this delivery is still being handled")]
    Pending,
}

pub async fn answer(
    State(state): State<AppState>,
    wire: Arc<dyn Wire>,
    kind: WebhookKind,
    request: WebhookRequest,
) -> Response {
    let hook = match wire.read(kind, &request.incoming()) {
        Ok(Received::Delivery(delivery)) => *delivery,
        Ok(Received::Answer(doc)) => return document(&*wire, doc),
        Err(refusal) => return refuse(&request.path, &refusal),
    };
    let key = delivery_key(&hook.event, &hook.signed_key);
    let failure = match deliver(&state, &wire, kind, &hook, &key).await {
        Ok(doc) => return document(&*wire, doc),
        Err(failure) => failure,
    };
    let outcome = match &failure {
        Failure::Permanent(_) => "refused",
        Failure::Transient(_) => "failed",
        Failure::Pending => "held",
    };
    metrics::counter!(crate::meters::WEBHOOKS, "kind" => kind.as_str(), "outcome" => outcome).increment(1);
    match (&failure, is_voice_turn(kind)) {
        (Failure::Pending, true) => {
            tracing::warn!(
                kind = kind.as_str(),
                "a copy of a turn still being handled: the caller holds"
            );
            let doc = hold(&state, &*wire, subject_sid(&hook.event), &key).await;
            document(&*wire, doc)
        }
        (_, true) => {
            tracing::error!(kind = kind.as_str(), error = %failure, "webhook handling failed");
            document(&*wire, fallback(&state, &*wire).await)
        }
        (Failure::Permanent(reason), false) => {
            tracing::warn!(kind = kind.as_str(), error = %reason, "webhook refused: a retry cannot succeed");
            plain(StatusCode::UNPROCESSABLE_ENTITY, format!("{reason}\n"))
        }
        (_, false) => {
            tracing::error!(kind = kind.as_str(), error = %failure, "webhook handling failed");
            plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily unavailable, please retry\n".into(),
            )
        }
    }
}

/// `…/resume?d=<delivery>`: where a held caller comes back. The answer to the delivery they
/// were waiting for if it is there by now, else the call's current prompt; either way nothing
/// changes.
pub async fn resume(State(state): State<AppState>, wire: Arc<dyn Wire>, request: WebhookRequest) -> Response {
    let (call_sid, context) = match wire.read_resume(&request.incoming()) {
        Ok(found) => found,
        Err(refusal) => return refuse(&request.path, &refusal),
    };
    if let Some(key) = &context.delivery {
        if let Some(doc) = await_answer(&state, key, budget(&state)).await {
            return document(&*wire, doc);
        }
    }
    match current_prompt(&state, &*wire, &call_sid).await {
        Ok(doc) => document(&*wire, doc),
        Err(e) => {
            tracing::error!(error = %e, "could not give a held caller the current prompt");
            document(&*wire, fallback(&state, &*wire).await)
        }
    }
}

/// A [`crate::providers::Route::Continue`]: the document the adapter wrote into the URL.
pub async fn continued(wire: Arc<dyn Wire>, request: WebhookRequest) -> Response {
    match wire.read_continue(&request.incoming()) {
        Ok(doc) => document(&*wire, doc),
        Err(refusal) => refuse(&request.path, &refusal),
    }
}

/// The answer to one delivery: the one given before, the owner's, or the handler's.
async fn deliver(
    state: &AppState,
    wire: &Arc<dyn Wire>,
    kind: WebhookKind,
    hook: &Delivery,
    key: &str,
) -> Result<String, Failure> {
    let replayed = |doc: String| {
        metrics::counter!(crate::meters::WEBHOOKS, "kind" => kind.as_str(), "outcome" => "replayed").increment(1);
        Ok(doc)
    };
    match state.kv.remembered_response(key).await {
        Ok(Some(doc)) => return replayed(doc),
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "redis unavailable for de-duplication; using SQL alone"),
    }
    // Nothing is acted on before it is stored; and when the database cannot store it, the
    // handler could not work either, so the caller hears the fallback without waiting twice.
    let turn = match claim(state, &**wire, kind, hook, key).await {
        Ok(Claim::Owner(turn)) => turn,
        Ok(Claim::Answered(doc)) => return replayed(doc),
        Ok(Claim::Busy) => {
            return match await_answer(state, key, budget(state)).await {
                Some(doc) => replayed(doc),
                None => Err(Failure::Pending),
            }
        }
        Err(e) => return Err(Failure::Transient(format!("could not store the delivery: {e}"))),
    };
    // Spawned, so a panic is caught as a JoinError and the work finishes (and its answer is
    // kept for retries) even if the provider hangs up on us or the budget runs out.
    let work = state.tasks.spawn(own(
        state.clone(),
        wire.clone(),
        hook.event.clone(),
        hook.context.clone(),
        key.to_owned(),
        turn,
    ));
    let result = match tokio::time::timeout(budget(state), work).await {
        Ok(Ok(result)) => result,
        Ok(Err(join)) => {
            release(state, key).await;
            return Err(Failure::Transient(format!("handler panicked: {join}")));
        }
        Err(_) => {
            return Err(Failure::Transient(format!(
                "handler took longer than {:?}",
                budget(state)
            )))
        }
    };
    let outcome = if matches!(turn, Turn::Stale { .. }) {
        "stale"
    } else {
        "ok"
    };
    metrics::counter!(crate::meters::WEBHOOKS, "kind" => kind.as_str(), "outcome" => outcome).increment(1);
    result.map_err(|e| {
        if e.is_permanent() {
            Failure::Permanent(e.to_string())
        } else {
            Failure::Transient(e.to_string())
        }
    })
}

/// The owner's work: handle the event (or, for a turn the call has moved past, find what that
/// turn was answered, else the current prompt), render it and keep it for every other copy.
/// A failure keeps nothing and releases the claim, so a retry runs the handler again.
async fn own(
    state: AppState,
    wire: Arc<dyn Wire>,
    event: InboundEvent,
    context: Context,
    key: String,
    turn: Turn,
) -> Result<String, HandleError> {
    let moved = (turn == Turn::Current).then_some(context.turn);
    let mut deferred = Vec::new();
    let result = match (turn, &event) {
        (Turn::Stale { .. }, InboundEvent::KeysGathered { call_sid, .. })
        | (Turn::Stale { .. }, InboundEvent::RecordingReady { call_sid, .. })
        | (Turn::Stale { .. }, InboundEvent::DialFinished { call_sid, .. }) => {
            tracing::info!(
                call_sid,
                turn = context.turn,
                "a stale turn: answered as before, nothing changed"
            );
            // The turn's owner may still be at work (another key on the same turn, sent at the
            // same moment): its answer is what this caller should hear, so wait for it a while.
            let turn = context.turn;
            let answered = poll(budget(&state) / 2, || async {
                match state.db.turn_answer(call_sid, turn).await {
                    Ok(Some(doc)) => Poll::Done(doc),
                    Ok(None) => Poll::Wait,
                    Err(e) => {
                        tracing::warn!(error = %e, "could not read a turn's answer");
                        Poll::Wait
                    }
                }
            })
            .await;
            match answered {
                Some(doc) => Ok(doc),
                None => current_prompt(&state, &*wire, call_sid).await,
            }
        }
        _ => {
            // The handler's last writes (the IVR state) go with the answer, in one trip.
            let call = subject_sid(&event).to_owned();
            let call = call.as_str();
            let (handled, writes) = Db::deferring(inbound::handle(state.clone(), event, context)).await;
            deferred = writes;
            handled.map(|actions| wire.render(Some(call), &actions))
        }
    };
    match &result {
        Ok(doc) => remember(&state, &key, doc, moved, deferred).await,
        Err(_) => release(&state, &key).await,
    }
    result
}

/// The call's current prompt, spoken, with the action URLs of the turn it is at.
async fn current_prompt(state: &AppState, wire: &dyn Wire, call_sid: &str) -> Result<String, HandleError> {
    let actions = inbound::voice::current_prompt(state, call_sid).await?;
    Ok(wire.render(Some(call_sid), &actions))
}

/// Waits for the owner's answer to a delivery, at most `within`; none if there is no such
/// delivery.
async fn await_answer(state: &AppState, key: &str, within: Duration) -> Option<String> {
    poll(within, || async {
        match state.db.delivery_answer(key).await {
            Ok(Answer::Given(doc)) => Poll::Done(doc),
            Ok(Answer::Unknown) => Poll::GiveUp,
            Ok(Answer::Pending) => Poll::Wait,
            Err(e) => {
                tracing::warn!(error = %e, "could not read a delivery's answer");
                Poll::Wait
            }
        }
    })
    .await
}

enum Poll {
    Done(String),
    Wait,
    GiveUp,
}

/// Asks `look` every 10 ms, backing off to 100 ms, until it is done or gives up or `within`
/// has passed.
async fn poll<F, Fut>(within: Duration, look: F) -> Option<String>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Poll>,
{
    let deadline = tokio::time::Instant::now() + within;
    let mut pause = Duration::from_millis(10);
    loop {
        tokio::time::sleep_until((tokio::time::Instant::now() + pause).min(deadline)).await;
        match look().await {
            Poll::Done(doc) => return Some(doc),
            Poll::GiveUp => return None,
            Poll::Wait => {}
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

/// How a delivery is known across retries: an incoming call by its CallSid and an SMS by its
/// MessageSid (each comes once, however the retry is dressed); everything else by the hash of
/// its signed URL and form.
fn delivery_key(event: &InboundEvent, signed: &str) -> String {
    match event {
        InboundEvent::CallStarted { call_sid, .. } => format!("call:{call_sid}"),
        InboundEvent::SmsReceived { message_sid, .. } => format!("sms:{message_sid}"),
        _ => signed.to_owned(),
    }
}

fn budget(state: &AppState) -> Duration {
    Duration::from_millis(state.settings.ivr.webhook_budget_ms)
}

/// Turns where a caller is listening and must hear something.
fn is_voice_turn(kind: WebhookKind) -> bool {
    matches!(
        kind,
        WebhookKind::VoiceIncoming
            | WebhookKind::VoiceGather
            | WebhookKind::VoiceRecording
            | WebhookKind::VoiceDial
            | WebhookKind::VoiceFallback
            | WebhookKind::CallbackLawyer
            | WebhookKind::CallbackCaller
    )
}

/// IVR turns: their action URLs carry the turn they answer.
fn turn_of<'a>(kind: WebhookKind, event: &'a InboundEvent, turn: u32) -> Option<TurnOf<'a>> {
    let call_sid = match event {
        InboundEvent::KeysGathered { call_sid, .. }
        | InboundEvent::RecordingReady { call_sid, .. }
        | InboundEvent::DialFinished { call_sid, .. } => call_sid,
        _ => return None,
    };
    let is_turn = matches!(
        kind,
        WebhookKind::VoiceGather | WebhookKind::VoiceRecording | WebhookKind::VoiceDial
    );
    (is_turn && turn > 0).then_some(TurnOf { call_sid, turn })
}

/// The apology and fallback, built from configuration and the prompt audio on disk alone.
async fn fallback(state: &AppState, wire: &dyn Wire) -> String {
    let f = &state.settings.fallback;
    let actions = script::fallback(&state.prompts, &f.human_number, &f.office_hours);
    let spoken = state.voice.speak(actions, SpeechRate::default()).await;
    wire.render(None, &spoken)
}

/// "Please hold", then back for the answer: said to a copy of a turn whose owner has not
/// answered in time. It changes nothing.
async fn hold(state: &AppState, wire: &dyn Wire, call_sid: &str, key: &str) -> String {
    let rate = inbound::voice::speech_rate(state, call_sid).await;
    let actions = script::hold(&state.prompts, key);
    wire.render(Some(call_sid), &state.voice.speak(actions, rate).await)
}

/// Stores the delivery (raw form encrypted) and claims it, and for a turn the turn.
async fn claim(
    state: &AppState,
    wire: &dyn Wire,
    kind: WebhookKind,
    hook: &Delivery,
    key: &str,
) -> Result<Claim, crate::storage::StorageError> {
    let event = &hook.event;
    let lease = budget(state) * LEASE_BUDGETS;
    state
        .db
        .claim_delivery(
            &NewEvent {
                dedup_key: key,
                provider: wire.name(),
                kind: kind.as_str(),
                subject_sid: subject_sid(event),
                payload: &hook.payload,
            },
            turn_of(kind, event, hook.context.turn),
            lease,
        )
        .await
}

fn subject_sid(event: &InboundEvent) -> &str {
    match event {
        InboundEvent::CallStarted { call_sid, .. }
        | InboundEvent::KeysGathered { call_sid, .. }
        | InboundEvent::RecordingReady { call_sid, .. }
        | InboundEvent::DialFinished { call_sid, .. }
        | InboundEvent::CallStatusChanged { call_sid, .. }
        | InboundEvent::VoiceFallback { call_sid, .. }
        | InboundEvent::CallbackAnswered { call_sid, .. }
        | InboundEvent::CallbackScreened { call_sid, .. }
        | InboundEvent::CallbackStatus { call_sid, .. } => call_sid,
        InboundEvent::SmsReceived { message_sid, .. } | InboundEvent::SmsStatusChanged { message_sid, .. } => {
            message_sid
        }
    }
}

async fn remember(state: &AppState, key: &str, doc: &str, moved: Option<u32>, first: Vec<Statement>) {
    if let Err(e) = state.db.answer_delivery(key, doc, moved, first).await {
        tracing::warn!(error = %e, "could not keep the webhook answer in SQL");
    }
    if let Err(e) = state
        .kv
        .remember_response(key, doc, state.settings.redis.dedup_ttl_secs)
        .await
    {
        tracing::warn!(error = %e, "could not keep the webhook answer in redis");
    }
}

async fn release(state: &AppState, key: &str) {
    if let Err(e) = state.db.release_delivery(key).await {
        tracing::warn!(error = %e, "could not release a failed delivery; a retry takes it over when its lease ends");
    }
}

/// A 200 with the provider's answer document.
fn document(wire: &dyn Wire, doc: String) -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, wire.content_type())], doc).into_response()
}

fn plain(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}
