//! Legal-aid applications taken on the phone (or by SMS), with their pre-assessment. The
//! certificate number is personal data: kept encrypted, with its category and level beside it
//! for sorting and statistics.

use std::collections::BTreeSet;

use sqlx::Row;

use super::{coded, is_unique_violation, new_id, now, Db, StorageError};
use crate::domain::legal_aid::{Assessment, Outcome, Priority};
use crate::domain::DisabilityCertificate;
use crate::ivr::flow::Flag;

#[derive(Debug, Clone)]
pub struct NewApplication<'a> {
    pub origin_key: &'a str,
    pub consultation_id: &'a str,
    pub certificate: Option<&'a DisabilityCertificate>,
    pub prefecture: Option<&'a str>,
    pub county: Option<&'a str>,
    pub matter: Option<&'a str>,
    /// The questions answered yes, by name.
    pub answers: Vec<&'a str>,
    pub assessment: &'a Assessment,
}

/// An application as stored (without the certificate number).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    pub id: String,
    pub consultation_id: String,
    pub prefecture: Option<String>,
    pub county: Option<String>,
    pub matter: Option<String>,
    /// The questions answered yes, comma-separated (see [`Application::yes`]).
    pub answers: String,
    pub outcome: Outcome,
    pub priority: Priority,
    pub urgent: bool,
    pub disability_category: Option<i64>,
    pub disability_level: Option<i64>,
    pub explanation: String,
}

const COLUMNS: &str = "id, consultation_id, prefecture, county, matter, answers, outcome, priority, urgent, \
                       disability_category, disability_level, explanation";

impl Application {
    /// The pre-screening questions answered yes.
    pub fn yes(&self) -> BTreeSet<Flag> {
        use serde::de::value::{Error, StrDeserializer};
        use serde::Deserialize;
        self.answers
            .split(',')
            .filter_map(|name| Flag::deserialize(StrDeserializer::<Error>::new(name.trim())).ok())
            .collect()
    }
}

impl Db {
    /// Records the application once per origin (a retried webhook finds the first one).
    pub async fn record_application(&self, a: &NewApplication<'_>) -> Result<Application, StorageError> {
        let result = sqlx::query(
            "INSERT INTO applications (id, origin_key, consultation_id, certificate_enc, disability_category,
                 disability_level, prefecture, county, matter, answers, outcome, priority, urgent, explanation, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        )
        .bind(new_id())
        .bind(a.origin_key)
        .bind(a.consultation_id)
        .bind(a.certificate.map(|c| self.key().encrypt(c.number().as_bytes())))
        .bind(a.certificate.map(|c| c.category() as i64))
        .bind(a.certificate.map(|c| i64::from(c.level())))
        .bind(a.prefecture)
        .bind(a.county)
        .bind(a.matter)
        .bind(a.answers.join(","))
        .bind(a.assessment.outcome.as_str())
        .bind(a.assessment.priority.as_str())
        .bind(i64::from(a.assessment.urgent))
        .bind(&a.assessment.explanation)
        .bind(now())
        .execute(self.pool())
        .await;
        match result {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {}
            Err(e) => return Err(e.into()),
        }
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM applications WHERE origin_key = $1"))
            .bind(a.origin_key)
            .fetch_one(self.pool())
            .await?;
        application(&row)
    }

    /// The consultation's latest application, if there is one.
    pub async fn application_of(&self, consultation_id: &str) -> Result<Option<Application>, StorageError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM applications WHERE consultation_id = $1 ORDER BY created_at DESC LIMIT 1"
        ))
        .bind(consultation_id)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| application(&r)).transpose()
    }

    /// The decrypted certificate number of an application.
    pub async fn application_certificate(&self, id: &str) -> Result<Option<String>, StorageError> {
        let row = sqlx::query("SELECT certificate_enc FROM applications WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        let sealed: Option<Vec<u8>> = match row {
            Some(r) => r.try_get("certificate_enc")?,
            None => None,
        };
        Ok(sealed.map(|s| self.key().decrypt_string(&s)).transpose()?)
    }
}

fn application(r: &sqlx::any::AnyRow) -> Result<Application, StorageError> {
    Ok(Application {
        id: r.try_get("id")?,
        consultation_id: r.try_get("consultation_id")?,
        prefecture: r.try_get("prefecture")?,
        county: r.try_get("county")?,
        matter: r.try_get("matter")?,
        answers: r.try_get("answers")?,
        outcome: coded(r, "outcome", Outcome::parse)?,
        priority: coded(r, "priority", Priority::parse)?,
        urgent: r.try_get::<i64, _>("urgent")? != 0,
        disability_category: r.try_get("disability_category")?,
        disability_level: r.try_get("disability_level")?,
        explanation: r.try_get("explanation")?,
    })
}
