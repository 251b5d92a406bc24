//! The roster page for supervisors and admins: who is on duty and how busy, and importing a
//! corrected roster file.

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Redirect;
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;

use super::layout::{self, Page, Prefs};
use super::{done, ConsoleError, Done};
use crate::app::AppState;
use crate::desk::roster;
use crate::http::staff::ConsoleStaff;

pub async fn page(
    State(state): State<AppState>,
    who: ConsoleStaff,
    headers: HeaderMap,
    Query(d): Query<Done>,
) -> Result<Markup, ConsoleError> {
    let lawyers = roster::roster(&state, &who.staff).await?;
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
                            td { (l.skills.join("、")) }
                            td { (l.regions.join("、")) }
                        }
                    }
                }
            }
        }
        section aria-labelledby="import-h" {
            h2 id="import-h" { "导入排班表" }
            form method="post" action="/console/roster" {
                input type="hidden" name="csrf" value=(who.csrf);
                label for="roster-csv" { "排班表（CSV，格式见说明文档）" }
                p id="roster-hint" class="hint" { "列：name,phone,skills,regions,max_cases,shifts,exceptions。已有的律师按电话号码更新；有任何一行错误则不保存。" }
                textarea id="roster-csv" name="csv" rows="8" required aria-describedby="roster-hint" {}
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
            prefs: Prefs::of(&headers),
            done: d.done.as_deref(),
        },
        body,
    ))
}

#[derive(Deserialize)]
pub struct ImportForm {
    csrf: String,
    csv: String,
}

pub async fn import(
    State(state): State<AppState>,
    who: ConsoleStaff,
    Form(f): Form<ImportForm>,
) -> Result<Redirect, ConsoleError> {
    who.check(&f.csrf)?;
    let r = roster::import(&state, &who.staff, &f.csv).await?;
    Ok(done(
        "/console/roster",
        &format!("排班表已导入：新增 {} 人，更新 {} 人", r.added, r.updated),
    ))
}
