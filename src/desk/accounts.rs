//! What admins do to accounts and the audit trail: see who is signed in, sign an account out
//! everywhere (its console sessions end and its API tokens are revoked), and search the trail
//! by account, case and time. Every one of these is admin-only and itself audited.

use chrono::{NaiveDate, TimeZone};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::DeskError;
use crate::app::AppState;
use crate::auth::Staff;
use crate::domain::roster::beijing;
use crate::domain::{Role, Ticket};
use crate::storage::audit::{AuditFilter, AuditHit};
use crate::storage::stamp;

/// The most rows a search returns; narrow the search to see older ones.
pub const SEARCH_LIMIT: i64 = 200;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AccountView {
    pub username: String,
    pub name: String,
    pub role: Role,
    pub role_label: &'static str,
    pub region: Option<String>,
    /// Console sessions that have not expired.
    pub sessions: i64,
    pub tokens: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SignedOut {
    pub sessions: u64,
    pub tokens: u64,
}

/// A search of the audit trail; every field is optional, but one given must not be blank.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// The username who acted (also matches failed sign-ins to that name).
    #[serde(default)]
    #[param(min_length = 1, pattern = r"\S")]
    pub user: Option<String>,
    /// A case's ticket (eight digits).
    #[serde(default)]
    #[param(pattern = r"^[1-9][0-9]{7}$")]
    pub ticket: Option<String>,
    /// The first day, Beijing time (YYYY-MM-DD).
    #[serde(default)]
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<String>,
    /// The last day, Beijing time (YYYY-MM-DD), included; before `from`, nothing is found.
    #[serde(default)]
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<String>,
}

impl AuditQuery {
    /// The search a form means: spaces around a value are not part of it, and an empty field is
    /// not searched by.
    pub fn without_blanks(self) -> Self {
        let keep = |v: Option<String>| v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        Self {
            user: keep(self.user),
            ticket: keep(self.ticket),
            from: keep(self.from),
            to: keep(self.to),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditEntry {
    pub at: String,
    /// The account's username, or the name tried at a failed sign-in.
    pub who: String,
    pub action: String,
    /// The action in words: 查看案件, 登录失败 (拒绝).
    pub action_label: String,
    pub subject: String,
    /// The case's ticket when the subject is a case.
    pub ticket: Option<String>,
    /// The subject in words: 案件 32819902, 账户 zhang, 地址 10.0.0.5.
    pub subject_label: String,
}

/// Admins only; anyone else's attempt is audited as `<action>.refused`.
async fn admin(state: &AppState, staff: &Staff, action: &str) -> Result<(), DeskError> {
    if staff.role == Role::Admin {
        return Ok(());
    }
    state
        .db
        .audit(&staff.id, &format!("{action}.refused"), &staff.id)
        .await?;
    Err(DeskError::Forbidden("只有管理员可以管理账户和查看审计记录"))
}

pub async fn accounts(state: &AppState, staff: &Staff) -> Result<Vec<AccountView>, DeskError> {
    admin(state, staff, "accounts.read").await?;
    Ok(state
        .db
        .accounts()
        .await?
        .into_iter()
        .map(|a| AccountView {
            role_label: a.user.role.label(),
            username: a.user.username,
            name: a.user.display_name,
            role: a.user.role,
            region: a.user.region_code,
            sessions: a.sessions,
            tokens: a.tokens,
        })
        .collect())
}

/// Ends every console session of the account and revokes its API tokens (an admin may do this
/// to their own account too: it signs them out as well).
pub async fn sign_out_everywhere(state: &AppState, staff: &Staff, username: &str) -> Result<SignedOut, DeskError> {
    admin(state, staff, "account.sign_out").await?;
    let username = username.trim().to_ascii_lowercase();
    let user = state
        .db
        .user_by_username(&username)
        .await?
        .ok_or_else(|| DeskError::NotFound(format!("没有用户名为 {username} 的账户")))?;
    state.db.audit(&staff.id, "account.sign_out", &user.id).await?;
    let (sessions, tokens) = state.db.sign_out_everywhere(&user.id).await?;
    tracing::warn!(sessions, tokens, "an account was signed out everywhere");
    Ok(SignedOut { sessions, tokens })
}

/// The newest matching entries of the audit trail, at most [`SEARCH_LIMIT`].
pub async fn search(state: &AppState, staff: &Staff, q: &AuditQuery) -> Result<Vec<AuditEntry>, DeskError> {
    admin(state, staff, "audit.search").await?;
    let filter = filter(state, q).await?;
    state.db.audit(&staff.id, "audit.search", &describe(q)).await?;
    let Some(filter) = filter else {
        return Ok(Vec::new());
    };
    Ok(state.db.audit_search(&filter).await?.into_iter().map(entry).collect())
}

/// The storage filter, or None when nothing can match: a case that does not exist, or days
/// that end before they start.
async fn filter(state: &AppState, q: &AuditQuery) -> Result<Option<AuditFilter>, DeskError> {
    let given = |v: &Option<String>, what: &str| match v.as_deref() {
        Some(v) if v.trim().is_empty() => Err(DeskError::Invalid(format!(
            "{what}不能为空；不按{what}查询时请不填这一项"
        ))),
        other => Ok(other.map(str::to_owned)),
    };
    let mut filter = AuditFilter {
        limit: SEARCH_LIMIT,
        from: given(&q.from, "开始日期")?.map(|d| day_start(&d, 0)).transpose()?,
        to: given(&q.to, "结束日期")?.map(|d| day_start(&d, 1)).transpose()?,
        ..AuditFilter::default()
    };
    // An end before the start is a range with no days: nothing in it.
    if let (Some(from), Some(to)) = (&filter.from, &filter.to) {
        if from >= to {
            return Ok(None);
        }
    }
    if let Some(name) = given(&q.user, "用户名")? {
        let name = name.to_ascii_lowercase();
        if let Some(user) = state.db.user_by_username(&name).await? {
            filter.actors.push(user.id);
        }
        filter.actors.push(format!("username:{name}"));
    }
    if let Some(ticket) = given(&q.ticket, "案件编号")? {
        // Exactly as documented: eight digits, nothing around them.
        let exact = Ticket::parse(&ticket).ok().filter(|t| t.as_str() == ticket);
        let parsed = exact
            .ok_or(())
            .map_err(|_| DeskError::Invalid(format!("案件编号 {ticket} 的格式不对，8 位数字，例如 32819902")))?;
        match state.db.consultation_by_ticket(&parsed).await? {
            Some(c) => filter.subject = Some(c.id),
            None => return Ok(None),
        }
    }
    Ok(Some(filter))
}

/// Midnight in Beijing of the day, `plus` days later, as stored.
fn day_start(day: &str, plus: u64) -> Result<String, DeskError> {
    let bad = || DeskError::Invalid(format!("日期 {day} 的格式不对，例如 2026-12-01"));
    // Exactly YYYY-MM-DD: chrono alone would also take 2026-1-5 or +2026-01-05.
    let shaped = day.len() == 10 && day.bytes().enumerate().all(|(i, b)| matches!(i, 4 | 7) == (b == b'-'));
    if !shaped || !day.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
        return Err(bad());
    }
    let date = NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .map_err(|_| DeskError::Invalid(format!("{day} 不是有效的日期")))?
        + chrono::Days::new(plus);
    let midnight = beijing()
        .from_local_datetime(&date.and_hms_opt(0, 0, 0).expect("midnight"))
        .single()
        .expect("a fixed offset has no gaps");
    Ok(stamp(midnight.with_timezone(&chrono::Utc)))
}

/// What was searched for, as the audit's subject.
fn describe(q: &AuditQuery) -> String {
    let parts: Vec<String> = [
        ("user", &q.user),
        ("ticket", &q.ticket),
        ("from", &q.from),
        ("to", &q.to),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.as_deref().map(|v| format!("{k}={}", v.trim())))
    .collect();
    if parts.is_empty() {
        "all".into()
    } else {
        // A search is recorded, not a pasted document.
        parts.join(" ").chars().take(200).collect()
    }
}

fn entry(hit: AuditHit) -> AuditEntry {
    let who = hit.username.unwrap_or_else(|| {
        hit.row
            .user_id
            .strip_prefix("username:")
            .map_or_else(|| hit.row.user_id.clone(), str::to_owned)
    });
    AuditEntry {
        action_label: action_label(&hit.row.action),
        subject_label: subject_label(&hit.row.subject, hit.ticket.as_deref(), hit.subject_user.as_deref()),
        at: hit.row.at,
        who,
        action: hit.row.action,
        subject: hit.row.subject,
        ticket: hit.ticket,
    }
}

/// What was acted on, in words: 案件 32819902, 账户 zhang, 地址 10.0.0.5, 查询 用户名=zhang.
pub fn subject_label(subject: &str, ticket: Option<&str>, user: Option<&str>) -> String {
    if let Some(t) = ticket {
        return format!("案件 {t}");
    }
    if let Some(u) = user {
        return format!("账户 {u}");
    }
    if let Some(ip) = subject.strip_prefix("ip:") {
        return format!("地址 {ip}");
    }
    if let Some(device) = subject.strip_prefix("device:") {
        return format!("已登录过的浏览器 {}", &device[..device.len().min(8)]);
    }
    if let Some(token) = subject.strip_prefix("token:") {
        return format!("接口令牌 {token}");
    }
    if subject == "all" {
        return "查询：全部".into();
    }
    let words = [
        ("user=", "用户名 "),
        ("ticket=", "案件编号 "),
        ("from=", "开始日期 "),
        ("to=", "结束日期 "),
    ];
    if words.iter().any(|(k, _)| subject.starts_with(k)) {
        let said = words.iter().fold(subject.to_owned(), |s, (k, w)| s.replace(k, w));
        return format!("查询：{said}");
    }
    subject.to_owned()
}

/// An action in words; a refused one says so.
pub fn action_label(action: &str) -> String {
    let (base, refused) = match action.strip_suffix(".refused") {
        Some(base) => (base, true),
        None => (action, false),
    };
    let words = match base {
        "login" => "登录",
        "login.failed" => "登录失败（用户名或密码错误）",
        "login.code_failed" => "登录失败（两步验证码错误或已用过）",
        "logout" => "退出登录",
        "login.throttled" => "登录过于频繁被暂停",
        "token.create" => "创建接口令牌",
        "token.use" => "使用接口令牌",
        "case.read" => "查看案件",
        "case.note" => "添加备注",
        "case.close" => "结案",
        "case.sms" => "回复短信",
        "case.call_back" => "回拨来电人",
        "recording.play" => "播放录音",
        "callback.claim" => "领取案件",
        "callback.accept" => "接受分配",
        "callback.decline" => "拒绝分配",
        "duty.on" => "开始值班",
        "duty.off" => "结束值班",
        "roster.import" => "导入排班表",
        "account.sign_out" => "让账户在所有地方退出",
        "accounts.read" => "查看账户列表",
        "totp.on" => "开启两步验证",
        "totp.off" => "关闭两步验证",
        "audit.search" => "查询审计记录",
        other => other,
    };
    if refused {
        format!("{words}（被拒绝）")
    } else {
        words.to_owned()
    }
}
