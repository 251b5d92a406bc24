//! The desk page: on-duty switch, offers (accept = call back, decline), claim next, the queue
//! with priority, wait, matter, region and accessibility needs, and the account's cases.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Redirect;
use maud::{html, Markup};
use serde::Deserialize;

use super::layout::{self, icon, Page, Prefs};
use super::{done, ConsoleError, ConsoleForm, Done};
use crate::app::AppState;
use crate::auth::Staff;
use crate::desk::case::CaseSummary;
use crate::desk::queue::{self, OfferView, QueueEntry};
use crate::http::staff::ConsoleStaff;

pub async fn page(
    State(state): State<AppState>,
    who: ConsoleStaff,
    headers: HeaderMap,
    d: Done,
) -> Result<Markup, ConsoleError> {
    let s = &who.staff;
    let duty = match s.lawyer() {
        Some(_) => Some(queue::duty(&state, s).await?),
        None => None,
    };
    let cases = crate::desk::case::cases(&state, s).await?;
    let body = html! {
        @if let Some(duty) = &duty {
            section aria-labelledby="duty-h" {
                h2 id="duty-h" { "值班状态" }
                p { "当前：" strong { (duty.presence_label) } }
                form method="post" action="/console/duty" class="actions" {
                    input type="hidden" name="csrf" value=(who.csrf);
                    @if duty.on_duty {
                        input type="hidden" name="on_duty" value="false";
                        button type="submit" class="secondary" { "结束值班" }
                    } @else {
                        input type="hidden" name="on_duty" value="true";
                        button type="submit" { "开始值班" }
                    }
                }
            }
        }
        p {
            input type="checkbox" id="auto-refresh" checked;
            label for="auto-refresh" class="inline" { " 自动刷新队列（每 10 秒）" }
        }
        (live_section(&state, s, &who.csrf).await?)
        (case_list(&cases))
    };
    Ok(layout::render(
        &Page {
            title: "工作台",
            staff: Some(s),
            csrf: &who.csrf,
            current: "/console",
            prefs: Prefs::of(&headers),
            done: d.0.as_deref(),
        },
        body,
    ))
}

/// The part of the desk that refreshes itself: offers and the queue.
pub async fn live(State(state): State<AppState>, who: ConsoleStaff) -> Result<Markup, ConsoleError> {
    live_section(&state, &who.staff, &who.csrf).await
}

async fn live_section(state: &AppState, s: &Staff, csrf: &str) -> Result<Markup, ConsoleError> {
    let offers = match s.lawyer() {
        Some(_) => Some(queue::offers(state, s).await?),
        None => None,
    };
    let waiting = queue::queue(state, s).await?;
    Ok(html! {
        div id="live" data-count=(waiting.len()) {
            @if let Some(offers) = &offers { (offer_list(offers, csrf)) }
            (queue_table(&waiting, s.lawyer().is_some(), csrf))
        }
    })
}

fn offer_list(offers: &[OfferView], csrf: &str) -> Markup {
    html! {
        section aria-labelledby="offers-h" {
            h2 id="offers-h" { "分配给我的案件" }
            @if offers.is_empty() {
                p { "目前没有分配给您的案件。" }
            } @else {
                ul {
                    @for o in offers {
                        li {
                            a href={ "/console/cases/" (o.ticket) } { "案件 " (o.ticket) }
                            " — " (o.state_label)
                            @if o.state == "offered" {
                                " （保留至 " (short_time(&o.lapses_at)) "）"
                                span class="actions" {
                                    form method="post" action={ "/console/offers/" (o.assignment) "/accept" } {
                                        input type="hidden" name="csrf" value=(csrf);
                                        button type="submit" aria-label={ "回拨案件 " (o.ticket) } { "回拨" }
                                    }
                                    form method="post" action={ "/console/offers/" (o.assignment) "/decline" } {
                                        input type="hidden" name="csrf" value=(csrf);
                                        button type="submit" class="secondary" aria-label={ "拒绝案件 " (o.ticket) } { "拒绝" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn queue_table(waiting: &[QueueEntry], lawyer: bool, csrf: &str) -> Markup {
    html! {
        section aria-labelledby="queue-h" {
            h2 id="queue-h" { "等待回拨（" (waiting.len()) "）" }
            @if lawyer {
                form method="post" action="/console/claim" {
                    input type="hidden" name="csrf" value=(csrf);
                    button type="submit" { "领取下一个案件" }
                }
            }
            @if waiting.is_empty() {
                p { "目前没有等待回拨的案件。" }
            } @else {
                table {
                    caption { "等待回拨的案件，最紧急的在前" }
                    thead { tr {
                        th scope="col" { "编号" } th scope="col" { "优先级" } th scope="col" { "已等待" } th scope="col" { "事项" }
                        th scope="col" { "地区" } th scope="col" { "无障碍需求" } th scope="col" { "联系方式" }
                    } }
                    tbody {
                        @for e in waiting {
                            tr {
                                td {
                                    @if lawyer { (e.ticket) }
                                    @else { a href={ "/console/cases/" (e.ticket) } { (e.ticket) } }
                                }
                                td {
                                    @if e.priority != "normal" || e.urgent {
                                        span class="badge urgent" { (icon("&#9888;")) (e.priority_label) @if e.urgent { "，" (crate::desk::labels::URGENT) } }
                                    } @else { span class="badge" { (e.priority_label) } }
                                }
                                td { (e.waited_mins) " 分钟" }
                                td { (e.matter_label) }
                                td { (e.place.as_deref().unwrap_or("未知")) }
                                td {
                                    @if e.needs.is_empty() { "无" } @else {
                                        (icon("&#9855;")) (e.needs.join("；"))
                                    }
                                }
                                td { (crate::desk::labels::channel(&e.channel)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn case_list(cases: &[CaseSummary]) -> Markup {
    html! {
        section aria-labelledby="cases-h" {
            h2 id="cases-h" { "我的案件" }
            @if cases.is_empty() { p { "还没有案件。" } } @else {
                table {
                    caption { "未结案的在前" }
                    thead { tr {
                        th scope="col" { "编号" } th scope="col" { "状态" } th scope="col" { "事项" }
                        th scope="col" { "地区" } th scope="col" { "联系方式" } th scope="col" { "登记时间" }
                    } }
                    tbody {
                        @for c in cases {
                            tr {
                                td { a href={ "/console/cases/" (c.ticket) } { (c.ticket) } }
                                td { (c.status_label) }
                                td { (c.matter_label) }
                                td { (c.place.as_deref().unwrap_or("未知")) }
                                td { (crate::desk::labels::channel(&c.channel)) }
                                td { (short_time(&c.created_at)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// "2026-11-29T03:04:05.000Z" → "11-29 11:04" Beijing time.
pub fn short_time(stamp: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(stamp)
        .map(|t| {
            t.with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8"))
                .format("%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_else(|_| stamp.to_owned())
}

#[derive(Deserialize)]
pub struct DutyForm {
    csrf: String,
    on_duty: bool,
}

pub async fn duty(
    State(state): State<AppState>,
    who: ConsoleStaff,
    ConsoleForm(f): ConsoleForm<DutyForm>,
) -> Result<Redirect, ConsoleError> {
    who.check(&f.csrf)?;
    let d = queue::set_duty(&state, &who.staff, f.on_duty).await?;
    Ok(done(
        &state,
        "/console",
        if d.on_duty {
            "您已开始值班"
        } else {
            "您已结束值班"
        },
    ))
}

#[derive(Deserialize)]
pub struct CsrfForm {
    pub csrf: String,
}

pub async fn claim(
    State(state): State<AppState>,
    who: ConsoleStaff,
    ConsoleForm(f): ConsoleForm<CsrfForm>,
) -> Result<Redirect, ConsoleError> {
    who.check(&f.csrf)?;
    Ok(match queue::claim(&state, &who.staff).await? {
        Some(offer) => done(
            &state,
            &format!("/console/cases/{}", offer.ticket),
            "已为您保留这个案件，请回拨",
        ),
        None => done(&state, "/console", "目前没有您可以领取的案件"),
    })
}

pub async fn accept(
    State(state): State<AppState>,
    who: ConsoleStaff,
    Path(assignment): Path<String>,
    ConsoleForm(f): ConsoleForm<CsrfForm>,
) -> Result<Redirect, ConsoleError> {
    who.check(&f.csrf)?;
    let offer = queue::accept(&state, &who.staff, &assignment).await?;
    Ok(done(
        &state,
        &format!("/console/cases/{}", offer.ticket),
        "正在回拨：您的电话将先响起，然后接通来电人",
    ))
}

pub async fn decline(
    State(state): State<AppState>,
    who: ConsoleStaff,
    Path(assignment): Path<String>,
    ConsoleForm(f): ConsoleForm<CsrfForm>,
) -> Result<Redirect, ConsoleError> {
    who.check(&f.csrf)?;
    queue::decline(&state, &who.staff, &assignment).await?;
    Ok(done(&state, "/console", "已拒绝，案件将分配给其他律师"))
}
