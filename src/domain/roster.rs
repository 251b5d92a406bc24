//! Duty lawyers as a roster file describes them, parsed and checked before anything is stored.
//!
//! `hotline roster import FILE.csv` takes one lawyer per row (UTF-8, header row required):
//!
//! | column | example | meaning |
//! |---|---|---|
//! | `name` | 张明 | |
//! | `phone` | +8613800000001 | the number the callback rings first; E.164 or Chinese national form |
//! | `skills` | labour_wages;work_injury;sign_language | matters (see [`Matter`]) and `sign_language`, `sms`, `dialect:<name>` |
//! | `regions` | 610100;610113 | GB/T 2260 codes served: prefecture, county (6 digits) or township (9) |
//! | `max_cases` | 3 | cases at once |
//! | `shifts` | mon-fri 09:00-17:00;sat 09:00-12:00 | weekly, Beijing time |
//! | `exceptions` | 2026-12-25 off;2026-12-31 09:00-12:00 | dates that replace the weekly shifts |
//!
//! China keeps UTC+8 all year (no daylight saving since 1991), so Beijing time is a fixed
//! offset.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveTime, Utc, Weekday};

use super::{Matter, PhoneNumber};

mod problem;

pub use problem::{Problem, RosterError, TimeProblem};

/// UTC+8, the time rosters are written in.
pub fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("valid offset")
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skill {
    Matter(Matter),
    SignLanguage,
    Sms,
    Dialect(String),
}

impl Skill {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "sign_language" => Some(Skill::SignLanguage),
            "sms" => Some(Skill::Sms),
            _ => match s.strip_prefix("dialect:") {
                Some(d) if !d.is_empty() => Some(Skill::Dialect(d.to_owned())),
                _ => Matter::parse(s).map(Skill::Matter),
            },
        }
    }

    pub fn as_string(&self) -> String {
        match self {
            Skill::Matter(m) => m.as_str().to_owned(),
            Skill::SignLanguage => "sign_language".into(),
            Skill::Sms => "sms".into(),
            Skill::Dialect(d) => format!("dialect:{d}"),
        }
    }
}

/// Minutes after midnight, Beijing time: `start..end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hours {
    pub start_min: u32,
    pub end_min: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shift {
    /// 1 = Monday … 7 = Sunday.
    pub weekday: u32,
    pub hours: Hours,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exception {
    pub date: NaiveDate,
    /// `None`: off all day.
    pub hours: Option<Hours>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterLawyer {
    pub name: String,
    pub phone: PhoneNumber,
    pub skills: Vec<Skill>,
    pub regions: Vec<String>,
    pub max_cases: u32,
    pub shifts: Vec<Shift>,
    pub exceptions: Vec<Exception>,
}

impl RosterLawyer {
    /// On duty at `at`: an exception for that date decides, else the weekly shifts.
    pub fn on_duty(&self, at: DateTime<Utc>) -> bool {
        on_duty(&self.shifts, &self.exceptions, at)
    }
}

pub fn on_duty(shifts: &[Shift], exceptions: &[Exception], at: DateTime<Utc>) -> bool {
    let local = at.with_timezone(&beijing());
    let minute = local.time().signed_duration_since(NaiveTime::MIN).num_minutes() as u32;
    let inside = |h: &Hours| h.start_min <= minute && minute < h.end_min;
    let today: Vec<&Exception> = exceptions.iter().filter(|e| e.date == local.date_naive()).collect();
    if !today.is_empty() {
        return today.iter().any(|e| e.hours.as_ref().is_some_and(inside));
    }
    let weekday = local.weekday().number_from_monday();
    shifts.iter().any(|s| s.weekday == weekday && inside(&s.hours))
}

/// Parses a whole roster file; every problem is reported, not only the first.
pub fn parse_csv(text: &str) -> Result<Vec<RosterLawyer>, Vec<RosterError>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(_) => return Err(vec![error(0, "", Problem::UnreadableHeader)]),
    };
    const COLUMNS: [&str; 7] = [
        "name",
        "phone",
        "skills",
        "regions",
        "max_cases",
        "shifts",
        "exceptions",
    ];
    let missing: Vec<RosterError> = COLUMNS
        .iter()
        .filter(|c| !headers.iter().any(|h| h == **c))
        .map(|c| error(0, c, Problem::MissingColumn))
        .collect();
    if !missing.is_empty() {
        return Err(missing);
    }
    let (mut lawyers, mut errors) = (Vec::new(), Vec::new());
    let mut phones = std::collections::HashMap::new();
    for (i, record) in reader.records().enumerate() {
        let row = i + 1;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let problem = match e.kind() {
                    csv::ErrorKind::UnequalLengths { expected_len, len, .. } => Problem::FieldCount {
                        found: *len,
                        expected: *expected_len,
                    },
                    _ => Problem::UnreadableRow,
                };
                errors.push(error(row, "", problem));
                continue;
            }
        };
        let field = |name: &str| -> String {
            headers
                .iter()
                .position(|h| h == name)
                .and_then(|i| record.get(i))
                .unwrap_or_default()
                .to_owned()
        };
        if let Ok(phone) = PhoneNumber::parse(&field("phone")) {
            if let Some(earlier) = phones.insert(phone.e164().to_owned(), row) {
                errors.push(error(row, "phone", Problem::SamePhone(earlier)));
                phones.insert(phone.e164().to_owned(), earlier);
            }
        }
        match parse_row(row, &field) {
            Ok(l) => lawyers.push(l),
            Err(mut e) => errors.append(&mut e),
        }
    }
    if errors.is_empty() {
        Ok(lawyers)
    } else {
        Err(errors)
    }
}

fn error(row: usize, column: &'static str, problem: Problem) -> RosterError {
    RosterError { row, column, problem }
}

fn list(value: &str) -> impl Iterator<Item = &str> {
    value.split(';').map(str::trim).filter(|s| !s.is_empty())
}

fn parse_row(row: usize, field: &dyn Fn(&str) -> String) -> Result<RosterLawyer, Vec<RosterError>> {
    let mut errors = Vec::new();
    let name = field("name");
    if name.is_empty() {
        errors.push(error(row, "name", Problem::Empty));
    }
    let phone_text = field("phone");
    let phone = PhoneNumber::parse(&phone_text)
        .map_err(|_| {
            let problem = match phone_text.is_empty() {
                true => Problem::Empty,
                false => Problem::Phone(phone_text.clone()),
            };
            errors.push(error(row, "phone", problem))
        })
        .ok();
    let mut skills = Vec::new();
    for s in list(&field("skills")) {
        match Skill::parse(s) {
            Some(skill) => skills.push(skill),
            None => errors.push(error(row, "skills", Problem::Skill(s.to_owned()))),
        }
    }
    let regions: Vec<String> = list(&field("regions")).map(str::to_owned).collect();
    for r in &regions {
        if !(r.len() == 6 || r.len() == 9) || !r.bytes().all(|b| b.is_ascii_digit()) {
            errors.push(error(row, "regions", Problem::Region(r.clone())));
        }
    }
    if regions.is_empty() {
        errors.push(error(row, "regions", Problem::NoRegion));
    }
    let max_cases_text = field("max_cases");
    let max_cases = match max_cases_text.parse::<u32>() {
        Ok(n) if (1..=100).contains(&n) => n,
        _ => {
            errors.push(error(row, "max_cases", Problem::MaxCases(max_cases_text)));
            0
        }
    };
    let time = |column, entry: &str, problem| {
        error(
            row,
            column,
            Problem::Time {
                entry: entry.to_owned(),
                problem,
            },
        )
    };
    let mut shifts = Vec::new();
    for s in list(&field("shifts")) {
        match parse_shift(s) {
            Ok(mut parsed) => shifts.append(&mut parsed),
            Err(problem) => errors.push(time("shifts", s, problem)),
        }
    }
    let mut exceptions = Vec::new();
    for e in list(&field("exceptions")) {
        match parse_exception(e) {
            Ok(parsed) => exceptions.push(parsed),
            Err(problem) => errors.push(time("exceptions", e, problem)),
        }
    }
    match (errors.is_empty(), phone) {
        (true, Some(phone)) => Ok(RosterLawyer {
            name,
            phone,
            skills,
            regions,
            max_cases,
            shifts,
            exceptions,
        }),
        _ => Err(errors),
    }
}

/// `mon-fri 09:00-17:00` or `sat 09:00-12:00`.
fn parse_shift(s: &str) -> Result<Vec<Shift>, TimeProblem> {
    let (days, hours) = s.split_once(' ').ok_or(TimeProblem::ShiftFormat)?;
    let hours = parse_hours(hours.trim())?;
    let day = |d: &str| {
        d.parse::<Weekday>()
            .map(|w| w.number_from_monday())
            .map_err(|_| TimeProblem::Day(d.to_owned()))
    };
    let (first, last) = match days.split_once('-') {
        Some((a, b)) => (day(a)?, day(b)?),
        None => (day(days)?, day(days)?),
    };
    if first > last {
        return Err(TimeProblem::DaysBackwards);
    }
    Ok((first..=last).map(|weekday| Shift { weekday, hours }).collect())
}

fn parse_hours(s: &str) -> Result<Hours, TimeProblem> {
    let (a, b) = s.split_once('-').ok_or(TimeProblem::HoursFormat)?;
    let minutes = |t: &str| {
        if t == "24:00" {
            return Ok(24 * 60);
        }
        NaiveTime::parse_from_str(t, "%H:%M")
            .map(|t| t.signed_duration_since(NaiveTime::MIN).num_minutes() as u32)
            .map_err(|_| TimeProblem::Time(t.to_owned()))
    };
    let hours = Hours {
        start_min: minutes(a)?,
        end_min: minutes(b)?,
    };
    if hours.start_min >= hours.end_min {
        return Err(TimeProblem::EndBeforeStart);
    }
    Ok(hours)
}

/// `2026-12-25 off` or `2026-12-31 09:00-12:00`.
fn parse_exception(s: &str) -> Result<Exception, TimeProblem> {
    let (date, rest) = s.split_once(' ').ok_or(TimeProblem::ExceptionFormat)?;
    let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|_| TimeProblem::Date(date.to_owned()))?;
    let hours = match rest.trim() {
        "off" => None,
        h => Some(parse_hours(h)?),
    };
    Ok(Exception { date, hours })
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../../config/roster.example.csv");

    fn at(beijing_time: &str) -> DateTime<Utc> {
        DateTime::parse_from_str(&format!("{beijing_time} +0800"), "%Y-%m-%d %H:%M %z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn the_example_file_parses() {
        let lawyers = parse_csv(EXAMPLE).expect("example roster is valid");
        assert_eq!(lawyers.len(), 3);
        let first = &lawyers[0];
        assert_eq!(first.phone.e164(), "+8613800000001");
        assert!(first.skills.contains(&Skill::SignLanguage));
        assert!(first.skills.contains(&Skill::Matter(Matter::LabourAndWages)));
        assert_eq!(first.shifts.len(), 6, "mon-fri plus sat");
    }

    #[test]
    fn duty_follows_beijing_time_and_exceptions() {
        let lawyers = parse_csv(EXAMPLE).unwrap();
        let l = &lawyers[0]; // mon-fri 09:00-17:00; sat 09:00-12:00; 2026-12-25 off; 2026-12-31 09:00-12:00
        assert!(l.on_duty(at("2026-11-30 09:00")), "Monday morning");
        assert!(!l.on_duty(at("2026-11-30 17:00")), "the end is exclusive");
        assert!(!l.on_duty(at("2026-11-30 08:59")));
        assert!(l.on_duty(at("2026-12-05 11:59")), "Saturday");
        assert!(!l.on_duty(at("2026-12-06 10:00")), "Sunday");
        assert!(!l.on_duty(at("2026-12-25 10:00")), "a Friday off");
        assert!(
            l.on_duty(at("2026-12-31 10:00")) && !l.on_duty(at("2026-12-31 14:00")),
            "short day"
        );
        // 01:30 UTC on Monday is 09:30 in Beijing.
        assert!(l.on_duty("2026-11-30T01:30:00Z".parse().unwrap()));
    }

    #[test]
    fn every_problem_is_named_by_row_and_column() {
        let bad = "name,phone,skills,regions,max_cases,shifts,exceptions\n\
                   ,12345,cooking,61,0,mon-xyz 9-17,2026-13-01 off\n\
                   李四,13800000002,criminal,610100,2,mon 09:00-12:00,\n\
                   王五,13800000002,criminal,610100,2,fri 18:00-09:00,\n";
        let errors = parse_csv(bad).unwrap_err();
        let named: Vec<(usize, &str)> = errors.iter().map(|e| (e.row, e.column)).collect();
        for expected in [
            (1, "name"),
            (1, "phone"),
            (1, "skills"),
            (1, "regions"),
            (1, "max_cases"),
            (1, "shifts"),
            (1, "exceptions"),
            (3, "shifts"),
        ] {
            assert!(named.contains(&expected), "{expected:?} in {errors:?}");
        }
        assert!(errors.iter().any(|e| e.to_string().contains("“cooking”")));
        let missing = parse_csv("name,phone\n").unwrap_err();
        assert!(missing.iter().any(|e| e.column == "skills"));
    }

    /// A problem's text without what it quotes from the file (“…”): what is left is ours.
    fn own_words(message: &str) -> String {
        let mut out = String::new();
        let mut quoted = false;
        for c in message.chars() {
            match c {
                '“' => quoted = true,
                '”' => quoted = false,
                c if !quoted => out.push(c),
                _ => {}
            }
        }
        out
    }

    #[test]
    fn every_problem_is_worded_in_chinese_with_its_row_and_column() {
        let bad = "name,phone,skills,regions,max_cases,shifts,exceptions\n\
                   ,12345,cooking;dialect:,61,0,mon-xyz 9-17;fri 18:00-09:00;sun-mon 09:00-10:00;mon 9,2026-13-01 off;2026-12-01\n\
                   李四,13800000002,criminal,,2,mon 09:00-12:00,2026-12-01 25:00-26:00\n\
                   王五,13800000002,criminal,610100,2,mon 09:00-12:00,\n\
                   赵六,13800000003\n";
        let mut errors = parse_csv(bad).unwrap_err();
        errors.extend(parse_csv("name,phone\n").unwrap_err());
        assert!(errors.len() >= 15, "{errors:?}");
        for e in &errors {
            let message = e.to_string();
            let own = own_words(&message);
            assert!(!own.bytes().any(|b| b.is_ascii_alphabetic()), "English in {message:?}");
            assert!(
                message.contains(&format!("“{}”列", e.column)) || e.column.is_empty(),
                "{message}"
            );
            let place = if e.row == 0 {
                "表头".to_owned()
            } else {
                format!("第 {} 行", e.row)
            };
            assert!(message.contains(&place), "{message}");
        }
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert!(text.iter().any(|t| t.contains("“cooking”")), "{text:?}");
    }

    #[test]
    fn the_same_phone_twice_is_refused() {
        let twice = "name,phone,skills,regions,max_cases,shifts,exceptions\n\
                     甲,13800000009,criminal,610100,1,mon 09:00-12:00,\n\
                     乙,+8613800000009,criminal,610100,1,mon 09:00-12:00,\n";
        let errors = parse_csv(twice).unwrap_err();
        assert_eq!((errors[0].row, errors[0].column), (2, "phone"));
    }
}
