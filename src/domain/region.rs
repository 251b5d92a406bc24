//! A province's prefectures and counties (GB/T 2260), loaded from `config/regions/<name>.toml`
//! so that another province only needs another data file. Shaanxi is built in.

use serde::Deserialize;

const SHAANXI: &str = include_str!("../../config/regions/shaanxi.toml");

#[derive(Debug, Clone, Deserialize)]
pub struct Division {
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Prefecture {
    pub code: String,
    pub name: String,
    pub counties: Vec<Division>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Regions {
    pub province: String,
    pub code: String,
    #[serde(rename = "prefecture")]
    pub prefectures: Vec<Prefecture>,
}

#[derive(Debug, thiserror::Error)]
pub enum RegionError {
    #[error("region file is not valid TOML: {0}")]
    Toml(String),
    #[error("region file: {0}")]
    Invalid(String),
    #[error("region file {0}: {1}")]
    Read(String, String),
}

impl Regions {
    pub fn shaanxi() -> Self {
        Self::parse(SHAANXI).expect("config/regions/shaanxi.toml is valid (checked by a unit test)")
    }

    /// The configured file, or the built-in Shaanxi list.
    pub fn load(file: Option<&std::path::Path>) -> Result<Self, RegionError> {
        match file {
            None => Ok(Self::shaanxi()),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| RegionError::Read(path.display().to_string(), e.to_string()))?;
                Self::parse(&text)
            }
        }
    }

    /// Parses and checks a region file: 6-digit codes, each county inside its prefecture,
    /// each prefecture inside the province, no code twice.
    pub fn parse(text: &str) -> Result<Self, RegionError> {
        use figment::providers::{Format, Toml};
        let regions: Regions = figment::Figment::from(Toml::string(text))
            .extract()
            .map_err(|e| RegionError::Toml(e.to_string()))?;
        let bad = |msg: String| Err(RegionError::Invalid(msg));
        let six_digits = |c: &str| c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit());
        if !six_digits(&regions.code) {
            return bad(format!("province code {} is not 6 digits", regions.code));
        }
        let mut seen = std::collections::HashSet::new();
        for p in &regions.prefectures {
            if !six_digits(&p.code) || p.code[..2] != regions.code[..2] {
                return bad(format!(
                    "prefecture {} ({}) is not in province {}",
                    p.name, p.code, regions.code
                ));
            }
            if p.counties.is_empty() {
                return bad(format!("prefecture {} has no counties", p.name));
            }
            for c in &p.counties {
                if !six_digits(&c.code) || c.code[..4] != p.code[..4] {
                    return bad(format!(
                        "county {} ({}) is not in prefecture {}",
                        c.name, c.code, p.code
                    ));
                }
                if !seen.insert(c.code.clone()) {
                    return bad(format!("county code {} appears twice", c.code));
                }
            }
        }
        if regions.prefectures.is_empty() {
            return bad("no prefectures".into());
        }
        Ok(regions)
    }

    pub fn prefecture(&self, code: &str) -> Option<&Prefecture> {
        self.prefectures.iter().find(|p| p.code == code)
    }

    /// The county and its prefecture.
    pub fn county(&self, code: &str) -> Option<(&Prefecture, &Division)> {
        self.prefectures
            .iter()
            .find_map(|p| p.counties.iter().find(|c| c.code == code).map(|c| (p, c)))
    }

    /// A code's name as staff read it: "陕西省", "西安市" or "西安市雁塔区"; None for a code
    /// this file does not list.
    pub fn name_of(&self, code: &str) -> Option<String> {
        if code == self.code {
            return Some(self.province.clone());
        }
        self.prefecture(code)
            .map(|p| p.name.clone())
            .or_else(|| self.county(code).map(|(p, c)| format!("{}{}", p.name, c.name)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shaanxi_has_its_ten_prefectures() {
        let r = Regions::shaanxi();
        assert_eq!(r.province, "陕西省");
        let names: Vec<&str> = r.prefectures.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "西安市",
                "铜川市",
                "宝鸡市",
                "咸阳市",
                "渭南市",
                "延安市",
                "汉中市",
                "榆林市",
                "安康市",
                "商洛市"
            ]
        );
        assert_eq!(r.prefecture("610100").unwrap().name, "西安市");
        let (p, c) = r.county("610113").unwrap();
        assert_eq!((p.name.as_str(), c.name.as_str()), ("西安市", "雁塔区"));
        assert!(r.prefectures.iter().all(|p| !p.counties.is_empty()));
        assert_eq!(r.name_of("610000").as_deref(), Some("陕西省"));
        assert_eq!(r.name_of("610300").as_deref(), Some("宝鸡市"));
        assert_eq!(r.name_of("610113").as_deref(), Some("西安市雁塔区"));
        assert_eq!(r.name_of("620102"), None);
    }

    #[test]
    fn broken_files_are_refused_with_the_reason() {
        let misplaced = "province = \"陕西省\"\ncode = \"610000\"\n[[prefecture]]\ncode = \"610100\"\nname = \"西安市\"\ncounties = [{ code = \"620102\", name = \"城关区\" }]\n";
        let err = Regions::parse(misplaced).unwrap_err().to_string();
        assert!(err.contains("城关区"), "{err}");
        assert!(Regions::parse("province = 1").is_err());
    }
}
