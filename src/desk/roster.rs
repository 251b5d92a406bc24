//! The roster for supervisors and admins: who is on the roster, on duty and how busy, and
//! importing a corrected roster file. A supervisor sees and edits only lawyers who serve their
//! prefecture. Matters and regions come with their Chinese names; an import that stores
//! nothing says why, in Chinese, row by row ([`ImportError`]).

use serde::Serialize;
use utoipa::ToSchema;

use super::{labels, DeskError};
use crate::app::AppState;
use crate::auth::Staff;
use crate::domain::roster::{parse_csv, RosterError};
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
    /// The skills in words: 劳动和工资, 手语, 方言：陕西话.
    pub skill_labels: Vec<String>,
    /// GB/T 2260 codes.
    pub regions: Vec<String>,
    /// The regions by name: 西安市, 西安市雁塔区.
    pub region_labels: Vec<String>,
}

/// Why an import stored nothing.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Problems in the file, each naming its row and column.
    #[error("排班表没有导入，请改正后再导入：{}", join(.0))]
    Invalid(Vec<RosterError>),
    /// Lawyers who also serve outside the supervisor's prefecture.
    #[error("排班表没有导入：主管只能导入服务地区都在{prefecture}的律师。{}", join(.rows))]
    Outside { prefecture: String, rows: Vec<Outside> },
    #[error(transparent)]
    Desk(#[from] DeskError),
}

/// A row of the file whose lawyer serves regions outside the supervisor's prefecture.
#[derive(Debug, Clone, thiserror::Error)]
#[error("表头下第 {row} 行（{name}）的服务地区{}不在本地区", .regions.join("、"))]
pub struct Outside {
    /// 1 = the first lawyer, as in [`RosterError`].
    pub row: usize,
    pub name: String,
    /// The regions outside, by name.
    pub regions: Vec<String>,
}

fn join(items: &[impl ToString]) -> String {
    items.iter().map(ToString::to_string).collect::<Vec<_>>().join("；")
}

impl ImportError {
    /// One line per problem, for a list.
    pub fn problems(&self) -> Vec<String> {
        match self {
            ImportError::Invalid(errors) => errors.iter().map(ToString::to_string).collect(),
            ImportError::Outside { rows, .. } => rows.iter().map(ToString::to_string).collect(),
            ImportError::Desk(e) => vec![e.to_string()],
        }
    }
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
    let regions = &state.flow.regions;
    let mut out = Vec::new();
    for l in state.db.lawyers().await?.into_iter().filter(|l| visible(staff, l)) {
        out.push(RosterEntry {
            presence_label: labels::presence(l.presence).to_owned(),
            on_shift: crate::domain::roster::on_duty(&l.shifts, &l.exceptions, now),
            open_cases: state.db.open_cases_of(&l.id).await?,
            id: l.id,
            name: l.name,
            presence: l.presence.as_str().to_owned(),
            max_cases: l.max_cases,
            skill_labels: l.skills.iter().map(|c| labels::skill(c)).collect(),
            skills: l.skills,
            region_labels: l.regions.iter().map(|c| labels::region(regions, c)).collect(),
            regions: l.regions,
        });
    }
    Ok(out)
}

/// Adds or updates the lawyers of a roster CSV (the format of `hotline roster import`); nothing
/// is stored unless every row is valid and, for a supervisor, within their prefecture.
pub async fn import(state: &AppState, staff: &Staff, csv: &str) -> Result<Imported, ImportError> {
    manager(staff)?;
    let lawyers = parse_csv(csv).map_err(ImportError::Invalid)?;
    if staff.role == crate::domain::Role::Supervisor {
        let region = staff.region.as_deref().unwrap_or_default();
        let names = &state.flow.regions;
        let rows: Vec<Outside> = lawyers
            .iter()
            .enumerate()
            .filter_map(|(i, l)| {
                let outside: Vec<String> = l
                    .regions
                    .iter()
                    .filter(|code| !in_region(region, code))
                    .map(|code| labels::region(names, code))
                    .collect();
                (!outside.is_empty()).then(|| Outside {
                    row: i + 1,
                    name: l.name.clone(),
                    regions: outside,
                })
            })
            .collect();
        if !rows.is_empty() {
            let prefecture = names.name_of(region).unwrap_or_else(|| labels::region(names, region));
            return Err(ImportError::Outside { prefecture, rows });
        }
    }
    let summary = state.db.import_roster(&lawyers).await.map_err(DeskError::from)?;
    state
        .db
        .audit(&staff.id, "roster.import", &format!("{} lawyers", lawyers.len()))
        .await
        .map_err(DeskError::from)?;
    Ok(Imported {
        added: summary.added,
        updated: summary.updated,
    })
}
