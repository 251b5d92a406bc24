//! Voice turns: the flow engine run against storage (the record) and Redis (the session).
//!
//! Each turn loads the call's state, lets [`crate::ivr::step`] decide, runs the tasks it hands
//! over (callback, application, progress, transfer) and keeps the new state in Redis and,
//! sealed, in SQL — so Redis trouble never stops a call: the state comes from SQL instead, and
//! a queue entry that cannot be written now is written by the reconciler later.

use crate::app::{AppState, PROVIDER};
use crate::domain::legal_aid::{assess, Screening};
use crate::domain::{spoken, Channel, DisabilityCertificate, Matter, PhoneNumber, Ticket};
use crate::ivr::flow::Flag;
use crate::ivr::prompts::fill;
use crate::ivr::script::{self, Registered, Urls};
use crate::ivr::{step, CallState, Event, Next, Profile, Recording, Task};
use crate::providers::{Action, CallStatus};
use crate::routing::queue::Waiting;
use crate::routing::CallbackQueue;
use crate::speech::SpeechRate;
use crate::storage::applications::NewApplication;
use crate::storage::consultations::{Consultation, Details, NewConsultation};

use super::{notify, HandleError};

/// Consultations read out by `progress`, newest first.
const PROGRESS_CASES: i64 = 3;

pub async fn call_started(state: &AppState, call_sid: &str, from: &str, to: &str) -> Result<Vec<Action>, HandleError> {
    let caller_id = match PhoneNumber::parse(from) {
        Ok(phone) => Some(state.db.upsert_caller(&phone).await?),
        Err(_) => None,
    };
    state
        .db
        .record_incoming_call(PROVIDER, call_sid, caller_id.as_deref(), to)
        .await?;
    let (profile, open_ticket) = match &caller_id {
        Some(id) => (
            state.db.caller_profile(id).await?,
            state
                .db
                .open_consultation_of(id)
                .await?
                .map(|c| c.ticket.as_str().to_owned()),
        ),
        None => (Profile::default(), None),
    };
    tracing::info!(call_sid, number_shown = caller_id.is_some(), "call started");
    drive(state, call_sid, CallState::new(profile, open_ticket), Event::Start, 1).await
}

pub async fn keys(state: &AppState, call_sid: &str, digits: &str, turn: u32) -> Result<Vec<Action>, HandleError> {
    let s = load_state(state, call_sid).await?;
    drive(state, call_sid, s, Event::Keys(digits.to_owned()), turn + 1).await
}

pub async fn recorded(
    state: &AppState,
    call_sid: &str,
    recording: Recording,
    key: Option<String>,
    turn: u32,
) -> Result<Vec<Action>, HandleError> {
    let s = load_state(state, call_sid).await?;
    drive(state, call_sid, s, Event::Recorded { recording, key }, turn + 1).await
}

/// A transfer to a person ended: if nobody answered, the caller gets a callback instead.
pub async fn dial_finished(
    state: &AppState,
    call_sid: &str,
    status: CallStatus,
    turn: u32,
) -> Result<Vec<Action>, HandleError> {
    if status == CallStatus::Completed {
        return Ok(vec![Action::Hangup]);
    }
    let s = load_state(state, call_sid).await?;
    let mut actions = vec![script::say(&state.prompts, &line("transfer_failed"))];
    match register(state, call_sid, &s, Purpose::Callback { gave_up: false }).await? {
        Some(done) => actions.extend(done),
        None => actions.extend(fallback(state, call_sid, None)),
    }
    save_state(state, call_sid, &s, turn).await;
    Ok(actions)
}

/// One engine turn, and the tasks it leads to, until the call waits for the caller again or ends.
async fn drive(
    state: &AppState,
    call_sid: &str,
    s: CallState,
    event: Event,
    turn: u32,
) -> Result<Vec<Action>, HandleError> {
    let profile_before = s.profile;
    let max_tries = state.settings.ivr.max_tries;
    let (mut s, mut reply) = step(&state.flow, s, event, max_tries);
    let mut said: Vec<Action> = Vec::new();
    let urls = Urls::for_turn(turn);
    let actions = loop {
        said.extend(reply.say.iter().map(|l| script::say(&state.prompts, l)));
        let task = match reply.next {
            Next::Ask(ask) => break script::ask(said, ask, &urls, timeout_secs(state, &s.profile)),
            Next::Run(task) => task,
        };
        let outcome = match &task {
            Task::Callback { gave_up } => {
                register(state, call_sid, &s, Purpose::Callback { gave_up: *gave_up }).await?
            }
            Task::Apply => register(state, call_sid, &s, Purpose::Apply).await?,
            Task::Transfer if !state.settings.fallback.human_number.is_empty() => Some(script::transfer(
                &state.prompts,
                &state.settings.fallback.human_number,
                &urls.dial,
            )),
            Task::Transfer => {
                said.push(script::say(&state.prompts, &line("human_busy")));
                register(state, call_sid, &s, Purpose::Callback { gave_up: false }).await?
            }
            Task::Progress { ticket } => {
                said.extend(progress(state, call_sid, ticket.as_deref()).await?);
                (s, reply) = step(&state.flow, s, Event::Resume, max_tries);
                continue;
            }
        };
        match outcome {
            Some(done) => {
                said.extend(done);
                break said;
            }
            // No number to call back: say so and start again from the top, where 0 still
            // reaches a person — unless the caller has already failed to choose, in which
            // case a person or the office hours are all that is left.
            None if matches!(task, Task::Callback { gave_up: true }) => {
                said.extend(fallback(state, call_sid, None));
                break said;
            }
            None => {
                said.push(script::say(&state.prompts, &line("no_caller_number")));
                s.node = state.flow.start.clone();
                (s, reply) = step(&state.flow, s, Event::Resume, max_tries);
            }
        }
    };
    if s.profile != profile_before {
        remember_profile(state, call_sid, &s.profile).await?;
    }
    save_state(state, call_sid, &s, turn).await;
    Ok(actions)
}

fn line(key: &str) -> crate::ivr::Line {
    crate::ivr::Line::Prompt {
        key: key.to_owned(),
        vars: Vec::new(),
    }
}

fn timeout_secs(state: &AppState, profile: &Profile) -> u32 {
    let ivr = &state.settings.ivr;
    if profile.long_timeouts {
        ivr.no_input_timeout_secs * ivr.long_timeout_factor
    } else {
        ivr.no_input_timeout_secs
    }
}

#[derive(Debug, Clone, Copy)]
enum Purpose {
    Callback { gave_up: bool },
    Apply,
}

/// Opens (once per call) the person's consultation or joins their open one, with what they
/// told us; for an application also pre-assesses it and records it; queues the callback, reads
/// the ticket back and texts it to a mobile (R6). None when the number was withheld.
async fn register(
    state: &AppState,
    call_sid: &str,
    s: &CallState,
    purpose: Purpose,
) -> Result<Option<Vec<Action>>, HandleError> {
    let call = state
        .db
        .find_call(PROVIDER, call_sid)
        .await?
        .ok_or_else(|| HandleError::UnknownCall(call_sid.to_owned()))?;
    let Some(caller_id) = call.caller_id else {
        return Ok(None);
    };
    let a = &s.answers;
    let (consultation, created) = state
        .db
        .consultation_for(&NewConsultation {
            origin_key: &format!("call:{call_sid}:callback"),
            caller_id: &caller_id,
            call_sid: Some(call_sid),
            channel: Channel::Voice,
        })
        .await?;
    state
        .db
        .add_details(
            &consultation.id,
            &Details {
                matter: a.matter.as_deref(),
                prefecture: a.prefecture.as_deref(),
                county: a.county.as_deref(),
            },
        )
        .await?;
    for (purpose, recording) in [("description", &a.description), ("note", &a.note)] {
        if let Some(r) = recording {
            state
                .db
                .add_recording(&consultation.id, call_sid, purpose, &r.url, r.secs)
                .await?;
        }
    }
    let mut actions = Vec::new();
    let gave_up = match purpose {
        Purpose::Callback { gave_up } => gave_up,
        Purpose::Apply => {
            let explanation = apply(state, call_sid, s, &consultation).await?;
            actions.push(script::text(fill(
                &state.prompts.assessment,
                &[("explanation", &explanation)],
            )));
            false
        }
    };
    state.db.record_art23_notice(&consultation.id).await?;
    let consultation = state
        .db
        .consultation_by_ticket(&consultation.ticket)
        .await?
        .unwrap_or(consultation);
    let queue = CallbackQueue::new(&state.kv);
    if let Err(e) = queue.enqueue(&Waiting::of(&consultation)).await {
        tracing::warn!(error = %e, "consultation saved but not queued yet; the reconciler will queue it");
    }
    let ahead = queue.position(&consultation.id).await.ok().flatten().map(|p| p - 1);
    let wait_minutes = match ahead {
        Some(ahead) => Some(
            crate::routing::wait::expected_minutes(&state.db, ahead, state.settings.callback.default_handling_minutes)
                .await?,
        ),
        None => None,
    };
    let phone = state
        .db
        .caller_phone(&caller_id)
        .await?
        .and_then(|p| PhoneNumber::parse(&p).ok())
        .ok_or_else(|| HandleError::UnknownCall(call_sid.to_owned()))?;
    let callback_number = spoken::phone(&phone, state.settings.ivr.one_as_yao);
    let by_sms = phone.is_mobile() && state.rest.is_configured();
    if created && by_sms {
        // R6: the ticket, the place in the queue and the number called back, also as text.
        let place = ahead.map_or(String::new(), |n| {
            fill(&state.prompts.sms_place, &[("position", &(n + 1).to_string())])
        });
        let text = fill(
            &state.prompts.sms_ticket,
            &[("ticket", consultation.ticket.as_str()), ("place", &place)],
        );
        notify::send_in_background(state.clone(), caller_id.clone(), consultation.id.clone(), phone, text);
    }
    tracing::info!(call_sid, consultation = %consultation.id, created, gave_up, "callback registered");
    actions.extend(script::callback_registered(
        &state.prompts,
        &Registered {
            ticket: &consultation.ticket,
            callback_number: &callback_number,
            ahead,
            wait_minutes,
            gave_up,
            by_sms,
        },
    ));
    Ok(Some(actions))
}

/// The legal-aid pre-screening: assessed, recorded with the application, the consultation's
/// priority raised to match; the explanation the caller hears (and, if they asked for SMS
/// follow-up, reads).
async fn apply(
    state: &AppState,
    call_sid: &str,
    s: &CallState,
    consultation: &Consultation,
) -> Result<String, HandleError> {
    let a = &s.answers;
    let certificate = a
        .certificate
        .as_deref()
        .and_then(|n| DisabilityCertificate::parse(n).ok());
    let yes = |flag| a.yes.contains(&flag);
    let screening = Screening {
        certificate: certificate.clone(),
        matter: a.matter.as_deref().and_then(Matter::parse),
        no_fixed_income: yes(Flag::NoFixedIncome),
        receives_assistance: yes(Flag::ReceivesAssistance),
        migrant_worker: yes(Flag::MigrantWorker),
        deadline_within_7_days: yes(Flag::DeadlineWithin7Days),
        evidence_at_risk: yes(Flag::EvidenceAtRisk),
        detained_or_on_trial: yes(Flag::DetainedOrOnTrial),
    };
    let assessment = assess(&screening);
    let answers: Vec<String> = a.yes.iter().map(|f| flag_name(*f)).collect();
    let application = state
        .db
        .record_application(&NewApplication {
            origin_key: &format!("call:{call_sid}:apply"),
            consultation_id: &consultation.id,
            certificate: certificate.as_ref(),
            prefecture: a.prefecture.as_deref(),
            county: a.county.as_deref(),
            matter: a.matter.as_deref(),
            answers: answers.iter().map(String::as_str).collect(),
            assessment: &assessment,
        })
        .await?;
    state
        .db
        .raise_priority(&consultation.id, assessment.priority, assessment.urgent)
        .await?;
    tracing::info!(call_sid, application = %application.id, outcome = application.outcome, priority = application.priority, "application pre-assessed");
    if s.profile.sms_follow_up && state.rest.is_configured() {
        let phone = state
            .db
            .caller_phone(&consultation.caller_id)
            .await?
            .and_then(|p| PhoneNumber::parse(&p).ok())
            .filter(PhoneNumber::is_mobile);
        if let Some(phone) = phone {
            let text = fill(
                &state.prompts.sms_assessment,
                &[
                    ("ticket", consultation.ticket.as_str()),
                    ("explanation", &assessment.explanation),
                ],
            );
            notify::send_in_background(
                state.clone(),
                consultation.caller_id.clone(),
                consultation.id.clone(),
                phone,
                text,
            );
        }
    }
    Ok(assessment.explanation)
}

fn flag_name(flag: Flag) -> String {
    serde_json::to_value(flag)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The caller's consultations (or the typed ticket's), each with its status, its place in the
/// queue while waiting, and its pre-assessment when it is an application.
async fn progress(state: &AppState, call_sid: &str, ticket: Option<&str>) -> Result<Vec<Action>, HandleError> {
    let p = &state.prompts;
    let cases = match ticket {
        Some(t) => {
            let found = match Ticket::parse(t) {
                Ok(t) => state.db.consultation_by_ticket(&t).await?,
                Err(_) => None,
            };
            match found {
                Some(c) => vec![c],
                None => return Ok(vec![script::say(p, &line("progress_not_found"))]),
            }
        }
        None => match state.db.find_call(PROVIDER, call_sid).await?.and_then(|c| c.caller_id) {
            Some(caller_id) => state.db.consultations_of(&caller_id, PROGRESS_CASES).await?,
            None => Vec::new(),
        },
    };
    if cases.is_empty() {
        return Ok(vec![script::say(p, &line("progress_none"))]);
    }
    let queue = CallbackQueue::new(&state.kv);
    let mut actions = Vec::new();
    for c in cases {
        let status = match c.status.as_str() {
            "waiting_callback" => &p.status_waiting_callback,
            "in_progress" => &p.status_in_progress,
            _ => &p.status_closed,
        };
        actions.push(script::text(fill(
            &p.progress_case,
            &[("ticket", &c.ticket.spoken()), ("status", status)],
        )));
        if c.status == "waiting_callback" {
            if let Ok(Some(place)) = queue.position(&c.id).await {
                actions.push(script::queue_place(p, place - 1));
            }
        }
        if let Some(application) = state.db.application_of(&c.id).await? {
            actions.push(script::text(fill(
                &p.assessment,
                &[("explanation", &application.explanation)],
            )));
        }
    }
    Ok(actions)
}

pub async fn status_changed(
    state: &AppState,
    call_sid: &str,
    status: CallStatus,
    duration_secs: Option<u32>,
) -> Result<Vec<Action>, HandleError> {
    state
        .db
        .update_call_status(PROVIDER, call_sid, status, duration_secs)
        .await?;
    if status.is_final() {
        if let Err(e) = state.kv.end_session(call_sid).await {
            tracing::warn!(call_sid, error = %e, "could not drop the IVR session; it will expire");
        }
    }
    Ok(Vec::new())
}

/// The provider could not use an answer of ours: apologise and offer the fallback.
pub fn fallback(state: &AppState, call_sid: &str, error_code: Option<&str>) -> Vec<Action> {
    tracing::error!(call_sid, error_code, "voice fallback requested");
    let f = &state.settings.fallback;
    script::fallback(&state.prompts, &f.human_number, &f.office_hours)
}

/// R2/R4: the profile chosen on this call applies to every later call from the same number.
async fn remember_profile(state: &AppState, call_sid: &str, profile: &Profile) -> Result<(), HandleError> {
    if let Some(caller_id) = state.db.find_call(PROVIDER, call_sid).await?.and_then(|c| c.caller_id) {
        state.db.set_caller_profile(&caller_id, profile).await?;
    }
    Ok(())
}

/// The rate to speak at on this call; normal when the state cannot be read.
pub async fn speech_rate(state: &AppState, call_sid: &str) -> SpeechRate {
    match load_state(state, call_sid).await {
        Ok(s) => s.speaking_rate(),
        Err(_) => SpeechRate::default(),
    }
}

/// The call's state: from Redis, else from SQL, else (a call we lost track of) a fresh start.
async fn load_state(state: &AppState, call_sid: &str) -> Result<CallState, HandleError> {
    let sealed = match state.kv.load_session::<String>(call_sid).await {
        Ok(Some(sealed)) => open(state, &sealed),
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(call_sid, error = %e, "IVR session unavailable in Redis; reading it from SQL");
            None
        }
    };
    let s = match sealed {
        Some(s) => Some(s),
        None => state
            .db
            .ivr_state(PROVIDER, call_sid)
            .await?
            .and_then(|bytes| serde_json::from_slice::<CallState>(&bytes).ok()),
    };
    let mut s = s.unwrap_or_default();
    if !state.flow.nodes.contains_key(&s.node) {
        // A state from before a flow change, or none at all: go on from the top.
        s.node = state.flow.start.clone();
    }
    Ok(s)
}

fn open(state: &AppState, sealed: &str) -> Option<CallState> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD.decode(sealed).ok()?;
    let plain = state.db.key().decrypt(&bytes).ok()?;
    serde_json::from_slice(&plain).ok()
}

/// Keeps the state in Redis (sealed: the answers are personal data) and in SQL.
async fn save_state(state: &AppState, call_sid: &str, s: &CallState, turn: u32) {
    use base64::Engine;
    let plain = serde_json::to_vec(s).expect("the call state serialises");
    let sealed = base64::engine::general_purpose::STANDARD.encode(state.db.key().encrypt(&plain));
    if let Err(e) = state
        .kv
        .save_session(call_sid, &sealed, state.settings.redis.session_ttl_secs)
        .await
    {
        tracing::warn!(call_sid, turn, error = %e, "could not keep the IVR session in Redis");
    }
    if let Err(e) = state.db.save_ivr_state(PROVIDER, call_sid, &plain).await {
        tracing::warn!(call_sid, turn, error = %e, "could not keep the IVR state in SQL");
    }
}
