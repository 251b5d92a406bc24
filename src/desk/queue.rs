//! The queue as staff see it, the on-duty switch, claiming the next case, and answering offers.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{labels, lawyer_of, DeskError};
use crate::app::AppState;
use crate::auth::Staff;
use crate::domain::callback::Presence;
use crate::domain::Matter;
use crate::routing::{callback, dispatch, summary, CallbackQueue};
use crate::storage::assignments::Assignment;
use crate::storage::consultations::Consultation;

/// A consultation waiting for a callback.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QueueEntry {
    pub ticket: String,
    /// criminal_notification, urgent, severe_disability, normal
    pub priority: String,
    pub priority_label: String,
    pub waited_mins: i64,
    pub matter: Option<String>,
    pub matter_label: String,
    pub place: Option<String>,
    /// Accessibility needs, in words ("来电人为视力残疾", "曾用短信联系").
    pub needs: Vec<String>,
    /// voice or sms
    pub channel: String,
    pub urgent: bool,
}

/// An offer or a callback in progress.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OfferView {
    pub assignment: String,
    pub ticket: String,
    pub state: String,
    pub state_label: String,
    pub lapses_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Duty {
    pub on_duty: bool,
    /// available, busy, on_call, offline
    pub presence: String,
    /// 值班中, 忙碌, 通话中, 下线
    pub presence_label: String,
}

async fn entry(state: &AppState, c: &Consultation, now: DateTime<Utc>) -> Result<QueueEntry, DeskError> {
    let application = state.db.application_of(&c.id).await?;
    let since = DateTime::parse_from_rfc3339(&c.created_at).map_or(now, |t| t.with_timezone(&Utc));
    Ok(QueueEntry {
        ticket: c.ticket.as_str().to_owned(),
        priority: c.priority.as_str().to_owned(),
        priority_label: labels::priority(c.priority).to_owned(),
        waited_mins: (now - since).num_minutes().max(0),
        matter: c.matter.clone(),
        matter_label: labels::matter(c.matter.as_deref()).to_owned(),
        place: summary::place(state, c),
        needs: summary::needs(state, c, application.as_ref()).await?,
        channel: c.channel.as_str().to_owned(),
        urgent: c.urgent,
    })
}

/// The waiting consultations this account may see, most urgent first: a lawyer those they are
/// eligible for (their matters and regions, and those not yet known), a supervisor their
/// prefecture's, an admin all. At most [`SHOWN`]: the page is polled, and each entry shown costs
/// a few queries (needs, pre-assessment).
pub async fn queue(state: &AppState, staff: &Staff) -> Result<Vec<QueueEntry>, DeskError> {
    let mut waiting = state.db.waiting_consultations().await?;
    // Priority class first, then the longest waiting (RFC 3339 text sorts as time).
    waiting.sort_by_cached_key(|c| (c.priority, c.created_at.clone()));
    let eligible: Box<dyn Fn(&Consultation) -> bool + Send + Sync> = match staff.lawyer() {
        Some(lawyer) => {
            let record = state.db.lawyer(lawyer).await?;
            let (matters, prefectures) = record.as_ref().map(dispatch::eligibility).unwrap_or_default();
            Box::new(move |c: &Consultation| {
                c.matter
                    .as_deref()
                    .and_then(Matter::parse)
                    .is_none_or(|m| matters.contains(&m))
                    && c.prefecture.as_ref().is_none_or(|p| prefectures.contains(p))
            })
        }
        None => {
            let pool = state.settings.callback.default_prefecture.clone();
            Box::new(move |c: &Consultation| staff.oversees(c.prefecture.as_deref(), &pool))
        }
    };
    let queue = CallbackQueue::new(&state.kv);
    let now = Utc::now();
    let mut out = Vec::new();
    for c in waiting.iter().filter(|c| eligible(c)) {
        if out.len() == SHOWN {
            break;
        }
        // Offered to someone else already, or declined by this lawyer: not theirs to take.
        // Without Redis the SQL view is shown as it is.
        if let Some(lawyer) = staff.lawyer() {
            if let Ok(Some((s, _))) = queue.state(&c.id).await {
                if s != "waiting" {
                    continue;
                }
            }
            if queue.declined_by(&c.id, lawyer).await.unwrap_or(false) {
                continue;
            }
        }
        out.push(entry(state, c, now).await?);
    }
    Ok(out)
}

/// The most waiting entries one page shows.
pub const SHOWN: usize = 100;

impl OfferView {
    /// An assignment of this consultation.
    pub fn of(a: &Assignment, c: &Consultation) -> Self {
        Self {
            assignment: a.id.clone(),
            ticket: c.ticket.as_str().to_owned(),
            state: a.state.as_str().to_owned(),
            state_label: labels::assignment(a.state, c.channel).to_owned(),
            lapses_at: a.lapses_at.clone(),
        }
    }
}

async fn view(state: &AppState, a: &Assignment) -> Result<OfferView, DeskError> {
    let c = state
        .db
        .consultation_by_id(&a.consultation_id)
        .await?
        .ok_or_else(|| DeskError::NotFound("这个回拨任务的案件不存在".into()))?;
    Ok(OfferView::of(a, &c))
}

/// The lawyer's offers and callbacks in progress.
pub async fn offers(state: &AppState, staff: &Staff) -> Result<Vec<OfferView>, DeskError> {
    let lawyer = lawyer_of(staff)?;
    let mut out = Vec::new();
    for a in state.db.active_assignments_of(lawyer).await? {
        out.push(view(state, &a).await?);
    }
    Ok(out)
}

pub async fn duty(state: &AppState, staff: &Staff) -> Result<Duty, DeskError> {
    let lawyer = lawyer_of(staff)?;
    let presence = state
        .db
        .presence_of(lawyer)
        .await?
        .ok_or_else(|| DeskError::NotFound("这个账户没有对应的值班律师".into()))?;
    Ok(Duty {
        on_duty: presence != Presence::Offline,
        presence: presence.as_str().to_owned(),
        presence_label: labels::presence(presence).to_owned(),
    })
}

/// On duty: offers start coming. Off duty: they stop (a callback in progress goes on).
pub async fn set_duty(state: &AppState, staff: &Staff, on: bool) -> Result<Duty, DeskError> {
    let lawyer = lawyer_of(staff)?;
    let current = duty(state, staff).await?;
    if current.presence != Presence::OnCall.as_str() {
        let presence = if on { Presence::Available } else { Presence::Offline };
        state.db.set_presence(lawyer, presence).await?;
    }
    state
        .db
        .audit(&staff.id, if on { "duty.on" } else { "duty.off" }, lawyer)
        .await?;
    duty(state, staff).await
}

/// The best waiting case this lawyer may take, offered to them now; a lawyer who holds an offer
/// gets that one again (a double click reserves one case, not two).
pub async fn claim(state: &AppState, staff: &Staff) -> Result<Option<OfferView>, DeskError> {
    let lawyer = lawyer_of(staff)?;
    if !duty(state, staff).await?.on_duty {
        return Err(DeskError::Conflict("请先开始值班".into()));
    }
    let Some(offer) = dispatch::claim(state, lawyer, Utc::now()).await? else {
        return Ok(None);
    };
    state
        .db
        .audit(&staff.id, "callback.claim", &offer.consultation_id)
        .await?;
    Ok(Some(view(state, &offer).await?))
}

/// Accepting an offer is calling back: the lawyer's phone rings, then the caller's (for a
/// texter, the thread is theirs).
pub async fn accept(state: &AppState, staff: &Staff, assignment: &str) -> Result<OfferView, DeskError> {
    let lawyer = lawyer_of(staff)?;
    let a = callback::accept(state, assignment, lawyer).await?;
    state.db.audit(&staff.id, "callback.accept", &a.consultation_id).await?;
    view(state, &a).await
}

pub async fn decline(state: &AppState, staff: &Staff, assignment: &str) -> Result<(), DeskError> {
    let lawyer = lawyer_of(staff)?;
    callback::decline(state, assignment, lawyer).await?;
    state.db.audit(&staff.id, "callback.decline", assignment).await?;
    Ok(())
}
