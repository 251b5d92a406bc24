//! One case as the lawyer sees it — with the caller's archive (一户一档: their other
//! consultations, applications, recordings and transcripts, texts, notes) — and what they do
//! with it: call back, write a note, reply by SMS, close with the Art. 22 service form.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::answers::{self, Answer};
use super::{case_for, labels, queue, DeskError};
use crate::app::AppState;
use crate::auth::Staff;
use crate::domain::callback::Presence;
use crate::domain::{ConsultationStatus, ServiceForm};
use crate::notify::{self, NotifyError};
use crate::routing::summary;
use crate::storage::consultations::Consultation;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CaseSummary {
    pub ticket: String,
    pub status: String,
    pub status_label: String,
    pub channel: String,
    pub matter_label: String,
    pub place: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CaseFile {
    #[serde(flatten)]
    pub summary: CaseSummary,
    pub priority_label: String,
    pub urgent: bool,
    pub needs: Vec<String>,
    /// The legal-aid pre-assessment, in words.
    pub assessment: Option<String>,
    /// The legal-aid application's answers, in words (empty without an application).
    pub answers: Vec<Answer>,
    pub recordings: Vec<RecordingView>,
    pub messages: Vec<MessageView>,
    pub notes: Vec<NoteView>,
    pub closing: Option<ClosingView>,
    /// The caller's other consultations, newest first.
    pub history: Vec<CaseSummary>,
    /// The viewer's own latest assignment of this case (what "call back" acts on).
    pub assignment: Option<queue::OfferView>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecordingView {
    /// Its audio: `GET /api/v1/consultations/{ticket}/recordings/{id}`.
    pub id: String,
    /// description or note
    pub purpose: String,
    /// 问题描述录音 or 补充说明录音
    pub label: String,
    pub url: String,
    pub duration_secs: i64,
    pub transcript: Option<String>,
    /// The audio was deleted at the provider (retention); the transcript stays.
    pub audio_deleted: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MessageView {
    /// inbound or outbound
    pub direction: String,
    pub body: String,
    pub status: String,
    pub at: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NoteView {
    pub author: String,
    pub body: String,
    pub at: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClosingView {
    pub service_form: ServiceForm,
    pub service_form_label: String,
    pub outcome: String,
    pub closed_at: String,
    pub closed_by: String,
}

/// Closing a case: the Art. 22 form of aid given and the outcome in words.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct Close {
    pub service_form: ServiceForm,
    /// 1 to 4000 characters, not only spaces.
    #[schema(min_length = 1, max_length = 4000, pattern = r"\S")]
    pub outcome: String,
}

pub fn summary_of(state: &AppState, c: &Consultation) -> CaseSummary {
    CaseSummary {
        ticket: c.ticket.as_str().to_owned(),
        status: c.status.as_str().to_owned(),
        status_label: labels::status(c.status).to_owned(),
        channel: c.channel.as_str().to_owned(),
        matter_label: labels::matter(c.matter.as_deref()).to_owned(),
        place: summary::place(state, c),
        created_at: c.created_at.clone(),
    }
}

/// The cases on the account's desk: a lawyer's own, a supervisor's prefecture's, all for admins.
pub async fn cases(state: &AppState, staff: &Staff) -> Result<Vec<CaseSummary>, DeskError> {
    let list = match staff.lawyer() {
        Some(lawyer) => state.db.cases_of_lawyer(lawyer, 200).await?,
        None if staff.role == crate::domain::Role::Admin => state.db.recent_cases(None, false, 200).await?,
        None => match &staff.region {
            Some(region) => {
                let unplaced = *region == state.settings.callback.default_prefecture;
                state.db.recent_cases(Some(region), unplaced, 200).await?
            }
            None => Vec::new(),
        },
    };
    Ok(list.iter().map(|c| summary_of(state, c)).collect())
}

/// The whole file; the read is audited.
pub async fn open(state: &AppState, staff: &Staff, ticket: &str) -> Result<CaseFile, DeskError> {
    let c = case_for(state, staff, ticket, "case.read").await?;
    let db = &state.db;
    let application = db.application_of(&c.id).await?;
    let history = db
        .consultations_of(&c.caller_id, 50)
        .await?
        .into_iter()
        .filter(|other| other.id != c.id)
        .map(|other| summary_of(state, &other))
        .collect();
    let assignment = match staff.lawyer() {
        Some(lawyer) => db
            .latest_assignment(&c.id, lawyer)
            .await?
            .map(|a| queue::OfferView::of(&a, &c)),
        None => None,
    };
    Ok(CaseFile {
        summary: summary_of(state, &c),
        priority_label: labels::priority(c.priority).to_owned(),
        urgent: c.urgent,
        needs: summary::needs(state, &c, application.as_ref()).await?,
        assessment: application
            .as_ref()
            .map(|a| format!("{}。{}", summary::outcome_words(a.outcome), a.explanation)),
        answers: application
            .as_ref()
            .map(|a| answers::of(&state.flow.regions, a))
            .unwrap_or_default(),
        recordings: db
            .recordings_of(&c.id)
            .await?
            .into_iter()
            .map(|r| RecordingView {
                id: r.id,
                label: labels::recording(&r.purpose).to_owned(),
                purpose: r.purpose,
                url: r.url,
                duration_secs: r.duration_secs,
                transcript: r.transcript,
                audio_deleted: r.deleted_at.is_some(),
            })
            .collect(),
        messages: db
            .messages_of(&c.id)
            .await?
            .into_iter()
            .map(|m| MessageView {
                direction: m.direction,
                body: m.body,
                status: m.status,
                at: m.created_at,
            })
            .collect(),
        notes: db
            .notes_of(&c.id)
            .await?
            .into_iter()
            .map(|n| NoteView {
                author: n.author,
                body: n.body,
                at: n.created_at,
            })
            .collect(),
        closing: db.closing_of(&c.id).await?.map(|k| ClosingView {
            service_form: k.service_form,
            service_form_label: k.service_form.label().to_owned(),
            outcome: k.outcome,
            closed_at: k.closed_at,
            closed_by: k.closed_by,
        }),
        history,
        assignment,
    })
}

fn text(value: &str, what: &str, max: usize) -> Result<String, DeskError> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > max {
        return Err(DeskError::Invalid(format!("{what}须为 1 到 {max} 个字")));
    }
    Ok(value.to_owned())
}

pub async fn add_note(state: &AppState, staff: &Staff, ticket: &str, body: &str) -> Result<(), DeskError> {
    let body = text(body, "备注", 4000)?;
    let c = case_for(state, staff, ticket, "case.note").await?;
    state.db.add_note(&c.id, &staff.id, &body).await?;
    Ok(())
}

/// Closes the case once; closing it again is refused with the closing on record.
pub async fn close(state: &AppState, staff: &Staff, ticket: &str, close: &Close) -> Result<(), DeskError> {
    let outcome = text(&close.outcome, "处理结果", 4000)?;
    let c = case_for(state, staff, ticket, "case.close").await?;
    if c.status == ConsultationStatus::WaitingCallback && staff.lawyer().is_some() {
        return Err(DeskError::Conflict("案件还在等待回拨，请先回拨".into()));
    }
    if !state
        .db
        .close_consultation(&c.id, close.service_form, &outcome, &staff.id)
        .await?
    {
        return Err(DeskError::Conflict("这个案件已经结案".into()));
    }
    for lawyer in state.db.end_assignments_of(&c.id).await? {
        // A lawyer closing during the call is free again; one who went offline stays offline.
        if state.db.presence_of(&lawyer).await? == Some(Presence::OnCall) {
            state.db.set_presence(&lawyer, Presence::Available).await?;
        }
    }
    crate::routing::CallbackQueue::new(&state.kv)
        .remove(&c.id)
        .await
        .map_err(|e| tracing::warn!(error = %e, "closed case not removed from the queue; the reconciler will"))
        .ok();
    // The person hears of it the way we can reach them: a text to a mobile (a texter's thread,
    // or a caller's mobile), saying how to take the matter up again.
    notify::tell_person(state, &c, &state.prompts.sms_closed).await?;
    Ok(())
}

/// What an SMS reply costs.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Cost {
    /// gsm7 or ucs2
    pub encoding: &'static str,
    /// Separate messages the text is sent as (numbered when more than one).
    pub parts: usize,
    /// SMS segments over all parts.
    pub segments: usize,
}

fn encoding_of(body: &str) -> &'static str {
    match crate::sms::count(&format!("{}{body}", crate::sms::SIGNATURE)).encoding {
        crate::sms::Encoding::Gsm7 => "gsm7",
        crate::sms::Encoding::Ucs2 => "ucs2",
    }
}

/// What a reply would cost, before it is sent.
pub fn segments(body: &str) -> Result<Cost, DeskError> {
    let body = text(body, "短信内容", 1000)?;
    let parts = crate::sms::split(&body, crate::sms::SIGNATURE);
    Ok(Cost {
        encoding: encoding_of(&body),
        parts: parts.len(),
        segments: parts.iter().map(|p| crate::sms::count(p).segments).sum(),
    })
}

/// The lawyer's SMS reply in the case's thread, from the hotline number.
pub async fn reply(state: &AppState, staff: &Staff, ticket: &str, body: &str) -> Result<Cost, DeskError> {
    let body = text(body, "短信内容", 1000)?;
    let c = case_for(state, staff, ticket, "case.sms").await?;
    let sent = notify::lawyer_reply(state, &c.id, &body).await.map_err(|e| match e {
        NotifyError::Storage(e) => DeskError::Storage(e),
        NotifyError::NoPhone => DeskError::Conflict("没有来电人的电话号码".into()),
        NotifyError::OptedOut => DeskError::Conflict("未发送：对方已退订短信".into()),
        NotifyError::RateLimited => DeskError::Conflict("未发送：这个号码本小时的短信已达上限".into()),
    })?;
    Ok(Cost {
        encoding: encoding_of(&body),
        parts: sent.parts,
        segments: sent.segments,
    })
}

/// "Call back" from the case page: accepts the viewer's offer of this case.
pub async fn call_back(state: &AppState, staff: &Staff, ticket: &str) -> Result<queue::OfferView, DeskError> {
    let lawyer = super::lawyer_of(staff)?;
    let c = case_for(state, staff, ticket, "case.call_back").await?;
    let a = state
        .db
        .latest_assignment(&c.id, lawyer)
        .await?
        .ok_or_else(|| DeskError::Conflict("请先领取这个案件".into()))?;
    queue::accept(state, staff, &a.id).await
}
