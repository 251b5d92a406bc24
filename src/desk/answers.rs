//! A legal-aid application's answers as the lawyer reads them: Chinese label/value pairs, in
//! the order the phone menu asks. The questions asked depend on the matter: a criminal matter is
//! asked about detention (Art. 25), any other about hardship (Art. 42); both about urgency
//! (Art. 44). A question the caller was not asked is not shown (its "no" would mean nothing).

use serde::Serialize;
use utoipa::ToSchema;

use super::labels;
use crate::domain::{DisabilityCategory, Matter, Regions};
use crate::ivr::flow::Flag;
use crate::storage::applications::Application;

/// One answer: 残疾人证 — 听力残疾一级, 当事人被羁押或正在面临审判 — 是.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Answer {
    pub label: String,
    pub value: String,
}

/// What the lawyer reads for each pre-screening question.
pub fn question(flag: Flag) -> &'static str {
    match flag {
        Flag::NoFixedIncome => "没有固定收入",
        Flag::ReceivesAssistance => "领取低保或其他社会救助、司法救助",
        Flag::MigrantWorker => "农民工讨要工资或工伤赔偿",
        Flag::DetainedOrOnTrial => "当事人被羁押或正在面临审判",
        Flag::DeadlineWithin7Days => "期限在7天内到期（如开庭、诉讼时效）",
        Flag::EvidenceAtRisk => "证据或财产可能灭失、被转移，需要马上保全",
    }
}

/// The questions a caller with this matter is asked, in the menu's order.
fn asked(matter: Option<Matter>) -> Vec<Flag> {
    let hardship = [Flag::NoFixedIncome, Flag::ReceivesAssistance, Flag::MigrantWorker];
    let mut flags = match matter {
        Some(Matter::Criminal) => vec![Flag::DetainedOrOnTrial],
        Some(_) => hardship.to_vec(),
        None => [&hardship[..], &[Flag::DetainedOrOnTrial]].concat(),
    };
    flags.extend([Flag::DeadlineWithin7Days, Flag::EvidenceAtRisk]);
    flags
}

fn yes_no(yes: bool) -> &'static str {
    if yes {
        "是"
    } else {
        "否"
    }
}

pub fn of(regions: &Regions, a: &Application) -> Vec<Answer> {
    let pair = |label: &str, value: &str| Answer {
        label: label.to_owned(),
        value: value.to_owned(),
    };
    let matter = a.matter.as_deref().and_then(Matter::parse);
    let place = a
        .county
        .as_deref()
        .or(a.prefecture.as_deref())
        .map(|code| regions.name_of(code).unwrap_or_else(|| "未知地区".into()));
    let certificate = a
        .disability_category
        .and_then(|c| u8::try_from(c).ok())
        .and_then(DisabilityCategory::from_digit)
        .map(|c| match a.disability_level.and_then(|l| u8::try_from(l).ok()) {
            Some(level @ 1..=4) => c.with_level(level),
            _ => c.chinese().to_owned(),
        });
    let yes = a.yes();
    let mut answers = vec![
        pair("事项", labels::matter(a.matter.as_deref())),
        pair("所在地区", place.as_deref().unwrap_or("未选择")),
        pair("残疾人证", certificate.as_deref().unwrap_or("未提供")),
    ];
    answers.extend(
        asked(matter)
            .into_iter()
            .map(|f| pair(question(f), yes_no(yes.contains(&f)))),
    );
    answers.push(pair("紧急，可先行提供法律援助", yes_no(a.urgent)));
    answers
}

#[cfg(test)]
mod tests {
    use super::*;

    fn application(matter: &str, answers: &str) -> Application {
        Application {
            id: "a".into(),
            consultation_id: "c".into(),
            prefecture: Some("610100".into()),
            county: Some("610113".into()),
            matter: Some(matter.into()),
            answers: answers.into(),
            outcome: crate::domain::legal_aid::Outcome::NeedsReview,
            priority: crate::domain::legal_aid::Priority::CriminalNotification,
            urgent: false,
            disability_category: Some(2),
            disability_level: Some(1),
            explanation: String::new(),
        }
    }

    fn pairs(a: &Application) -> Vec<(String, String)> {
        of(&Regions::shaanxi(), a)
            .into_iter()
            .map(|a| (a.label, a.value))
            .collect()
    }

    #[test]
    fn a_criminal_matter_shows_detention_and_urgency() {
        let shown = pairs(&application("criminal", "detained_or_on_trial"));
        let expected: Vec<(String, String)> = [
            ("事项", "刑事案件"),
            ("所在地区", "西安市雁塔区"),
            ("残疾人证", "听力残疾一级"),
            ("当事人被羁押或正在面临审判", "是"),
            ("期限在7天内到期（如开庭、诉讼时效）", "否"),
            ("证据或财产可能灭失、被转移，需要马上保全", "否"),
            ("紧急，可先行提供法律援助", "否"),
        ]
        .iter()
        .map(|(l, v)| (l.to_string(), v.to_string()))
        .collect();
        assert_eq!(shown, expected);
    }

    #[test]
    fn a_civil_matter_shows_the_hardship_questions() {
        let mut a = application("labour_wages", "receives_assistance,deadline_within_7_days");
        a.disability_category = None;
        a.disability_level = None;
        a.urgent = true;
        let shown = pairs(&a);
        let value = |label: &str| shown.iter().find(|(l, _)| l == label).map(|(_, v)| v.as_str());
        assert_eq!(value("残疾人证"), Some("未提供"));
        assert_eq!(value("没有固定收入"), Some("否"));
        assert_eq!(value("领取低保或其他社会救助、司法救助"), Some("是"));
        assert_eq!(value("农民工讨要工资或工伤赔偿"), Some("否"));
        assert_eq!(value("期限在7天内到期（如开庭、诉讼时效）"), Some("是"));
        assert_eq!(value("紧急，可先行提供法律援助"), Some("是"));
        assert_eq!(value("当事人被羁押或正在面临审判"), None, "not asked");
    }
}
