//! The duty desk: what a signed-in lawyer, supervisor or admin may see and do — the queue, offers,
//! their cases with the caller's archive, notes, SMS replies, closing, the roster. The console
//! pages and the JSON API are two faces of these functions; every check of a role is made here,
//! and every read of a case is written to the audit trail before it is returned.

pub mod accounts;
pub mod answers;
pub mod case;
pub mod labels;
pub mod queue;
pub mod recording;
pub mod roster;

use crate::app::AppState;
use crate::auth::Staff;
use crate::domain::Ticket;
use crate::kv::KvError;
use crate::providers::ProviderError;
use crate::routing::callback::CallbackError;
use crate::routing::dispatch::DispatchError;
use crate::storage::consultations::Consultation;
use crate::storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    #[error("the database is unavailable")]
    Storage(#[from] StorageError),
    #[error("the callback queue is unavailable")]
    Queue(#[from] KvError),
    #[error("the telephony provider did not take the request: {0}")]
    Provider(#[from] ProviderError),
}

impl From<DispatchError> for DeskError {
    fn from(e: DispatchError) -> Self {
        match e {
            DispatchError::Storage(e) => e.into(),
            DispatchError::Queue(e) => e.into(),
        }
    }
}

impl From<CallbackError> for DeskError {
    fn from(e: CallbackError) -> Self {
        match e {
            CallbackError::Storage(e) => e.into(),
            CallbackError::Queue(e) => e.into(),
            CallbackError::Provider(e) => e.into(),
            CallbackError::Unknown(id) => DeskError::NotFound(format!("没有这个回拨任务：{id}")),
            CallbackError::NotYours => DeskError::Conflict("这个案件不是分配给您的，或分配已过期".into()),
            CallbackError::NoPhone(who) => DeskError::Conflict(format!(
                "没有{who}的电话号码",
                who = match who {
                    "the lawyer" => "律师",
                    _ => "来电人",
                }
            )),
        }
    }
}

/// Whether the account may see this case: admins all, supervisors their prefecture, lawyers
/// the cases they hold or are offered and the rest of those callers' archives.
pub async fn may_see(state: &AppState, staff: &Staff, c: &Consultation) -> Result<bool, StorageError> {
    if staff.oversees(c.prefecture.as_deref(), &state.settings.callback.default_prefecture) {
        return Ok(true);
    }
    match staff.lawyer() {
        Some(lawyer) => state.db.lawyer_handles_caller(&c.caller_id, lawyer).await,
        None => Ok(false),
    }
}

/// The case with this ticket, if the account may see it; `action` goes to the audit trail
/// first (a request that cannot be audited is refused), `<action>.refused` when it may not.
pub async fn case_for(state: &AppState, staff: &Staff, ticket: &str, action: &str) -> Result<Consultation, DeskError> {
    let not_found = || DeskError::NotFound(format!("没有编号为 {ticket} 的案件"));
    let parsed = Ticket::parse(ticket).map_err(|_| not_found())?;
    let c = state.db.consultation_by_ticket(&parsed).await?.ok_or_else(not_found)?;
    if !may_see(state, staff, &c).await? {
        // Refusals are audited too: someone trying other people's cases shows in the trail.
        state.db.audit(&staff.id, &format!("{action}.refused"), &c.id).await?;
        return Err(DeskError::Forbidden("您无权查看这个案件"));
    }
    state.db.audit(&staff.id, action, &c.id).await?;
    Ok(c)
}

/// The lawyer's roster entry, or 403 for other roles.
pub fn lawyer_of(staff: &Staff) -> Result<&str, DeskError> {
    staff.lawyer().ok_or(DeskError::Forbidden("只有值班律师账户可以这样做"))
}
