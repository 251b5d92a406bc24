//! Consultations: written here first, then queued in Redis (see the `routing` module).

use sqlx::Row;

use super::{coded, is_unique_violation, new_id, now, Db, StorageError};
use crate::domain::legal_aid::Priority;
use crate::domain::{Channel, ConsultationStatus, Ticket};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consultation {
    pub id: String,
    pub ticket: Ticket,
    pub caller_id: String,
    pub channel: Channel,
    pub status: ConsultationStatus,
    pub priority: Priority,
    pub matter: Option<String>,
    pub prefecture: Option<String>,
    pub county: Option<String>,
    pub urgent: bool,
    pub created_at: String,
}

/// What the caller said the consultation is about; unknown parts stay as they were.
#[derive(Debug, Clone, Default)]
pub struct Details<'a> {
    pub matter: Option<&'a str>,
    pub prefecture: Option<&'a str>,
    pub county: Option<&'a str>,
}

/// A consultation to open.
#[derive(Debug, Clone)]
pub struct NewConsultation<'a> {
    /// What creates it, so that a retried webhook finds the same consultation.
    pub origin_key: &'a str,
    pub caller_id: &'a str,
    pub call_sid: Option<&'a str>,
    pub channel: Channel,
}

pub(super) const COLUMNS: &str =
    "id, ticket, caller_id, channel, status, priority, matter, prefecture, county, urgent, created_at";

impl Db {
    /// Opens a consultation waiting for a callback, or returns the one this origin opened
    /// before. The flag says whether it is new.
    pub async fn open_consultation(&self, new: &NewConsultation<'_>) -> Result<(Consultation, bool), StorageError> {
        if let Some(existing) = self.consultation_by_origin(new.origin_key).await? {
            return Ok((existing, false));
        }
        // A fresh random ticket collides with an existing one about once in 10^8/n tries; try
        // again with another rather than fail the caller.
        for _ in 0..5 {
            let (id, at) = (new_id(), now());
            let result = sqlx::query(
                "INSERT INTO consultations (id, ticket, origin_key, caller_id, call_sid, channel, status, priority, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 'normal', $8, $8)",
            )
            .bind(&id)
            .bind(Ticket::generate().as_str())
            .bind(new.origin_key)
            .bind(new.caller_id)
            .bind(new.call_sid)
            .bind(new.channel.as_str())
            .bind(ConsultationStatus::WaitingCallback.as_str())
            .bind(&at)
            .execute(self.pool())
            .await;
            match result {
                Ok(_) => {}
                Err(e) if is_unique_violation(&e) => {}
                Err(e) => return Err(e.into()),
            }
            // Either ours, or a concurrent delivery of the same webhook won the race: both fine.
            if let Some(row) = self.consultation_by_origin(new.origin_key).await? {
                let created = row.id == id;
                return Ok((row, created));
            }
        }
        Err(StorageError::Sql(sqlx::Error::Protocol(
            "no free ticket number after 5 tries".into(),
        )))
    }

    /// The person's open consultation about this matter (or one whose matter is not known
    /// yet, or their latest open one when `matter` is not known), else a new one: one case per
    /// person and matter, whichever way they reach us. A second matter is a new consultation
    /// with its own ticket, linked to the same person. The flag says whether it is new.
    pub async fn consultation_for(
        &self,
        new: &NewConsultation<'_>,
        matter: Option<&str>,
    ) -> Result<(Consultation, bool), StorageError> {
        if let Some(existing) = self.consultation_by_origin(new.origin_key).await? {
            return Ok((existing, false));
        }
        let open = self.open_consultations_of(new.caller_id).await?;
        let same = open
            .into_iter()
            .find(|c| matter.is_none() || c.matter.is_none() || c.matter.as_deref() == matter);
        match same {
            // Every callback failed, and now they are back: waiting again, attempts afresh.
            Some(open) if open.status == ConsultationStatus::Unreachable => {
                sqlx::query(
                    "UPDATE consultations SET status = $1, callback_attempts = 0, updated_at = $2 WHERE id = $3",
                )
                .bind(ConsultationStatus::WaitingCallback.as_str())
                .bind(now())
                .bind(&open.id)
                .execute(self.pool())
                .await?;
                let reopened = self.consultation_by_id(&open.id).await?.unwrap_or(open);
                Ok((reopened, false))
            }
            Some(open) => Ok((open, false)),
            None => self.open_consultation(new).await,
        }
    }

    pub async fn consultation_by_origin(&self, origin_key: &str) -> Result<Option<Consultation>, StorageError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM consultations WHERE origin_key = $1"))
            .bind(origin_key)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| consultation(&r)).transpose()
    }

    pub async fn consultation_by_id(&self, id: &str) -> Result<Option<Consultation>, StorageError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM consultations WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| consultation(&r)).transpose()
    }

    pub async fn consultation_by_ticket(&self, ticket: &Ticket) -> Result<Option<Consultation>, StorageError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM consultations WHERE ticket = $1"))
            .bind(ticket.as_str())
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| consultation(&r)).transpose()
    }

    /// The caller's most recent consultation that is not closed, if any.
    pub async fn open_consultation_of(&self, caller_id: &str) -> Result<Option<Consultation>, StorageError> {
        Ok(self.open_consultations_of(caller_id).await?.into_iter().next())
    }

    /// The caller's consultations that are not closed, newest first.
    pub async fn open_consultations_of(&self, caller_id: &str) -> Result<Vec<Consultation>, StorageError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM consultations WHERE caller_id = $1 AND status <> $2 ORDER BY created_at DESC, id"
        ))
        .bind(caller_id)
        .bind(ConsultationStatus::Closed.as_str())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(consultation).collect()
    }

    /// The person's consultations, newest first (what `progress` reads out).
    pub async fn consultations_of(&self, caller_id: &str, limit: i64) -> Result<Vec<Consultation>, StorageError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM consultations WHERE caller_id = $1 ORDER BY created_at DESC, id LIMIT $2"
        ))
        .bind(caller_id)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(consultation).collect()
    }

    /// Fills in what the consultation is about; a later contact adds to it, never erases.
    pub async fn add_details(&self, id: &str, d: &Details<'_>) -> Result<(), StorageError> {
        sqlx::query(
            "UPDATE consultations SET matter = COALESCE($1, matter), prefecture = COALESCE($2, prefecture),
                 county = COALESCE($3, county), updated_at = $4 WHERE id = $5",
        )
        .bind(d.matter)
        .bind(d.prefecture)
        .bind(d.county)
        .bind(now())
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Raises (never lowers) the callback priority, and sets the Art. 44 urgency flag.
    pub async fn raise_priority(&self, id: &str, priority: Priority, urgent: bool) -> Result<(), StorageError> {
        let current = sqlx::query("SELECT priority FROM consultations WHERE id = $1")
            .bind(id)
            .fetch_one(self.pool())
            .await?;
        let current: String = current.try_get("priority")?;
        let keep = Priority::parse(&current).is_some_and(|p| p <= priority);
        sqlx::query(
            "UPDATE consultations SET priority = $1, urgent = CASE WHEN $2 = 1 THEN 1 ELSE urgent END, updated_at = $3
             WHERE id = $4",
        )
        .bind(if keep { current.as_str() } else { priority.as_str() })
        .bind(i64::from(urgent))
        .bind(now())
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Art. 23: the caller was told of their right to apply, its conditions and procedure.
    pub async fn record_art23_notice(&self, id: &str) -> Result<(), StorageError> {
        sqlx::query("UPDATE consultations SET art23_notice_at = COALESCE(art23_notice_at, $1) WHERE id = $2")
            .bind(now())
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Every consultation waiting for a callback, oldest first: what the Redis queue must hold.
    pub async fn waiting_consultations(&self) -> Result<Vec<Consultation>, StorageError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM consultations WHERE status = $1 ORDER BY created_at, id"
        ))
        .bind(ConsultationStatus::WaitingCallback.as_str())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(consultation).collect()
    }
}

pub(super) fn consultation(r: &sqlx::any::AnyRow) -> Result<Consultation, StorageError> {
    let ticket: String = r.try_get("ticket")?;
    Ok(Consultation {
        id: r.try_get("id")?,
        ticket: Ticket::parse(&ticket).map_err(|e| StorageError::Sql(sqlx::Error::Decode(Box::new(e))))?,
        caller_id: r.try_get("caller_id")?,
        channel: coded(r, "channel", Channel::parse)?,
        status: coded(r, "status", ConsultationStatus::parse)?,
        priority: coded(r, "priority", Priority::parse)?,
        matter: r.try_get("matter")?,
        prefecture: r.try_get("prefecture")?,
        county: r.try_get("county")?,
        urgent: r.try_get::<i64, _>("urgent")? != 0,
        created_at: r.try_get("created_at")?,
    })
}
