//! The roster page for supervisors and admins: who is on duty and how busy (matters and regions
//! by name), and importing a corrected roster file. An import that stores nothing shows the
//! form again with the pasted CSV kept and each problem, in Chinese, by row.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use serde::Deserialize;

use super::layout::{self, Page, Prefs};
use super::{done, ConsoleError, ConsoleForm, Done};
use crate::app::AppState;
use crate::desk::roster::{self, ImportError};
use crate::http::staff::ConsoleStaff;

pub async fn page(
    State(state): State<AppState>,
    who: ConsoleStaff,
    headers: HeaderMap,
    d: Done,
) -> Result<Markup, ConsoleError> {
    render(&state, &who, &headers, d.0.as_deref(), None).await
}

/// A refused import: what was pasted, and why it was refused.
struct Refused<'a> {
    csv: &'a str,
    error: &'a ImportError,
}

async fn render(
    state: &AppState,
    who: &ConsoleStaff,
    headers: &HeaderMap,
    done: Option<&str>,
    refused: Option<Refused<'_>>,
) -> Result<Markup, ConsoleError> {
    let lawyers = roster::roster(state, &who.staff).await?;
    let body = html! {
        section aria-labelledby="roster-h" {
            h2 id="roster-h" { "律师（" (lawyers.len()) "）" }
            table {
                caption { "排班中的律师" }
                thead { tr {
                    th scope="col" { "姓名" } th scope="col" { "状态" } th scope="col" { "在班时间内" }
                    th scope="col" { "案件 / 上限" } th scope="col" { "专长" } th scope="col" { "服务地区" }
                } }
                tbody {
                    @for l in &lawyers {
                        tr {
                            td { (l.name) }
                            td { (l.presence_label) }
                            td { @if l.on_shift { "是" } @else { "否" } }
                            td { (l.open_cases) " / " (l.max_cases) }
                            td { (l.skill_labels.join("、")) }
                            td { (l.region_labels.join("、")) }
                        }
                    }
                }
            }
        }
        section aria-labelledby="import-h" {
            h2 id="import-h" { "导入排班表" }
            @if let Some(r) = &refused {
                div id="roster-problems" class="problems" role="alert" {
                    p { strong { (heading(r.error)) } }
                    ul { @for p in r.error.problems() { li { (p) } } }
                }
            }
            form method="post" action="/console/roster" {
                input type="hidden" name="csrf" value=(who.csrf);
                label for="roster-csv" { "排班表（CSV，格式见说明文档）" }
                p id="roster-hint" class="hint" { "列：name,phone,skills,regions,max_cases,shifts,exceptions。已有的律师按电话号码更新；有任何一行错误则不保存。" }
                textarea id="roster-csv" name="csv" rows="8" required
                    aria-describedby={ "roster-hint" @if refused.is_some() { " roster-problems" } }
                    aria-invalid=[refused.as_ref().map(|_| "true")] {
                    @if let Some(r) = &refused { (r.csv) }
                }
                button type="submit" { "导入" }
            }
        }
    };
    Ok(layout::render(
        &Page {
            title: "排班",
            staff: Some(&who.staff),
            csrf: &who.csrf,
            current: "/console/roster",
            prefs: Prefs::of(headers),
            done,
        },
        body,
    ))
}

fn heading(e: &ImportError) -> String {
    match e {
        ImportError::Invalid(errors) => format!("没有导入：排班表有 {} 处问题，请改正后再导入", errors.len()),
        ImportError::Outside { prefecture, .. } => {
            format!("没有导入：主管只能导入服务地区都在{prefecture}的律师，下面这些行不符合")
        }
        ImportError::Desk(_) => "没有导入".into(),
    }
}

#[derive(Deserialize)]
pub struct ImportForm {
    csrf: String,
    csv: String,
}

pub async fn import(
    State(state): State<AppState>,
    who: ConsoleStaff,
    headers: HeaderMap,
    ConsoleForm(f): ConsoleForm<ImportForm>,
) -> Result<Response, ConsoleError> {
    who.check(&f.csrf)?;
    let error = match roster::import(&state, &who.staff, &f.csv).await {
        Ok(r) => {
            let message = format!("排班表已导入：新增 {} 人，更新 {} 人", r.added, r.updated);
            return Ok(done(&state, "/console/roster", &message).into_response());
        }
        // Not a manager, or the database: no form to show again.
        Err(ImportError::Desk(e)) => return Err(e.into()),
        Err(e) => e,
    };
    let status = match error {
        ImportError::Outside { .. } => StatusCode::FORBIDDEN,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let refused = Refused {
        csv: &f.csv,
        error: &error,
    };
    let page = render(&state, &who, &headers, None, Some(refused)).await?;
    Ok((status, page).into_response())
}
