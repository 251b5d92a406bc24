//! Duty lawyers and their rosters. A roster import replaces each listed lawyer's skills,
//! regions and shifts in one transaction; lawyers are matched by phone number (keyed hash), so
//! importing a corrected file updates rather than duplicates.

use sqlx::{Connection, Row};

use super::{coded, new_id, now, Db, StorageError};
use crate::domain::callback::Presence;
use crate::domain::roster::{Exception, Hours, RosterLawyer, Shift};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportSummary {
    pub added: usize,
    pub updated: usize,
}

/// A lawyer as stored, with their roster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LawyerRecord {
    pub id: String,
    pub name: String,
    pub max_cases: u32,
    pub presence: Presence,
    /// When they last accepted a case (fairness: the least recent gets the next offer).
    pub last_assigned_at: Option<String>,
    pub skills: Vec<String>,
    pub regions: Vec<String>,
    pub shifts: Vec<Shift>,
    pub exceptions: Vec<Exception>,
}

impl Db {
    pub async fn import_roster(&self, lawyers: &[RosterLawyer]) -> Result<ImportSummary, StorageError> {
        let mut held = self.pool().connection().await?;
        let mut tx = held.begin().await?;
        let mut summary = ImportSummary { added: 0, updated: 0 };
        for l in lawyers {
            let hash = self.key().lookup_hash(l.phone.e164());
            let at = now();
            let existing: Option<String> = sqlx::query("SELECT id FROM lawyers WHERE phone_hash = $1")
                .bind(&hash)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.try_get("id"))
                .transpose()?;
            let id = match existing {
                Some(id) => {
                    sqlx::query("UPDATE lawyers SET name = $1, max_cases = $2, updated_at = $3 WHERE id = $4")
                        .bind(&l.name)
                        .bind(i64::from(l.max_cases))
                        .bind(&at)
                        .bind(&id)
                        .execute(&mut *tx)
                        .await?;
                    for table in [
                        "lawyer_skills",
                        "lawyer_regions",
                        "lawyer_shifts",
                        "lawyer_shift_exceptions",
                    ] {
                        sqlx::query(&format!("DELETE FROM {table} WHERE lawyer_id = $1"))
                            .bind(&id)
                            .execute(&mut *tx)
                            .await?;
                    }
                    summary.updated += 1;
                    id
                }
                None => {
                    let id = new_id();
                    sqlx::query(
                        "INSERT INTO lawyers (id, name, phone_hash, phone_enc, max_cases, created_at, updated_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $6)",
                    )
                    .bind(&id)
                    .bind(&l.name)
                    .bind(&hash)
                    .bind(self.key().encrypt(l.phone.e164().as_bytes()))
                    .bind(i64::from(l.max_cases))
                    .bind(&at)
                    .execute(&mut *tx)
                    .await?;
                    summary.added += 1;
                    id
                }
            };
            for skill in &l.skills {
                sqlx::query("INSERT INTO lawyer_skills (lawyer_id, skill) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                    .bind(&id)
                    .bind(skill.as_string())
                    .execute(&mut *tx)
                    .await?;
            }
            for region in &l.regions {
                sqlx::query(
                    "INSERT INTO lawyer_regions (lawyer_id, region_code) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                )
                .bind(&id)
                .bind(region)
                .execute(&mut *tx)
                .await?;
            }
            for s in &l.shifts {
                sqlx::query(
                    "INSERT INTO lawyer_shifts (lawyer_id, weekday, start_min, end_min) VALUES ($1, $2, $3, $4)",
                )
                .bind(&id)
                .bind(i64::from(s.weekday))
                .bind(i64::from(s.hours.start_min))
                .bind(i64::from(s.hours.end_min))
                .execute(&mut *tx)
                .await?;
            }
            for e in &l.exceptions {
                sqlx::query(
                    "INSERT INTO lawyer_shift_exceptions (lawyer_id, day, start_min, end_min) VALUES ($1, $2, $3, $4)",
                )
                .bind(&id)
                .bind(e.date.to_string())
                .bind(e.hours.map(|h| i64::from(h.start_min)))
                .bind(e.hours.map(|h| i64::from(h.end_min)))
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(summary)
    }

    /// Every lawyer with their roster, by name.
    pub async fn lawyers(&self) -> Result<Vec<LawyerRecord>, StorageError> {
        self.lawyer_records(None).await
    }

    /// One lawyer with their roster.
    pub async fn lawyer(&self, id: &str) -> Result<Option<LawyerRecord>, StorageError> {
        Ok(self.lawyer_records(Some(id)).await?.pop())
    }

    async fn lawyer_records(&self, id: Option<&str>) -> Result<Vec<LawyerRecord>, StorageError> {
        let rows = sqlx::query(
            "SELECT id, name, max_cases, presence, last_assigned_at FROM lawyers
             WHERE (CAST($1 AS TEXT) IS NULL OR id = $1) ORDER BY name, id",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let id: String = r.try_get("id")?;
            let strings = |sql: &'static str| {
                let id = id.clone();
                async move {
                    sqlx::query(sql)
                        .bind(id)
                        .fetch_all(self.pool())
                        .await?
                        .iter()
                        .map(|r| r.try_get::<String, _>(0))
                        .collect::<Result<Vec<_>, _>>()
                }
            };
            let skills = strings("SELECT skill FROM lawyer_skills WHERE lawyer_id = $1 ORDER BY skill").await?;
            let regions =
                strings("SELECT region_code FROM lawyer_regions WHERE lawyer_id = $1 ORDER BY region_code").await?;
            let shifts = sqlx::query(
                "SELECT weekday, start_min, end_min FROM lawyer_shifts WHERE lawyer_id = $1 ORDER BY weekday, start_min",
            )
            .bind(&id)
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(|s| {
                Ok(Shift {
                    weekday: u32::try_from(s.try_get::<i64, _>("weekday")?).unwrap_or(0),
                    hours: hours(s.try_get("start_min")?, s.try_get("end_min")?),
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
            let exceptions = sqlx::query(
                "SELECT day, start_min, end_min FROM lawyer_shift_exceptions WHERE lawyer_id = $1 ORDER BY day",
            )
            .bind(&id)
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(|e| {
                let day: String = e.try_get("day")?;
                let start: Option<i64> = e.try_get("start_min")?;
                let end: Option<i64> = e.try_get("end_min")?;
                Ok(Exception {
                    date: day.parse().map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
                    hours: start.zip(end).map(|(s, e)| hours(s, e)),
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
            out.push(LawyerRecord {
                max_cases: u32::try_from(r.try_get::<i64, _>("max_cases")?).unwrap_or(0),
                presence: coded(&r, "presence", Presence::parse)?,
                last_assigned_at: r.try_get("last_assigned_at")?,
                name: r.try_get("name")?,
                id,
                skills,
                regions,
                shifts,
                exceptions,
            });
        }
        Ok(out)
    }
}

fn hours(start: i64, end: i64) -> Hours {
    Hours {
        start_min: u32::try_from(start).unwrap_or(0),
        end_min: u32::try_from(end).unwrap_or(0),
    }
}
