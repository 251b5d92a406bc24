//! The page shell: skip link, banner with navigation, main, the display settings (text size,
//! contrast, read aloud) in the footer. Settings persist in cookies, so they apply from the
//! first byte of every page, the sign-in page included.

use axum::http::HeaderMap;
use maud::{html, Markup, PreEscaped, DOCTYPE};

use crate::auth::Staff;
use crate::domain::Role;
use crate::http::staff::cookie;

pub const SIZES: [(&str, &str); 3] = [("normal", "标准"), ("large", "大"), ("larger", "特大")];
pub const CONTRASTS: [(&str, &str); 2] = [("normal", "标准"), ("high", "高对比度")];

/// The reader's display settings from their cookies.
pub struct Prefs {
    pub size: &'static str,
    pub contrast: &'static str,
}

impl Prefs {
    pub fn of(headers: &HeaderMap) -> Self {
        let pick = |name: &str, options: &[(&'static str, &str)]| {
            let value = cookie(headers, name).unwrap_or_default();
            options
                .iter()
                .find(|(v, _)| *v == value)
                .map_or(options[0].0, |(v, _)| v)
        };
        Self {
            size: pick("text_size", &SIZES),
            contrast: pick("contrast", &CONTRASTS),
        }
    }
}

pub struct Page<'a> {
    pub title: &'a str,
    pub staff: Option<&'a Staff>,
    pub csrf: &'a str,
    /// Which navigation entry is this page.
    pub current: &'a str,
    pub prefs: Prefs,
    pub done: Option<&'a str>,
}

pub fn render(p: &Page<'_>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="zh-CN" class={ "size-" (p.prefs.size) " contrast-" (p.prefs.contrast) } {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (p.title) " - 12348 法律援助值班台" }
                link rel="stylesheet" href="/console/assets/console.css";
                script src="/console/assets/console.js" defer {}
            }
            body {
                a class="skip" href="#main" { "跳到主要内容" }
                header {
                    p class="brand" { "12348 法律援助值班台" }
                    @if let Some(staff) = p.staff {
                        nav aria-label="主导航" {
                            ul {
                                li { (nav_link("/console", "工作台", p.current)) }
                                @if matches!(staff.role, Role::Supervisor | Role::Admin) {
                                    li { (nav_link("/console/roster", "排班", p.current)) }
                                }
                                @if staff.role == Role::Admin {
                                    li { (nav_link("/console/accounts", "账户", p.current)) }
                                    li { (nav_link("/console/audit", "审计记录", p.current)) }
                                }
                            }
                        }
                        form method="post" action="/logout" class="who" {
                            span { (staff.name) "（" (staff.role.label()) "）" }
                            input type="hidden" name="csrf" value=(p.csrf);
                            button type="submit" { "退出登录" }
                        }
                    }
                }
                main id="main" tabindex="-1" {
                    h1 { (p.title) }
                    p id="status" role="status" class="status" { @if let Some(done) = p.done { (done) } }
                    (body)
                }
                footer { (settings(&p.prefs)) }
            }
        }
    }
}

/// A page for errors, without navigation.
pub fn bare(title: &str, body: Markup) -> Markup {
    render(
        &Page {
            title,
            staff: None,
            csrf: "",
            current: "",
            prefs: Prefs {
                size: "normal",
                contrast: "normal",
            },
            done: None,
        },
        body,
    )
}

fn nav_link(href: &str, text: &str, current: &str) -> Markup {
    html! {
        @if href == current { a href=(href) aria-current="page" { (text) } }
        @else { a href=(href) { (text) } }
    }
}

fn settings(prefs: &Prefs) -> Markup {
    html! {
        form method="post" action="/console/prefs" class="prefs" {
            fieldset {
                legend { "显示设置" }
                label for="pref-size" { "文字大小" }
                select id="pref-size" name="size" {
                    @for (value, label) in SIZES {
                        option value=(value) selected[value == prefs.size] { (label) }
                    }
                }
                label for="pref-contrast" { "对比度" }
                select id="pref-contrast" name="contrast" {
                    @for (value, label) in CONTRASTS {
                        option value=(value) selected[value == prefs.contrast] { (label) }
                    }
                }
                button type="submit" { "保存显示设置" }
                button type="button" id="read-aloud" hidden { "朗读本页" }
            }
        }
    }
}

/// An icon beside its words, hidden from screen readers (the words carry the meaning).
pub fn icon(symbol: &str) -> Markup {
    html! { span class="icon" aria-hidden="true" { (PreEscaped(symbol)) } " " }
}

/// Text from outside (a text message, a transcript, a note) as a page shows it: control
/// characters (a NUL, an ESC) and the direction overrides that can disguise text as U+FFFD �,
/// so they are seen rather than hidden or handed to the browser. Line breaks and tabs stay.
pub fn visible(text: &str) -> String {
    text.chars()
        .map(|c| {
            let hidden = (c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
                || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
            if hidden {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::visible;

    #[test]
    fn control_characters_are_shown_not_hidden() {
        assert_eq!(visible("工资\u{0}拖欠\u{1b}[31m"), "工资\u{FFFD}拖欠\u{FFFD}[31m");
        assert_eq!(visible("第一行\n第二行\t完"), "第一行\n第二行\t完");
        assert_eq!(visible("abc\u{202E}gpj.exe\u{7f}"), "abc\u{FFFD}gpj.exe\u{FFFD}");
    }
}
