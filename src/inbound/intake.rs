//! What the phone menu and the SMS conversation share once a person has chosen: opening (or
//! joining) their consultation with what they told us, the legal-aid pre-assessment and its
//! application record, queuing the callback, and reading out where their cases stand. Each
//! channel only words the result its own way.

use crate::app::AppState;
use crate::domain::legal_aid::{assess, Screening};
use crate::domain::{Channel, ConsultationStatus, DisabilityCertificate, Matter, Ticket};
use crate::ivr::flow::Flag;
use crate::ivr::CallState;
use crate::routing::queue::Waiting;
use crate::routing::CallbackQueue;
use crate::storage::applications::NewApplication;
use crate::storage::consultations::{Consultation, Details, NewConsultation};
use crate::storage::recordings::Untranscribed;

use super::HandleError;

/// Who is asking, and through what.
#[derive(Debug, Clone, Copy)]
pub struct Intake<'a> {
    pub caller_id: &'a str,
    /// What makes a retried delivery find the same records: "call:<sid>" or "sms:<sid>".
    pub origin: &'a str,
    pub call_sid: Option<&'a str>,
    pub channel: Channel,
    pub state: &'a CallState,
}

/// A registered callback.
#[derive(Debug, Clone)]
pub struct Registration {
    pub consultation: Consultation,
    /// A new consultation (rather than the person's open one).
    pub created: bool,
    /// How many wait before them (unknown while Redis is unreachable).
    pub ahead: Option<u64>,
    pub wait_minutes: Option<u64>,
    /// The pre-assessment in plain words, for an application.
    pub explanation: Option<String>,
}

/// Opens the person's consultation or joins their open one, with what they told us; for an
/// application also pre-assesses it and records it; records the Art. 23 notice; queues it.
pub async fn register(state: &AppState, intake: Intake<'_>, apply: bool) -> Result<Registration, HandleError> {
    let a = &intake.state.answers;
    let (consultation, created) = state
        .db
        .consultation_for(
            &NewConsultation {
                origin_key: &format!("{}:callback", intake.origin),
                caller_id: intake.caller_id,
                call_sid: intake.call_sid,
                channel: intake.channel,
            },
            a.matter.as_deref(),
        )
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
    if let Some(call_sid) = intake.call_sid {
        for (purpose, recording) in [("description", &a.description), ("note", &a.note)] {
            if let Some(r) = recording {
                let added = state
                    .db
                    .add_recording(&consultation.id, call_sid, purpose, &r.url, r.secs)
                    .await?;
                if let Some(id) = added {
                    let job = Untranscribed {
                        id,
                        consultation_id: consultation.id.clone(),
                        url: r.url.clone(),
                    };
                    super::transcribe::start(state, job, chrono::Utc::now()).await?;
                }
            }
        }
    }
    let explanation = match apply {
        true => Some(application(state, intake, &consultation).await?),
        false => None,
    };
    state.db.record_art23_notice(&consultation.id).await?;
    let consultation = state
        .db
        .consultation_by_id(&consultation.id)
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
    tracing::info!(consultation = %consultation.id, created, channel = intake.channel.as_str(), "callback registered");
    Ok(Registration {
        consultation,
        created,
        ahead,
        wait_minutes,
        explanation,
    })
}

/// The legal-aid pre-screening: assessed, recorded with the application, the consultation's
/// priority raised to match. Returns the explanation in plain words.
async fn application(state: &AppState, intake: Intake<'_>, consultation: &Consultation) -> Result<String, HandleError> {
    let a = &intake.state.answers;
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
    let recorded = state
        .db
        .record_application(&NewApplication {
            origin_key: &format!("{}:apply", intake.origin),
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
    tracing::info!(application = %recorded.id, outcome = recorded.outcome.as_str(), priority = recorded.priority.as_str(), "application pre-assessed");
    Ok(assessment.explanation)
}

fn flag_name(flag: Flag) -> String {
    serde_json::to_value(flag)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The consultation of a typed ticket, if it is the person's own.
async fn own_case(state: &AppState, caller_id: Option<&str>, typed: &str) -> Result<Option<Consultation>, HandleError> {
    let Some(caller_id) = caller_id else {
        return Ok(None); // a withheld number owns no case
    };
    if state.kv.counted("ticketguess", caller_id).await.unwrap_or(0) >= TICKET_GUESSES_PER_HOUR {
        tracing::warn!(
            caller = caller_id,
            "typed ticket refused unread: too many tickets that were not theirs"
        );
        return Ok(None);
    }
    let found = match Ticket::parse(typed) {
        Ok(t) => state.db.consultation_by_ticket(&t).await?,
        Err(_) => None,
    };
    match found {
        Some(c) if c.caller_id == caller_id => Ok(Some(c)),
        other => {
            let tries = state
                .kv
                .count_in_window("ticketguess", caller_id, 3600)
                .await
                .unwrap_or(0);
            tracing::warn!(
                caller = caller_id,
                tries,
                someone_elses = other.is_some(),
                "typed ticket not read out: not the caller's own"
            );
            Ok(None)
        }
    }
}

/// Where one consultation stands.
#[derive(Debug, Clone)]
pub struct CaseStatus {
    pub ticket: Ticket,
    pub status: ConsultationStatus,
    /// How many wait before it, while it waits.
    pub ahead: Option<u64>,
    /// The pre-assessment, when it is an application.
    pub explanation: Option<String>,
}

/// Typed tickets that were not the person's own, per person and hour, before every further
/// typed ticket is refused unread.
const TICKET_GUESSES_PER_HOUR: i64 = 5;

/// The person's latest consultations, or the one of a typed ticket (None: no such ticket of
/// theirs). Only the person's own cases are read out: another number's ticket gets the same
/// answer as one that does not exist, and repeated tries are limited and logged.
pub async fn cases(
    state: &AppState,
    caller_id: Option<&str>,
    ticket: Option<&str>,
    limit: i64,
) -> Result<Option<Vec<CaseStatus>>, HandleError> {
    let found = match ticket {
        Some(t) => match own_case(state, caller_id, t).await? {
            Some(c) => vec![c],
            None => return Ok(None),
        },
        None => match caller_id {
            Some(id) => state.db.consultations_of(id, limit).await?,
            None => Vec::new(),
        },
    };
    let queue = CallbackQueue::new(&state.kv);
    let mut out = Vec::new();
    for c in found {
        let ahead = match c.status {
            ConsultationStatus::WaitingCallback => queue.position(&c.id).await.ok().flatten().map(|p| p - 1),
            _ => None,
        };
        let explanation = state.db.application_of(&c.id).await?.map(|a| a.explanation);
        out.push(CaseStatus {
            ticket: c.ticket,
            status: c.status,
            ahead,
            explanation,
        });
    }
    Ok(Some(out))
}
