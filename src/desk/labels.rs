//! Chinese words for stored codes, as the console shows them.

use crate::domain::legal_aid::Priority;
use crate::domain::Matter;

pub fn status(code: &str) -> &'static str {
    match code {
        "waiting_callback" => "等待回拨",
        "in_progress" => "处理中",
        "unreachable" => "联系不上",
        "closed" => "已结案",
        _ => "未知",
    }
}

pub fn priority(code: &str) -> &'static str {
    match Priority::parse(code) {
        Some(Priority::CriminalNotification) => "刑事通知辩护",
        Some(Priority::Urgent) => "紧急",
        Some(Priority::SevereDisability) => "重度残疾",
        Some(Priority::Normal) | None => "普通",
    }
}

pub fn matter(code: Option<&str>) -> &'static str {
    code.and_then(Matter::parse).map_or("未选择", Matter::chinese)
}

pub fn channel(code: &str) -> &'static str {
    match code {
        "sms" => "短信",
        _ => "电话",
    }
}

pub fn presence(code: &str) -> &'static str {
    match code {
        "available" => "值班中",
        "busy" => "忙碌",
        "on_call" => "通话中",
        _ => "下线",
    }
}

/// An assignment's state; a texter's "connected" is an SMS thread, not a call.
pub fn assignment(code: &str, channel: &str) -> &'static str {
    match code {
        "connected" if channel == "sms" => "短信联系中",
        "completed" if channel == "sms" => "已结束",
        "offered" => "待接受",
        "accepted" => "已接受",
        "calling_lawyer" => "正在呼叫律师",
        "calling_caller" => "正在呼叫来电人",
        "connected" => "通话中",
        "completed" => "通话结束",
        "declined" => "已拒绝",
        "lapsed" => "已过期",
        "lawyer_unreachable" => "律师未接听",
        "no_answer" => "来电人未接听",
        _ => "未知",
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
