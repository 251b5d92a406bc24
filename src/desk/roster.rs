//! The roster for supervisors and admins: who is on the roster, on duty and how busy, and
//! importing a corrected roster file. A supervisor sees and edits only lawyers who serve their
//! prefecture.

use serde::Serialize;
use utoipa::ToSchema;

use super::{labels, DeskError};
use crate::app::AppState;
use crate::auth::Staff;
use crate::domain::roster::parse_csv;
use crate::storage::lawyers::LawyerRecord;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RosterEntry {
    pub id: String,
    pub name: String,
    pub presence: String,
    pub presence_label: String,
    pub on_shift: bool,
    pub open_cases: i64,
    pub max_cases: u32,
    pub skills: Vec<String>,
    pub regions: Vec<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Imported {
    pub added: usize,
    pub updated: usize,
}

fn in_region(region: &str, code: &str) -> bool {
    code.len() >= 4 && region.len() >= 4 && code[..4] == region[..4]
}

fn visible(staff: &Staff, l: &LawyerRecord) -> bool {
    match staff.role {
        crate::domain::Role::Admin => true,
        crate::domain::Role::Supervisor => staff
            .region
            .as_deref()
            .is_some_and(|r| l.regions.iter().any(|code| in_region(r, code))),
        crate::domain::Role::Lawyer => false,
    }
}

fn manager(staff: &Staff) -> Result<(), DeskError> {
    if staff.manages() {
        Ok(())
    } else {
        Err(DeskError::Forbidden("只有主管和管理员可以管理排班"))
    }
}

pub async fn roster(state: &AppState, staff: &Staff) -> Result<Vec<RosterEntry>, DeskError> {
    manager(staff)?;
    let now = chrono::Utc::now();
    let mut out = Vec::new();
    for l in state.db.lawyers().await?.into_iter().filter(|l| visible(staff, l)) {
        out.push(RosterEntry {
            presence_label: labels::presence(&l.presence).to_owned(),
            on_shift: crate::domain::roster::on_duty(&l.shifts, &l.exceptions, now),
            open_cases: state.db.open_cases_of(&l.id).await?,
            id: l.id,
            name: l.name,
            presence: l.presence,
            max_cases: l.max_cases,
            skills: l.skills,
            regions: l.regions,
        });
    }
    Ok(out)
}

/// Adds or updates the lawyers of a roster CSV (the format of `hotline roster import`); nothing
/// is stored unless every row is valid and, for a supervisor, within their prefecture.
pub async fn import(state: &AppState, staff: &Staff, csv: &str) -> Result<Imported, DeskError> {
    manager(staff)?;
    let lawyers = parse_csv(csv)
        .map_err(|errors| DeskError::Invalid(errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")))?;
    if staff.role == crate::domain::Role::Supervisor {
        let region = staff.region.as_deref().unwrap_or_default();
        if let Some(l) = lawyers
            .iter()
            .find(|l| l.regions.is_empty() || !l.regions.iter().all(|code| in_region(region, code)))
        {
            return Err(DeskError::Forbidden(if l.regions.is_empty() {
                "主管只能导入本地区的律师"
            } else {
                "主管只能导入本地区的律师（有律师的服务地区不在本地区）"
            }));
        }
    }
    let summary = state.db.import_roster(&lawyers).await?;
    state
        .db
        .audit(&staff.id, "roster.import", &format!("{} lawyers", lawyers.len()))
        .await?;
    Ok(Imported {
        added: summary.added,
        updated: summary.updated,
    })
}
