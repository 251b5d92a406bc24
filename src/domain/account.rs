//! Staff accounts: who may do what in the console and the API, and how a case is closed.

use serde::{Deserialize, Serialize};

/// What a staff account may see and do.
///
/// - a lawyer: the queue entries they are eligible for (matters, regions), their offers and the
///   cases they took;
/// - a supervisor: everything in their prefecture, and its roster;
/// - an admin: everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Lawyer,
    Supervisor,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Lawyer => "lawyer",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Role::Lawyer, Role::Supervisor, Role::Admin]
            .into_iter()
            .find(|r| r.as_str() == value)
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Lawyer => "值班律师",
            Role::Supervisor => "主管",
            Role::Admin => "管理员",
        }
    }
}

/// The forms of legal aid (Legal Aid Law Art. 22); a closed case records which was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ServiceForm {
    LegalConsultation,
    DocumentDrafting,
    CriminalDefence,
    LitigationAgency,
    DutyLawyerHelp,
    LabourMediationArbitration,
    Other,
}

impl ServiceForm {
    pub const ALL: [ServiceForm; 7] = [
        ServiceForm::LegalConsultation,
        ServiceForm::DocumentDrafting,
        ServiceForm::CriminalDefence,
        ServiceForm::LitigationAgency,
        ServiceForm::DutyLawyerHelp,
        ServiceForm::LabourMediationArbitration,
        ServiceForm::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ServiceForm::LegalConsultation => "legal_consultation",
            ServiceForm::DocumentDrafting => "document_drafting",
            ServiceForm::CriminalDefence => "criminal_defence",
            ServiceForm::LitigationAgency => "litigation_agency",
            ServiceForm::DutyLawyerHelp => "duty_lawyer_help",
            ServiceForm::LabourMediationArbitration => "labour_mediation_arbitration",
            ServiceForm::Other => "other",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == value)
    }

    /// The Art. 22 wording.
    pub fn label(self) -> &'static str {
        match self {
            ServiceForm::LegalConsultation => "法律咨询",
            ServiceForm::DocumentDrafting => "代拟法律文书",
            ServiceForm::CriminalDefence => "刑事辩护与代理",
            ServiceForm::LitigationAgency => "民事、行政、国家赔偿诉讼代理及非诉讼代理",
            ServiceForm::DutyLawyerHelp => "值班律师法律帮助",
            ServiceForm::LabourMediationArbitration => "劳动争议调解与仲裁代理",
            ServiceForm::Other => "其他",
        }
    }
}

/// A login name: 3 to 32 ASCII letters, digits, `.`, `_` or `-`, kept in lower case.
pub fn parse_username(value: &str) -> Option<String> {
    let v = value.trim().to_ascii_lowercase();
    let ok = (3..=32).contains(&v.len())
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    ok.then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_and_forms_round_trip() {
        for r in [Role::Lawyer, Role::Supervisor, Role::Admin] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        for f in ServiceForm::ALL {
            assert_eq!(ServiceForm::parse(f.as_str()), Some(f));
        }
        assert_eq!(Role::parse("root"), None);
        assert_eq!(ServiceForm::parse("法律咨询"), None);
    }

    #[test]
    fn usernames_are_plain_and_lower_case() {
        assert_eq!(parse_username(" Zhang.Ming "), Some("zhang.ming".into()));
        assert_eq!(parse_username("ab"), None);
        assert_eq!(parse_username("张明"), None);
        assert_eq!(parse_username("a b c"), None);
    }
}
