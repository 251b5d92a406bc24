//! SMS conversations: each texter's place in the menu (the flow engine's state, with the steps
//! before it for 返回), sealed because it holds their answers, and their opt-out.

use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::{now, Db, StorageError};
use crate::ivr::CallState;

/// Steps kept for 返回.
const HISTORY: usize = 10;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Conversation {
    pub state: CallState,
    /// Earlier states, the latest last.
    pub history: Vec<CallState>,
}

impl Conversation {
    /// Remembers the current state before a step.
    pub fn push(&mut self) {
        self.history.push(self.state.clone());
        if self.history.len() > HISTORY {
            self.history.remove(0);
        }
    }
}

impl Db {
    pub async fn sms_conversation(&self, caller_id: &str) -> Result<Option<Conversation>, StorageError> {
        let row = sqlx::query("SELECT state_enc FROM sms_conversations WHERE caller_id = $1")
            .bind(caller_id)
            .fetch_optional(self.pool())
            .await?;
        let sealed: Option<Vec<u8>> = match row {
            Some(r) => r.try_get("state_enc")?,
            None => None,
        };
        Ok(sealed
            .map(|s| self.key().decrypt(&s))
            .transpose()?
            .and_then(|plain| serde_json::from_slice(&plain).ok()))
    }

    pub async fn save_sms_conversation(&self, caller_id: &str, c: &Conversation) -> Result<(), StorageError> {
        let sealed = self
            .key()
            .encrypt(&serde_json::to_vec(c).expect("a conversation serialises"));
        sqlx::query(
            "INSERT INTO sms_conversations (caller_id, state_enc, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (caller_id) DO UPDATE SET state_enc = excluded.state_enc, updated_at = excluded.updated_at",
        )
        .bind(caller_id)
        .bind(sealed)
        .bind(now())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// 退订 (true) or 帮助 (false): whether automatic messages go to this person.
    pub async fn set_opted_out(&self, caller_id: &str, opted_out: bool) -> Result<(), StorageError> {
        sqlx::query(
            "INSERT INTO sms_conversations (caller_id, opted_out, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (caller_id) DO UPDATE SET opted_out = excluded.opted_out, updated_at = excluded.updated_at",
        )
        .bind(caller_id)
        .bind(i64::from(opted_out))
        .bind(now())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn is_opted_out(&self, caller_id: &str) -> Result<bool, StorageError> {
        let row = sqlx::query("SELECT opted_out FROM sms_conversations WHERE caller_id = $1")
            .bind(caller_id)
            .fetch_optional(self.pool())
            .await?;
        Ok(match row {
            Some(r) => r.try_get::<i64, _>("opted_out")? != 0,
            None => false,
        })
    }
}
