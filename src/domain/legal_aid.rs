//! Legal-aid pre-screening (Legal Aid Law 2021): what the caller's answers suggest, in plain
//! words, and how urgently a lawyer should call back. A lawyer decides; this only sorts.
//!
//! - Art. 25 (二)/(三), 36: a blind, deaf or mute suspect or defendant, or one who cannot fully
//!   recognise their own acts, must be assigned a defender (notification defence, 3-day clock).
//! - Art. 31: civil matters eligible given economic hardship; Art. 42: the hardship check is
//!   waived for disabled people without fixed income, recipients of social or judicial
//!   assistance, and migrant workers claiming pay or work-injury compensation. A certificate
//!   alone does not waive it.
//! - Art. 44: a deadline within 7 days or evidence at risk → aid before review (urgent).

use super::certificate::DisabilityCertificate;
use super::matter::Matter;

/// The caller's answers.
#[derive(Debug, Clone, Default)]
pub struct Screening {
    pub certificate: Option<DisabilityCertificate>,
    pub matter: Option<Matter>,
    pub no_fixed_income: bool,
    pub receives_assistance: bool,
    pub migrant_worker: bool,
    pub deadline_within_7_days: bool,
    pub evidence_at_risk: bool,
    /// Criminal matters: held in detention, or facing trial.
    pub detained_or_on_trial: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    LikelyEligible,
    NeedsReview,
    ConsultationOnly,
}

impl Outcome {
    pub const ALL: [Outcome; 3] = [Outcome::LikelyEligible, Outcome::NeedsReview, Outcome::ConsultationOnly];

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == value)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::LikelyEligible => "likely_eligible",
            Outcome::NeedsReview => "needs_review",
            Outcome::ConsultationOnly => "consultation_only",
        }
    }
}

/// Callback priority classes, most urgent first (the queue also ages entries).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    CriminalNotification,
    Urgent,
    SevereDisability,
    Normal,
}

impl Priority {
    pub const ALL: [Priority; 4] = [
        Priority::CriminalNotification,
        Priority::Urgent,
        Priority::SevereDisability,
        Priority::Normal,
    ];

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == value)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::CriminalNotification => "criminal_notification",
            Priority::Urgent => "urgent",
            Priority::SevereDisability => "severe_disability",
            Priority::Normal => "normal",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    pub outcome: Outcome,
    pub priority: Priority,
    /// Art. 44: aid may start before the review.
    pub urgent: bool,
    /// What the caller is told, in plain Mandarin.
    pub explanation: String,
}

pub fn assess(s: &Screening) -> Assessment {
    let urgent = s.deadline_within_7_days || s.evidence_at_risk;
    let category = s.certificate.as_ref().map(DisabilityCertificate::category);
    let (outcome, mut priority, explanation) = match s.matter {
        Some(Matter::Criminal) if s.detained_or_on_trial && category.is_some_and(|c| c.is_sensory()) => (
            Outcome::LikelyEligible,
            Priority::CriminalNotification,
            "您的情况属于法律规定应当指派辩护律师的情形，我们会在三天内安排律师。",
        ),
        Some(Matter::Criminal) if s.detained_or_on_trial => (
            Outcome::NeedsReview,
            Priority::CriminalNotification,
            "刑事案件由律师尽快核实您是否符合指派辩护律师的条件。",
        ),
        Some(Matter::Criminal) => (
            Outcome::NeedsReview,
            Priority::Normal,
            "刑事案件需要律师进一步了解情况后判断。",
        ),
        Some(m) if m.is_art31() && hardship_waived(s, m) => (
            Outcome::LikelyEligible,
            Priority::Normal,
            "根据您的回答，您很可能符合法律援助条件，不需要再审查经济困难情况。",
        ),
        Some(m) if m.is_art31() => (
            Outcome::NeedsReview,
            Priority::Normal,
            "您的事项属于法律援助范围，还需要审查您的经济困难情况。",
        ),
        Some(Matter::Other) | None => (
            Outcome::NeedsReview,
            Priority::Normal,
            "律师会进一步了解您的问题，再告诉您是否可以申请法律援助。",
        ),
        Some(_) => (
            Outcome::ConsultationOnly,
            Priority::Normal,
            "这类事项一般不在法律援助范围内，律师可以为您提供免费法律咨询。",
        ),
    };
    if priority == Priority::Normal {
        if urgent {
            priority = Priority::Urgent;
        } else if s.certificate.as_ref().is_some_and(DisabilityCertificate::is_severe) {
            priority = Priority::SevereDisability;
        }
    }
    let mut explanation = explanation.to_owned();
    if urgent {
        explanation.push_str("您的事情很紧急，我们会优先处理。");
    }
    Assessment {
        outcome,
        priority,
        urgent,
        explanation,
    }
}

/// Art. 42: the hardship check is waived.
fn hardship_waived(s: &Screening, matter: Matter) -> bool {
    (s.certificate.is_some() && s.no_fixed_income)
        || s.receives_assistance
        || (s.migrant_worker && matter.is_pay_or_injury_claim())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(category_level: &str) -> Option<DisabilityCertificate> {
        Some(DisabilityCertificate::parse(&format!("11010519491231002X{category_level}")).unwrap())
    }

    #[test]
    fn table() {
        let base = Screening::default();
        let cases: Vec<(&str, Screening, Outcome, Priority)> = vec![
            (
                "deaf defendant in detention: notification defence",
                Screening {
                    matter: Some(Matter::Criminal),
                    detained_or_on_trial: true,
                    certificate: cert("23"),
                    ..base.clone()
                },
                Outcome::LikelyEligible,
                Priority::CriminalNotification,
            ),
            (
                "physically disabled defendant: review, still on the 3-day clock",
                Screening {
                    matter: Some(Matter::Criminal),
                    detained_or_on_trial: true,
                    certificate: cert("41"),
                    ..base.clone()
                },
                Outcome::NeedsReview,
                Priority::CriminalNotification,
            ),
            (
                "criminal, not detained",
                Screening {
                    matter: Some(Matter::Criminal),
                    certificate: cert("11"),
                    ..base.clone()
                },
                Outcome::NeedsReview,
                Priority::SevereDisability,
            ),
            (
                "disabled without fixed income, wages: waived",
                Screening {
                    matter: Some(Matter::LabourAndWages),
                    certificate: cert("44"),
                    no_fixed_income: true,
                    ..base.clone()
                },
                Outcome::LikelyEligible,
                Priority::Normal,
            ),
            (
                "a certificate alone does not waive the check",
                Screening {
                    matter: Some(Matter::FamilyAndMaintenance),
                    certificate: cert("44"),
                    ..base.clone()
                },
                Outcome::NeedsReview,
                Priority::Normal,
            ),
            (
                "migrant worker claiming injury compensation",
                Screening {
                    matter: Some(Matter::WorkInjury),
                    migrant_worker: true,
                    ..base.clone()
                },
                Outcome::LikelyEligible,
                Priority::Normal,
            ),
            (
                "migrant worker, but a family matter",
                Screening {
                    matter: Some(Matter::FamilyAndMaintenance),
                    migrant_worker: true,
                    ..base.clone()
                },
                Outcome::NeedsReview,
                Priority::Normal,
            ),
            (
                "assistance recipient, deadline in 5 days",
                Screening {
                    matter: Some(Matter::SocialInsuranceAndDisabilityBenefits),
                    receives_assistance: true,
                    deadline_within_7_days: true,
                    ..base.clone()
                },
                Outcome::LikelyEligible,
                Priority::Urgent,
            ),
            (
                "housing: consultation only, severe disability first",
                Screening {
                    matter: Some(Matter::HousingAndProperty),
                    certificate: cert("12"),
                    ..base.clone()
                },
                Outcome::ConsultationOnly,
                Priority::SevereDisability,
            ),
            ("nothing known", base.clone(), Outcome::NeedsReview, Priority::Normal),
        ];
        for (what, screening, outcome, priority) in cases {
            let a = assess(&screening);
            assert_eq!((a.outcome, a.priority), (outcome, priority), "{what}");
            assert!(!a.explanation.is_empty());
        }
    }

    #[test]
    fn urgency_is_explained_and_ordered() {
        let a = assess(&Screening {
            evidence_at_risk: true,
            matter: Some(Matter::PersonalInjuryAndTraffic),
            ..Default::default()
        });
        assert!(a.urgent && a.explanation.contains("优先"));
        assert!(Priority::CriminalNotification < Priority::Urgent);
        assert!(Priority::Urgent < Priority::SevereDisability && Priority::SevereDisability < Priority::Normal);
    }
}
