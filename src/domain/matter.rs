//! What a consultation is about: the matter categories offered on the phone and by SMS.

/// Matter categories, in the order the menus offer them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Matter {
    LabourAndWages,
    WorkInjury,
    FamilyAndMaintenance,
    HousingAndProperty,
    PersonalInjuryAndTraffic,
    SocialInsuranceAndDisabilityBenefits,
    Criminal,
    Other,
}

impl Matter {
    pub const ALL: [Matter; 8] = [
        Matter::LabourAndWages,
        Matter::WorkInjury,
        Matter::FamilyAndMaintenance,
        Matter::HousingAndProperty,
        Matter::PersonalInjuryAndTraffic,
        Matter::SocialInsuranceAndDisabilityBenefits,
        Matter::Criminal,
        Matter::Other,
    ];

    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Matter::LabourAndWages => "labour_wages",
            Matter::WorkInjury => "work_injury",
            Matter::FamilyAndMaintenance => "family_maintenance",
            Matter::HousingAndProperty => "housing_property",
            Matter::PersonalInjuryAndTraffic => "personal_injury_traffic",
            Matter::SocialInsuranceAndDisabilityBenefits => "social_insurance_disability",
            Matter::Criminal => "criminal",
            Matter::Other => "other",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == value)
    }

    /// What callers hear and read.
    pub fn chinese(self) -> &'static str {
        match self {
            Matter::LabourAndWages => "劳动和工资",
            Matter::WorkInjury => "工伤",
            Matter::FamilyAndMaintenance => "婚姻家庭和赡养抚养",
            Matter::HousingAndProperty => "房产和财产",
            Matter::PersonalInjuryAndTraffic => "人身损害和交通事故",
            Matter::SocialInsuranceAndDisabilityBenefits => "社会保险和残疾人福利",
            Matter::Criminal => "刑事案件",
            Matter::Other => "其他问题",
        }
    }

    /// Listed in Art. 31 of the Legal Aid Law (civil matters eligible given hardship).
    pub fn is_art31(self) -> bool {
        matches!(
            self,
            Matter::LabourAndWages
                | Matter::WorkInjury
                | Matter::FamilyAndMaintenance
                | Matter::PersonalInjuryAndTraffic
                | Matter::SocialInsuranceAndDisabilityBenefits
        )
    }

    /// A migrant worker claiming pay or work-injury compensation is exempt from the hardship
    /// check (Art. 42 (三)).
    pub fn is_pay_or_injury_claim(self) -> bool {
        matches!(self, Matter::LabourAndWages | Matter::WorkInjury)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_distinct() {
        let mut seen = std::collections::HashSet::new();
        for m in Matter::ALL {
            assert_eq!(Matter::parse(m.as_str()), Some(m));
            assert!(seen.insert(m.chinese()));
        }
        assert_eq!(Matter::parse("unknown"), None);
    }
}
