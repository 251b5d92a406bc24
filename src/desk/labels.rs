//! Chinese words for stored codes, as the console shows them.

use crate::domain::callback::{AssignmentState, Presence};
use crate::domain::legal_aid::Priority;
use crate::domain::roster::Skill;
use crate::domain::{Channel, ConsultationStatus, Matter, Regions};

pub fn status(status: ConsultationStatus) -> &'static str {
    match status {
        ConsultationStatus::WaitingCallback => "等待回拨",
        ConsultationStatus::InProgress => "处理中",
        ConsultationStatus::Unreachable => "联系不上",
        ConsultationStatus::Closed => "已结案",
    }
}

pub fn priority(priority: Priority) -> &'static str {
    match priority {
        Priority::CriminalNotification => "刑事通知辩护",
        Priority::Urgent => "紧急",
        Priority::SevereDisability => "重度残疾",
        Priority::Normal => "普通",
    }
}

pub fn matter(code: Option<&str>) -> &'static str {
    code.and_then(Matter::parse).map_or("未选择", Matter::chinese)
}

/// An outbound text's delivery, as the thread shows it.
pub fn message_status(code: &str) -> &'static str {
    match code {
        "queued" => "发送中",
        "sent" => "已发出",
        "delivered" => "已送达",
        "undelivered" => "未送达",
        "failed" => "发送失败",
        _ => "状态未知",
    }
}

/// Not delivered: shown in red (and in words).
pub fn message_failed(code: &str) -> bool {
    matches!(code, "undelivered" | "failed")
}

pub fn channel(code: &str) -> &'static str {
    match code {
        "sms" => "短信",
        _ => "电话",
    }
}

pub fn presence(presence: Presence) -> &'static str {
    match presence {
        Presence::Available => "值班中",
        Presence::Busy => "忙碌",
        Presence::OnCall => "通话中",
        Presence::Offline => "下线",
    }
}

/// An assignment's state; a texter's "connected" is an SMS thread, not a call.
pub fn assignment(state: AssignmentState, channel: Channel) -> &'static str {
    use AssignmentState as S;
    match state {
        S::Connected if channel == Channel::Sms => "短信联系中",
        S::Completed if channel == Channel::Sms => "已结束",
        S::Offered => "待接受",
        S::Accepted => "已接受",
        S::CallingLawyer => "正在呼叫律师",
        S::CallingCaller => "正在呼叫来电人",
        S::Connected => "通话中",
        S::Completed => "通话结束",
        S::Declined => "已拒绝",
        S::Lapsed => "已过期",
        S::LawyerUnreachable => "律师未接听",
        S::NoAnswer => "来电人未接听",
        S::LawyerLeft => "律师在接通前挂断",
    }
}

pub fn direction(code: &str) -> &'static str {
    match code {
        "in" => "来信",
        _ => "回复",
    }
}

/// What a recording is, as its player is labelled.
pub fn recording(purpose: &str) -> &'static str {
    match purpose {
        "description" => "问题描述录音",
        "note" => "补充说明录音",
        _ => "录音",
    }
}

/// What the queue and the case page add to an urgent case's priority (Art. 44).
pub const URGENT: &str = "有期限或证据需要马上处理";

/// A roster skill: a matter by its Chinese name, 手语, 短信, 方言：陕西话.
pub fn skill(code: &str) -> String {
    match Skill::parse(code) {
        Some(Skill::Matter(m)) => m.chinese().to_owned(),
        Some(Skill::SignLanguage) => "手语".into(),
        Some(Skill::Sms) => "短信".into(),
        Some(Skill::Dialect(d)) => format!("方言：{d}"),
        None => "未知专长".into(),
    }
}

/// A served region by name: 西安市, 西安市雁塔区; a township (9 digits) by its county, with
/// its code, since the region file names no townships.
pub fn region(regions: &Regions, code: &str) -> String {
    if let Some(name) = regions.name_of(code) {
        return name;
    }
    match code
        .get(..6)
        .filter(|_| code.len() == 9)
        .and_then(|county| regions.name_of(county))
    {
        Some(county) => format!("{county}所辖乡镇（代码 {code}）"),
        None => format!("不在本省区划表中的地区（代码 {code}）"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skills_and_regions_are_named() {
        assert_eq!(skill("labour_wages"), "劳动和工资");
        assert_eq!(skill("sign_language"), "手语");
        assert_eq!(skill("sms"), "短信");
        assert_eq!(skill("dialect:陕西话"), "方言：陕西话");
        let r = Regions::shaanxi();
        assert_eq!(region(&r, "610100"), "西安市");
        assert_eq!(region(&r, "610113"), "西安市雁塔区");
        assert_eq!(region(&r, "610113001"), "西安市雁塔区所辖乡镇（代码 610113001）");
        assert_eq!(region(&r, "620102"), "不在本省区划表中的地区（代码 620102）");
    }
}
