//! The outbound callback: when a lawyer accepts an offer, the service calls the lawyer first,
//! whispers the case and the caller's accessibility needs, then calls the caller (with
//! answering-machine detection, from the hotline number) and joins both in a conference room.
//!
//! Every step is recorded on the assignment, moved on only from the state it expects (so a
//! retried or late webhook changes nothing). A caller who does not answer — busy, no answer,
//! failed, or a machine — is a failed attempt: the case waits again in its old place and is
//! tried again after `callback.retry_minutes`, up to `callback.max_attempts`; after the last an
//! SMS tells the caller how to reach us. A lawyer who does not answer their own phone loses
//! nothing for the caller: the case goes straight back to the queue, and the lawyer is marked
//! offline until they say otherwise.

use chrono::Utc;

use super::{summary, CallbackQueue};
use crate::app::AppState;
use crate::config::Settings;
use crate::domain::callback::{AssignmentState as S, Presence};
use crate::domain::{Channel, ConsultationStatus, Matter};
use crate::ivr::{script, Line};
use crate::kv::KvError;
use crate::notify;
use crate::prompts::fill;
use crate::providers::{Action, CallStatus, Hook, Leg};
use crate::providers::{OutboundCall, ProviderError};
use crate::storage::assignments::Assignment;
use crate::storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum CallbackError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Queue(#[from] KvError),
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error("assignment {0} does not exist")]
    Unknown(String),
    #[error("the offer is not this lawyer's, or it has lapsed")]
    NotYours,
    #[error("no phone number on record for {0}")]
    NoPhone(&'static str),
}

fn room(assignment: &str) -> String {
    format!("callback-{assignment}")
}

/// One leg of the assignment's callback, to `to`.
fn leg<'a>(settings: &'a Settings, leg: Leg, assignment: &'a str, to: &'a str) -> OutboundCall<'a> {
    OutboundCall {
        to,
        from: &settings.hotline_number,
        leg,
        assignment,
        ring_secs: settings.callback.ring_secs,
    }
}

async fn load(state: &AppState, id: &str) -> Result<Assignment, CallbackError> {
    state
        .db
        .assignment(id)
        .await?
        .ok_or_else(|| CallbackError::Unknown(id.to_owned()))
}

/// The lawyer takes the offer: the assignment is theirs, and their phone rings.
pub async fn accept(state: &AppState, assignment_id: &str, lawyer_id: &str) -> Result<Assignment, CallbackError> {
    if !state.telephony.is_configured() {
        // Nothing could be dialled: leave the offer as it is rather than blame the lawyer.
        return Err(ProviderError::NotConfigured.into());
    }
    let a = load(state, assignment_id).await?;
    if a.lawyer_id != lawyer_id || a.state != S::Offered {
        return Err(CallbackError::NotYours);
    }
    let queue = CallbackQueue::new(&state.kv);
    if !queue
        .accept(&a.consultation_id, lawyer_id, Utc::now().timestamp_millis())
        .await?
    {
        return Err(CallbackError::NotYours);
    }
    // A decline or lapse that got to the row first wins: nobody is rung for it.
    if !state.db.move_assignment(&a.id, &[S::Offered], S::Accepted).await? {
        return Err(CallbackError::NotYours);
    }
    state.db.mark_assigned(lawyer_id).await?;
    state.db.set_presence(lawyer_id, Presence::OnCall).await?;
    state
        .db
        .set_consultation_status(&a.consultation_id, ConsultationStatus::InProgress)
        .await?;
    let consultation = state
        .db
        .consultation_by_id(&a.consultation_id)
        .await?
        .ok_or_else(|| CallbackError::Unknown(a.consultation_id.clone()))?;
    if consultation.channel == Channel::Sms {
        // A texter's "callback" is the lawyer's first SMS: no phone rings; they are told.
        state.db.move_assignment(&a.id, &[S::Accepted], S::Connected).await?;
        CallbackQueue::new(&state.kv).remove(&a.consultation_id).await?;
        state.db.set_presence(lawyer_id, Presence::Available).await?;
        notify::tell_person(state, &consultation, &state.prompts.sms_taken).await?;
        tracing::info!(assignment = %a.id, "callback by SMS: the lawyer has the thread");
        return load(state, &a.id).await;
    }
    let phone = state
        .db
        .lawyer_phone(lawyer_id)
        .await?
        .ok_or(CallbackError::NoPhone("the lawyer"))?;
    // The state moves before the call is placed: the provider may fetch the lawyer's leg as soon
    // as the call exists.
    state
        .db
        .move_assignment(&a.id, &[S::Accepted], S::CallingLawyer)
        .await?;
    match state
        .telephony
        .place_call(&leg(&state.settings, Leg::Lawyer, &a.id, &phone))
        .await
    {
        Ok(sid) => {
            state.db.set_lawyer_call(&a.id, &sid).await?;
            tracing::info!(assignment = %a.id, "callback: calling the lawyer");
        }
        Err(e) => {
            tracing::warn!(assignment = %a.id, error = %e, "callback: the provider did not call the lawyer");
            lawyer_unreachable(state, &a).await?;
            return Err(e.into());
        }
    }
    load(state, &a.id).await
}

/// The lawyer turns the offer down: it goes to the next eligible lawyer.
pub async fn decline(state: &AppState, assignment_id: &str, lawyer_id: &str) -> Result<(), CallbackError> {
    let a = load(state, assignment_id).await?;
    if a.lawyer_id != lawyer_id || !state.db.move_assignment(&a.id, &[S::Offered], S::Declined).await? {
        return Err(CallbackError::NotYours);
    }
    CallbackQueue::new(&state.kv)
        .decline(&a.consultation_id, lawyer_id)
        .await?;
    Ok(())
}

/// What a leg hears whose callback is over (or was never ours): so, and goodbye.
pub fn ended(state: &AppState) -> Vec<Action> {
    vec![
        script::say(&state.prompts, &Line::prompt("callback_ended")),
        Action::Hangup,
    ]
}

/// A leg answered: what it hears.
pub async fn answered(
    state: &AppState,
    assignment_id: &str,
    leg: Leg,
    answered_by: Option<&str>,
) -> Result<Vec<Action>, CallbackError> {
    let a = load(state, assignment_id).await?;
    if !a.state.is_active() {
        // The case was closed (or the callback ended) while this phone rang: nothing to join.
        return Ok(match a.state {
            S::LawyerLeft => vec![
                script::say(&state.prompts, &Line::prompt("callback_lawyer_gone")),
                Action::Hangup,
            ],
            _ => ended(state),
        });
    }
    match leg {
        Leg::Lawyer => {
            let whisper = whisper(state, &a).await?;
            // Recorded first, so that the caller's leg is due even if this process stops before
            // placing it (the caller-legs job resumes it), and a retried lawyer webhook does not
            // dial the caller twice.
            if a.state == S::CallingLawyer
                && state
                    .db
                    .move_assignment(&a.id, &[S::CallingLawyer], S::CallingCaller)
                    .await?
            {
                // The caller's phone rings while the lawyer hears the summary and waits.
                call_caller_in_background(state.clone(), a.id.clone());
            }
            Ok(vec![
                script::text(whisper),
                Action::Conference {
                    room: room(&a.id),
                    end_on_exit: false,
                },
            ])
        }
        Leg::Caller => {
            if let Some(verdict) = answered_by {
                state.db.set_answered_by(&a.id, verdict).await?;
            }
            if answered_by.is_some_and(is_machine) {
                failed_attempt(state, &a).await?;
                return Ok(vec![Action::Hangup]);
            }
            state
                .db
                .move_assignment(&a.id, &[S::CallingCaller], S::Connected)
                .await?;
            tracing::info!(assignment = %a.id, "callback: connected");
            let mut actions = Vec::new();
            // No verdict yet: the provider screens the answered leg and reports (`screened`).
            if answered_by.is_none() {
                actions.push(Action::Screen {
                    report: Hook::Screening {
                        assignment: a.id.clone(),
                    },
                });
            }
            actions.push(script::say(&state.prompts, &Line::prompt("callback_greeting")));
            actions.push(Action::Conference {
                room: room(&a.id),
                end_on_exit: true,
            });
            Ok(actions)
        }
    }
}

/// The provider's verdict on a caller's leg it screened after it was answered (and after the
/// caller joined the room): a machine is hung up on and the attempt counts as failed, as a
/// machine found before the leg was answered does; a person, or no decision, goes on as it is.
pub async fn screened(state: &AppState, assignment_id: &str, answered_by: &str) -> Result<Vec<Action>, CallbackError> {
    let a = load(state, assignment_id).await?;
    if answered_by == "unknown" {
        return Ok(Vec::new());
    }
    state.db.set_answered_by(&a.id, answered_by).await?;
    if !is_machine(answered_by) || !failed_attempt_from(state, &a, &[S::CallingCaller, S::Connected]).await? {
        return Ok(Vec::new());
    }
    tracing::info!(assignment = %a.id, "callback: a machine answered the caller's phone");
    Ok(vec![Action::Hangup])
}

/// Twilio's verdicts: human, unknown, machine_start, machine_end_beep, …, fax.
fn is_machine(answered_by: &str) -> bool {
    answered_by.starts_with("machine") || answered_by == "fax"
}

/// Places the caller's leg of a callback that is due (see [`call_caller`]), off the webhook's
/// path; a shutdown lets it finish.
pub fn call_caller_in_background(state: AppState, assignment_id: String) {
    state.clone().tasks.spawn(async move {
        if let Err(e) = call_caller(&state, &assignment_id).await {
            tracing::warn!(assignment = %assignment_id, error = %e, "callback: could not call the caller");
        }
    });
}

/// Rings the caller of a callback whose lawyer is waiting in the room (`calling_caller`, no
/// caller's call yet); anything else is left as it is. A call the provider does not place is a
/// failed attempt: nobody can answer it.
pub async fn call_caller(state: &AppState, assignment_id: &str) -> Result<(), CallbackError> {
    let a = load(state, assignment_id).await?;
    if a.state != S::CallingCaller || a.caller_call_sid.is_some() {
        return Ok(());
    }
    let consultation = state
        .db
        .consultation_by_id(&a.consultation_id)
        .await?
        .ok_or_else(|| CallbackError::Unknown(a.consultation_id.clone()))?;
    let Some(phone) = state.db.caller_phone(&consultation.caller_id).await? else {
        failed_attempt(state, &a).await?;
        return Err(CallbackError::NoPhone("the caller"));
    };
    match state
        .telephony
        .place_call(&leg(&state.settings, Leg::Caller, &a.id, &phone))
        .await
    {
        Ok(sid) => {
            state.db.set_caller_call(&a.id, &sid).await?;
            tracing::info!(assignment = %a.id, "callback: calling the caller");
            Ok(())
        }
        Err(e) => {
            failed_attempt(state, &a).await?;
            Err(e.into())
        }
    }
}

/// A leg's status callback.
pub async fn leg_status(
    state: &AppState,
    assignment_id: &str,
    leg: Leg,
    call_sid: &str,
    status: CallStatus,
) -> Result<(), CallbackError> {
    let a = load(state, assignment_id).await?;
    // A leg placed twice (a restarted process rang again, at least once): only the call on
    // record speaks for the leg; the other's end changes nothing.
    let recorded = match leg {
        Leg::Lawyer => a.lawyer_call_sid.as_deref(),
        Leg::Caller => a.caller_call_sid.as_deref(),
    };
    if recorded.is_some_and(|sid| sid != call_sid) {
        tracing::info!(assignment = %a.id, ?leg, "callback: a report about another call of this leg ignored");
        return Ok(());
    }
    if !status.is_final() {
        return Ok(());
    }
    match (leg, status) {
        // The lawyer's phone was never answered.
        (Leg::Lawyer, _) if a.state == S::CallingLawyer => lawyer_unreachable(state, &a).await,
        (Leg::Caller, CallStatus::Completed) if a.state == S::Connected => completed(state, &a).await,
        // The lawyer hung up first: the caller is not left in a silent conference.
        (Leg::Lawyer, _) if a.state == S::Connected => lawyer_left(state, &a).await,
        (Leg::Lawyer, _) if a.state == S::CallingCaller => lawyer_left_early(state, &a).await,
        (Leg::Caller, _) if a.state == S::CallingCaller => failed_attempt(state, &a).await,
        _ => Ok(()),
    }
}

async fn completed(state: &AppState, a: &Assignment) -> Result<(), CallbackError> {
    if !state.db.move_assignment(&a.id, &[S::Connected], S::Completed).await? {
        return Ok(());
    }
    state.db.set_presence(&a.lawyer_id, Presence::Available).await?;
    queued(a, CallbackQueue::new(&state.kv).remove(&a.consultation_id).await);
    tracing::info!(assignment = %a.id, "callback: completed");
    Ok(())
}

async fn lawyer_left(state: &AppState, a: &Assignment) -> Result<(), CallbackError> {
    if let Some(sid) = &a.caller_call_sid {
        let text = state.prompts.callback_lawyer_left.clone();
        if let Err(e) = state
            .telephony
            .update_call(sid, &[script::text(text), Action::Hangup])
            .await
        {
            tracing::warn!(assignment = %a.id, error = %e, "callback: could not tell the caller the lawyer left");
        }
    }
    completed(state, a).await
}

/// The lawyer hung up while the caller's phone rang: a caller who answers now hears that the
/// callback has ended (the assignment is no longer active), and the case waits again in its
/// old place, without counting against the caller.
async fn lawyer_left_early(state: &AppState, a: &Assignment) -> Result<(), CallbackError> {
    if back_in_queue(state, a, &[S::CallingCaller], S::LawyerLeft, Presence::Available).await? {
        tracing::info!(assignment = %a.id, "callback: the lawyer hung up before the caller answered; case back in the queue");
    }
    Ok(())
}

async fn lawyer_unreachable(state: &AppState, a: &Assignment) -> Result<(), CallbackError> {
    let from = [S::Accepted, S::CallingLawyer];
    if back_in_queue(state, a, &from, S::LawyerUnreachable, Presence::Offline).await? {
        tracing::warn!(assignment = %a.id, "callback: the lawyer did not answer; case back in the queue, lawyer offline");
    }
    Ok(())
}

/// The callback ends short through no fault of the caller (`to`, from any of `from`): the case
/// waits again in its old place at once, and the lawyer is `presence`. False when the
/// assignment had moved on already.
async fn back_in_queue(
    state: &AppState,
    a: &Assignment,
    from: &[S],
    to: S,
    presence: Presence,
) -> Result<bool, CallbackError> {
    if !state.db.move_assignment(&a.id, from, to).await? {
        return Ok(false);
    }
    state
        .db
        .set_consultation_status(&a.consultation_id, ConsultationStatus::WaitingCallback)
        .await?;
    state.db.set_presence(&a.lawyer_id, presence).await?;
    let requeued = CallbackQueue::new(&state.kv)
        .requeue(&a.consultation_id, Utc::now().timestamp_millis())
        .await;
    queued(a, requeued);
    Ok(true)
}

/// The caller did not answer: the lawyer is told, and the case waits for the next attempt or,
/// after the last, the caller gets an SMS.
async fn failed_attempt(state: &AppState, a: &Assignment) -> Result<(), CallbackError> {
    failed_attempt_from(state, a, &[S::CallingCaller]).await.map(|_| ())
}

/// [`failed_attempt`] from any of `from`; false when the assignment was in none of them.
async fn failed_attempt_from(state: &AppState, a: &Assignment, from: &[S]) -> Result<bool, CallbackError> {
    if !state.db.move_assignment(&a.id, from, S::NoAnswer).await? {
        return Ok(false);
    }
    let failed = state.db.add_callback_attempt(&a.consultation_id).await?;
    state.db.set_presence(&a.lawyer_id, Presence::Available).await?;
    let c = &state.settings.callback;
    let again = failed < c.max_attempts;
    let status = match again {
        true => ConsultationStatus::WaitingCallback,
        false => ConsultationStatus::Unreachable,
    };
    // SQL first: the reconciler queues a waiting case from it if Redis fails below.
    state.db.set_consultation_status(&a.consultation_id, status).await?;
    if let Some(sid) = &a.lawyer_call_sid {
        let text = state.prompts.callback_no_answer_lawyer.clone();
        if let Err(e) = state
            .telephony
            .update_call(sid, &[script::text(text), Action::Hangup])
            .await
        {
            tracing::warn!(assignment = %a.id, error = %e, "callback: could not tell the lawyer");
        }
    }
    let queue = CallbackQueue::new(&state.kv);
    if again {
        let not_before = Utc::now().timestamp_millis() + c.retry_minutes * 60_000;
        queued(a, queue.requeue(&a.consultation_id, not_before).await);
        tracing::info!(assignment = %a.id, failed, "callback: no answer; tried again later");
    } else {
        queued(a, queue.remove(&a.consultation_id).await);
        tell_caller_how_to_reach_us(state, &a.consultation_id).await?;
        tracing::info!(assignment = %a.id, failed, "callback: no answer after the last attempt; caller told by SMS");
    }
    Ok(true)
}

/// A queue change after the assignment moved on: a provider's retry would find nothing left
/// to do, so a Redis failure is not the report's; SQL has the case's status, from which the
/// reconciler queues a waiting case again.
fn queued<T>(a: &Assignment, result: Result<T, KvError>) {
    if let Err(e) = result {
        tracing::warn!(assignment = %a.id, error = %e, "callback queue not updated; the reconciler puts it right from SQL");
    }
}

async fn tell_caller_how_to_reach_us(state: &AppState, consultation_id: &str) -> Result<(), CallbackError> {
    if let Some(c) = state.db.consultation_by_id(consultation_id).await? {
        notify::tell_person(state, &c, &state.prompts.sms_unreachable).await?;
    }
    Ok(())
}

/// What the lawyer hears before the caller is connected: the case and the caller's needs
/// ("来电人为视力残疾，语速较慢").
async fn whisper(state: &AppState, a: &Assignment) -> Result<String, CallbackError> {
    let c = state
        .db
        .consultation_by_id(&a.consultation_id)
        .await?
        .ok_or_else(|| CallbackError::Unknown(a.consultation_id.clone()))?;
    let mut parts = Vec::new();
    if let Some(matter) = c.matter.as_deref().and_then(Matter::parse) {
        parts.push(format!("事项：{}", matter.chinese()));
    }
    if let Some(place) = summary::place(state, &c) {
        parts.push(format!("地区：{place}"));
    }
    if c.urgent {
        parts.push("紧急，有期限或证据需要马上处理".into());
    }
    let application = state.db.application_of(&c.id).await?;
    let needs = summary::needs(state, &c, application.as_ref()).await?;
    if let Some(application) = &application {
        if application.yes().contains(&crate::ivr::flow::Flag::DetainedOrOnTrial) {
            parts.push("当事人被羁押或正在面临审判".into());
        }
        parts.push(format!("法律援助预审：{}", summary::outcome_words(application.outcome)));
    }
    if !needs.is_empty() {
        parts.push(needs.join("，"));
    }
    let summary = if parts.is_empty() {
        "来电人没有选择事项".to_owned()
    } else {
        parts.join("。")
    };
    Ok(fill(
        &state.prompts.callback_whisper,
        &[("summary", &summary), ("ticket", &c.ticket.spoken())],
    ))
}
