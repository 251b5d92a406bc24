//! The case page: the facts and needs, the legal-aid application's answers, call back, the
//! caller's archive (一户一档), recordings with a player and their transcripts, the SMS thread
//! with a reply box and segment count, notes, and closing with the Art. 22 service form.

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{Redirect, Response};
use axum::Json;
use maud::{html, Markup};
use serde::Deserialize;

use super::desk::{short_time, CsrfForm};
use super::layout::{self, icon, visible, Page, Prefs};
use super::{done, ConsoleError, ConsoleForm, Done};
use crate::app::AppState;
use crate::desk::case::{self, CaseFile, Close};
use crate::desk::{labels, recording, DeskError};
use crate::domain::ServiceForm;
use crate::http::staff::ConsoleStaff;

pub async fn page(
    State(state): State<AppState>,
    who: ConsoleStaff,
    headers: HeaderMap,
    Path(ticket): Path<String>,
    d: Done,
) -> Result<Markup, ConsoleError> {
    let file = case::open(&state, &who.staff, &ticket).await?;
    let title = format!("案件 {}", file.summary.ticket);
    Ok(layout::render(
        &Page {
            title: &title,
            staff: Some(&who.staff),
            csrf: &who.csrf,
            current: "",
            prefs: Prefs::of(&headers),
            done: d.0.as_deref(),
        },
        body(&file, &who.csrf, who.staff.lawyer().is_some()),
    ))
}

fn body(f: &CaseFile, csrf: &str, lawyer: bool) -> Markup {
    let t = &f.summary.ticket;
    let open = f.closing.is_none();
    html! {
        section aria-labelledby="facts-h" {
            h2 id="facts-h" { "概况" }
            dl class="facts" {
                dt { "状态" } dd { (f.summary.status_label) }
                dt { "优先级" } dd {
                    @if f.urgent { span class="badge urgent" { (icon("&#9888;")) (f.priority_label) "，" (labels::URGENT) } }
                    @else { (f.priority_label) }
                }
                dt { "事项" } dd { (f.summary.matter_label) }
                dt { "地区" } dd { (f.summary.place.as_deref().unwrap_or("未知")) }
                dt { "联系方式" } dd { (labels::channel(&f.summary.channel)) }
                dt { "登记时间" } dd { (short_time(&f.summary.created_at)) }
                dt { "无障碍需求" } dd {
                    @if f.needs.is_empty() { "无" } @else { (icon("&#9855;")) (f.needs.join("；")) }
                }
                @if let Some(a) = &f.assessment { dt { "法律援助预审" } dd { (a) } }
            }
            @if lawyer && open {
                @if let Some(a) = &f.assignment {
                    p { "回拨状态：" (a.state_label) }
                    @if a.state == "offered" {
                        form method="post" action={ "/console/cases/" (t) "/call-back" } {
                            input type="hidden" name="csrf" value=(csrf);
                            button type="submit" { "回拨来电人" }
                        }
                    }
                }
            }
        }
        @if !f.answers.is_empty() {
            section aria-labelledby="answers-h" {
                h2 id="answers-h" { "法律援助申请的回答" }
                dl class="facts" {
                    @for a in &f.answers { dt { (a.label) } dd { (a.value) } }
                }
            }
        }
        @if !f.recordings.is_empty() {
            section aria-labelledby="rec-h" {
                h2 id="rec-h" { "录音与转写" }
                @for (i, r) in f.recordings.iter().enumerate() {
                    div class="recording" {
                        h3 id={ "rec-" (i) } { (r.label) "（" (r.duration_secs) " 秒）" }
                        @if r.audio_deleted {
                            p class="hint" { (recording::DELETED) }
                        } @else {
                            // preload none: every fetch is audited and goes to the provider.
                            audio controls preload="none" src={ "/console/cases/" (t) "/recordings/" (r.id) } aria-labelledby={ "rec-" (i) } {
                                "这个浏览器不能播放录音，请看下面的转写。"
                            }
                        }
                        p {
                            "转写："
                            @if let Some(text) = &r.transcript { (visible(text)) } @else { span class="hint" { "尚未转写" } }
                        }
                    }
                }
            }
        }
        section aria-labelledby="sms-h" {
            h2 id="sms-h" { "短信往来" }
            @if f.messages.is_empty() { p { "没有短信。" } } @else {
                ol class="thread" {
                    @for m in &f.messages {
                        li {
                            strong { (labels::direction(&m.direction)) } "（" (short_time(&m.at)) "）：" (visible(&m.body))
                            @if m.direction == "out" {
                                " "
                                @if labels::message_failed(&m.status) {
                                    span class="badge failed" { (labels::message_status(&m.status)) }
                                } @else {
                                    span class="badge" { (labels::message_status(&m.status)) }
                                }
                            }
                        }
                    }
                }
            }
            @if open {
                form method="post" action={ "/console/cases/" (t) "/sms" } {
                    input type="hidden" name="csrf" value=(csrf);
                    label for="reply-text" { "回复短信" }
                    textarea id="reply-text" name="text" rows="3" maxlength="1000" required aria-describedby="reply-count" {}
                    p id="reply-count" class="hint" aria-live="polite" { "长短信会自动分条发送，发送前这里显示条数" }
                    button type="submit" { "发送短信" }
                }
            }
        }
        section aria-labelledby="notes-h" {
            h2 id="notes-h" { "备注" }
            @if f.notes.is_empty() { p { "还没有备注。" } } @else {
                ul {
                    @for n in &f.notes { li { strong { (n.author) } "（" (short_time(&n.at)) "）：" (visible(&n.body)) } }
                }
            }
            form method="post" action={ "/console/cases/" (t) "/notes" } {
                input type="hidden" name="csrf" value=(csrf);
                label for="note-text" { "新备注" }
                textarea id="note-text" name="text" rows="3" maxlength="4000" required {}
                button type="submit" { "保存备注" }
            }
        }
        section aria-labelledby="close-h" {
            h2 id="close-h" { "结案" }
            @if let Some(c) = &f.closing {
                p { "已于 " (short_time(&c.closed_at)) " 由 " (c.closed_by) " 结案，服务形式：" (c.service_form_label) "。" }
                p { "处理结果：" (c.outcome) }
            } @else {
                form method="post" action={ "/console/cases/" (t) "/close" } {
                    input type="hidden" name="csrf" value=(csrf);
                    fieldset {
                        legend { "服务形式（《法律援助法》第二十二条）" }
                        @for (i, form) in ServiceForm::ALL.iter().enumerate() {
                            label class="choice" {
                                input type="radio" name="service_form" value=(form.as_str()) required checked[i == 0];
                                (form.label())
                            }
                        }
                    }
                    label for="outcome" { "处理结果" }
                    textarea id="outcome" name="outcome" rows="3" maxlength="4000" required {}
                    button type="submit" { "结案" }
                }
            }
        }
        section aria-labelledby="history-h" {
            h2 id="history-h" { "来电人档案（一户一档）" }
            @if f.history.is_empty() { p { "这是来电人的第一次咨询。" } } @else {
                table {
                    caption { "来电人以往的咨询，最近的在前" }
                    thead { tr { th scope="col" { "编号" } th scope="col" { "登记时间" } th scope="col" { "事项" } th scope="col" { "状态" } th scope="col" { "联系方式" } } }
                    tbody {
                        @for h in &f.history {
                            tr {
                                td { a href={ "/console/cases/" (h.ticket) } { (h.ticket) } }
                                td { (short_time(&h.created_at)) }
                                td { (h.matter_label) }
                                td { (h.status_label) }
                                td { (labels::channel(&h.channel)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize)]
pub struct TextForm {
    csrf: String,
    text: String,
}

pub async fn note(
    State(state): State<AppState>,
    who: ConsoleStaff,
    Path(ticket): Path<String>,
    ConsoleForm(f): ConsoleForm<TextForm>,
) -> Result<Redirect, ConsoleError> {
    who.check(&f.csrf)?;
    case::add_note(&state, &who.staff, &ticket, &f.text).await?;
    Ok(done(&state, &format!("/console/cases/{ticket}"), "备注已保存"))
}

pub async fn reply(
    State(state): State<AppState>,
    who: ConsoleStaff,
    Path(ticket): Path<String>,
    ConsoleForm(f): ConsoleForm<TextForm>,
) -> Result<Redirect, ConsoleError> {
    who.check(&f.csrf)?;
    let cost = case::reply(&state, &who.staff, &ticket, &f.text).await?;
    Ok(done(
        &state,
        &format!("/console/cases/{ticket}"),
        &format!("短信已发送：{} 条，共 {} 个计费短信段", cost.parts, cost.segments),
    ))
}

#[derive(Deserialize)]
pub struct CloseForm {
    csrf: String,
    service_form: String,
    outcome: String,
}

pub async fn close(
    State(state): State<AppState>,
    who: ConsoleStaff,
    Path(ticket): Path<String>,
    ConsoleForm(f): ConsoleForm<CloseForm>,
) -> Result<Redirect, ConsoleError> {
    who.check(&f.csrf)?;
    let service_form = ServiceForm::parse(&f.service_form)
        .ok_or_else(|| ConsoleError::Desk(DeskError::Invalid("请选择服务形式".into())))?;
    case::close(
        &state,
        &who.staff,
        &ticket,
        &Close {
            service_form,
            outcome: f.outcome,
        },
    )
    .await?;
    Ok(done(&state, &format!("/console/cases/{ticket}"), "案件已结案"))
}

pub async fn call_back(
    State(state): State<AppState>,
    who: ConsoleStaff,
    Path(ticket): Path<String>,
    ConsoleForm(f): ConsoleForm<CsrfForm>,
) -> Result<Redirect, ConsoleError> {
    who.check(&f.csrf)?;
    case::call_back(&state, &who.staff, &ticket).await?;
    Ok(done(
        &state,
        &format!("/console/cases/{ticket}"),
        "正在回拨：您的电话将先响起，然后接通来电人",
    ))
}

#[derive(Deserialize)]
pub struct Draft {
    text: String,
}

/// The reply box's counter (GET, nothing changes).
pub async fn segments(_: ConsoleStaff, Query(d): Query<Draft>) -> Result<Json<case::Cost>, ConsoleError> {
    Ok(Json(case::segments(&d.text)?))
}

/// A recording's audio for the page's player, with byte ranges for seeking (audited).
pub async fn audio(
    State(state): State<AppState>,
    who: ConsoleStaff,
    headers: HeaderMap,
    Path((ticket, id)): Path<(String, String)>,
) -> Result<Response, ConsoleError> {
    let audio = recording::audio(&state, &who.staff, &ticket, &id).await?;
    Ok(crate::http::recording::respond(audio, &headers))
}
