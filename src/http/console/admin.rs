//! Admins' pages: the accounts (who is signed in, and signing an account out everywhere) and a
//! search of the audit trail by account, case and time.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use serde::Deserialize;

use super::layout::{self, Page, Prefs};
use super::{done, ConsoleError, ConsoleForm, Done};
use crate::app::AppState;
use crate::desk::accounts::{self, AuditQuery, SEARCH_LIMIT};
use crate::desk::DeskError;
use crate::domain::roster::beijing;
use crate::http::staff::ConsoleStaff;

pub async fn accounts_page(
    State(state): State<AppState>,
    who: ConsoleStaff,
    headers: HeaderMap,
    d: Done,
) -> Result<Markup, ConsoleError> {
    let list = accounts::accounts(&state, &who.staff).await?;
    let body = html! {
        p { "“在所有地方退出”会结束该账户的全部登录，并作废它的全部接口令牌。账户被盗用或人员离职时使用。" }
        table {
            caption { "账户（" (list.len()) "）" }
            thead { tr {
                th scope="col" { "用户名" } th scope="col" { "姓名" } th scope="col" { "角色" }
                th scope="col" { "有效登录" } th scope="col" { "接口令牌" } th scope="col" { "操作" }
            } }
            tbody {
                @for a in &list {
                    tr {
                        td { (a.username) }
                        td { (a.name) }
                        td { (a.role_label) }
                        td { (a.sessions) }
                        td { (a.tokens) }
                        td {
                            form method="post" action="/console/accounts/sign-out" {
                                input type="hidden" name="csrf" value=(who.csrf);
                                input type="hidden" name="username" value=(a.username);
                                button type="submit" aria-label={ "让 " (a.name) "（" (a.username) "）在所有地方退出" } {
                                    "在所有地方退出"
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(&who, &headers, "账户", "/console/accounts", d.0.as_deref(), body))
}

#[derive(Deserialize)]
pub struct SignOutForm {
    csrf: String,
    username: String,
}

pub async fn sign_out(
    State(state): State<AppState>,
    who: ConsoleStaff,
    ConsoleForm(f): ConsoleForm<SignOutForm>,
) -> Result<Response, ConsoleError> {
    who.check(&f.csrf)?;
    let out = accounts::sign_out_everywhere(&state, &who.staff, &f.username).await?;
    let message = format!(
        "{} 已在所有地方退出：结束登录 {} 个，作废接口令牌 {} 个",
        f.username.trim(),
        out.sessions,
        out.tokens
    );
    Ok(done(&state, "/console/accounts", &message).into_response())
}

pub async fn audit_page(
    State(state): State<AppState>,
    who: ConsoleStaff,
    headers: HeaderMap,
    q: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Response, ConsoleError> {
    let (q, searched) = match q {
        Ok(Query(q)) => {
            let q = q.without_blanks();
            let searched = accounts::search(&state, &who.staff, &q).await;
            (q, searched)
        }
        Err(_) => (
            AuditQuery::default(),
            Err(DeskError::Invalid("查询条件重复或无法读取，请重新填写".into())),
        ),
    };
    // A search that cannot be run shows the form again with what was wrong.
    let (found, problem) = match searched {
        Ok(found) => (found, None),
        Err(DeskError::Invalid(problem)) => (Vec::new(), Some(problem)),
        Err(e) => return Err(e.into()),
    };
    let value = |v: &Option<String>| v.clone().unwrap_or_default();
    let reversed = matches!((&q.from, &q.to), (Some(from), Some(to)) if from > to);
    let body = html! {
        @if let Some(problem) = &problem { p role="alert" class="problems" { "没有查询：" (problem) } }
        @if reversed { p role="status" class="hint" { "结束日期早于开始日期，这段时间里没有记录。" } }
        form method="get" action="/console/audit" class="search" {
            label for="audit-user" { "用户名" }
            input id="audit-user" name="user" type="text" value=(value(&q.user));
            label for="audit-ticket" { "案件编号" }
            input id="audit-ticket" name="ticket" type="text" value=(value(&q.ticket))
                aria-describedby="audit-ticket-hint";
            p id="audit-ticket-hint" class="hint" { "8 位数字，例如 32819902" }
            label for="audit-from" { "开始日期" }
            input id="audit-from" name="from" type="date" value=(value(&q.from));
            label for="audit-to" { "结束日期（含）" }
            input id="audit-to" name="to" type="date" value=(value(&q.to));
            p { button type="submit" { "查询" } }
        }
        table {
            caption {
                "审计记录（" (found.len()) " 条，最新的在前"
                @if found.len() as i64 >= SEARCH_LIMIT { "；只显示最新 " (SEARCH_LIMIT) " 条，请缩小范围" }
                "）"
            }
            thead { tr {
                th scope="col" { "时间" } th scope="col" { "账户" } th scope="col" { "操作" } th scope="col" { "对象" }
            } }
            tbody {
                @for e in &found {
                    tr {
                        td { (full_time(&e.at)) }
                        td { (e.who) }
                        td { (e.action_label) }
                        td {
                            @match &e.ticket {
                                Some(t) => a href={ "/console/cases/" (t) } { (e.subject_label) },
                                None => (e.subject_label),
                            }
                        }
                    }
                }
            }
        }
    };
    let status = match problem {
        Some(_) => StatusCode::UNPROCESSABLE_ENTITY,
        None => StatusCode::OK,
    };
    Ok((status, page(&who, &headers, "审计记录", "/console/audit", None, body)).into_response())
}

fn page(
    who: &ConsoleStaff,
    headers: &HeaderMap,
    title: &str,
    current: &str,
    done: Option<&str>,
    body: Markup,
) -> Markup {
    layout::render(
        &Page {
            title,
            staff: Some(&who.staff),
            csrf: &who.csrf,
            current,
            prefs: Prefs::of(headers),
            done,
        },
        body,
    )
}

/// A stored time in Beijing time, to the second.
fn full_time(stamp: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(stamp)
        .map(|t| t.with_timezone(&beijing()).format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|_| stamp.to_owned())
}
