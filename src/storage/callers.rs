//! Callers: one row per phone number, the number encrypted and found by its keyed hash.

use sqlx::Row;

use super::batch::Statement;
use super::{new_id, now, Db, StorageError};
use crate::domain::{ConsultationStatus, PhoneNumber};
use crate::ivr::Profile;
use crate::speech::SpeechRate;

/// A caller as a call finds them: who, how they like to be spoken to, the ticket of their
/// newest consultation that is not closed, and whether they have called the hotline before.
#[derive(Debug, Clone)]
pub struct CallerOnRecord {
    pub id: String,
    pub profile: Profile,
    pub open_ticket: Option<String>,
    pub called_before: bool,
}

impl Db {
    /// The caller's id, creating the caller on first contact.
    pub async fn upsert_caller(&self, phone: &PhoneNumber) -> Result<String, StorageError> {
        Ok(self.caller_arrives(phone).await?.id)
    }

    /// The caller on record, created on first contact, in one statement: a call's first turn
    /// needs all of it.
    pub async fn caller_arrives(&self, phone: &PhoneNumber) -> Result<CallerOnRecord, StorageError> {
        let done = self.run_together(&[self.caller_upsert(phone, "")]).await?;
        on_record(&done[0].rows)
    }

    /// The upsert [`Db::caller_arrives`] runs, to send with others; its rows are read by
    /// [`on_record`]. A caller has called before when an earlier call of theirs got past its
    /// first turn (they answered the menu, so they heard the welcome); `this_call`, the call
    /// being answered, does not count (a status report may have recorded it first).
    pub(super) fn caller_upsert(&self, phone: &PhoneNumber, this_call: &str) -> Statement {
        Statement::new(
            "INSERT INTO callers (id, phone_hash, phone_enc, created_at, last_seen_at) VALUES ($1, $2, $3, $4, $4)
             ON CONFLICT (phone_hash) DO UPDATE SET last_seen_at = excluded.last_seen_at
             RETURNING id, speech_rate, long_timeouts, keypad_only, sms_follow_up,
               (SELECT c.ticket FROM consultations c WHERE c.caller_id = callers.id AND c.status <> $5
                ORDER BY c.created_at DESC, c.id LIMIT 1) AS open_ticket,
               CAST(CASE WHEN EXISTS (SELECT 1 FROM calls k WHERE k.caller_id = callers.id
                 AND k.direction = 'inbound' AND k.ivr_turn >= 2 AND k.call_sid <> $6) THEN 1 ELSE 0 END AS BIGINT) AS called_before",
            vec![
                new_id().into(),
                self.key().lookup_hash(phone.e164()).into(),
                self.key().encrypt(phone.e164().as_bytes()).into(),
                now().into(),
                ConsultationStatus::Closed.as_str().into(),
                this_call.into(),
            ],
        )
    }

    /// The caller's phone number, decrypted.
    pub async fn caller_phone(&self, caller_id: &str) -> Result<Option<String>, StorageError> {
        let row = sqlx::query("SELECT phone_enc FROM callers WHERE id = $1")
            .bind(caller_id)
            .fetch_optional(self.pool())
            .await?;
        match row {
            None => Ok(None),
            Some(row) => {
                let sealed: Vec<u8> = row.try_get("phone_enc")?;
                Ok(Some(self.key().decrypt_string(&sealed)?))
            }
        }
    }

    /// The caller's accessibility profile, as remembered from earlier calls (R2, R4).
    pub async fn caller_profile(&self, caller_id: &str) -> Result<Profile, StorageError> {
        let row =
            sqlx::query("SELECT speech_rate, long_timeouts, keypad_only, sms_follow_up FROM callers WHERE id = $1")
                .bind(caller_id)
                .fetch_optional(self.pool())
                .await?;
        let Some(row) = row else { return Ok(Profile::default()) };
        profile(&row)
    }

    pub async fn set_caller_profile(&self, caller_id: &str, profile: &Profile) -> Result<(), StorageError> {
        sqlx::query(
            "UPDATE callers SET speech_rate = $1, long_timeouts = $2, keypad_only = $3, sms_follow_up = $4 WHERE id = $5",
        )
        .bind(profile.rate.as_str())
        .bind(i64::from(profile.long_timeouts))
        .bind(i64::from(profile.keypad_only))
        .bind(i64::from(profile.sms_follow_up))
        .bind(caller_id)
        .execute(self.pool())
        .await?;
        Ok(())
    }
}

/// The caller the upsert returned.
pub(super) fn on_record(rows: &[sqlx::any::AnyRow]) -> Result<CallerOnRecord, StorageError> {
    let row = rows.first().ok_or(StorageError::Sql(sqlx::Error::RowNotFound))?;
    Ok(CallerOnRecord {
        id: row.try_get("id")?,
        profile: profile(row)?,
        open_ticket: row.try_get("open_ticket")?,
        called_before: row.try_get::<i64, _>("called_before")? != 0,
    })
}

/// The speech settings of a caller's row.
fn profile(row: &sqlx::any::AnyRow) -> Result<Profile, StorageError> {
    let rate: String = row.try_get("speech_rate")?;
    let flag = |name: &str| -> Result<bool, StorageError> { Ok(row.try_get::<i64, _>(name)? != 0) };
    Ok(Profile {
        rate: SpeechRate::parse(&rate).unwrap_or_default(),
        long_timeouts: flag("long_timeouts")?,
        keypad_only: flag("keypad_only")?,
        sms_follow_up: flag("sms_follow_up")?,
    })
}
