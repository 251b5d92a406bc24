//! Staff accounts. Passwords are argon2id hashes; sessions and tokens are in `sessions.rs`.

use sqlx::Row;

use super::{is_unique_violation, new_id, now, Db, StorageError};
use crate::domain::Role;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: Role,
    pub lawyer_id: Option<String>,
    pub region_code: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub password_hash: &'a str,
    pub role: Role,
    pub lawyer_id: Option<&'a str>,
    pub region_code: Option<&'a str>,
}

pub(super) const COLUMNS: &str =
    "u.id, u.username, u.display_name, u.password_hash, u.role, u.lawyer_id, u.region_code";

impl Db {
    /// Adds an account; `None` if the username is taken.
    pub async fn add_user(&self, new: &NewUser<'_>) -> Result<Option<User>, StorageError> {
        let id = new_id();
        let result = sqlx::query(
            "INSERT INTO users (id, username, display_name, password_hash, role, lawyer_id, region_code, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&id)
        .bind(new.username)
        .bind(new.display_name)
        .bind(new.password_hash)
        .bind(new.role.as_str())
        .bind(new.lawyer_id)
        .bind(new.region_code)
        .bind(now())
        .execute(self.pool())
        .await;
        match result {
            Ok(_) => self.user_by_id(&id).await,
            Err(e) if is_unique_violation(&e) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn user_by_id(&self, id: &str) -> Result<Option<User>, StorageError> {
        self.one_user(&format!("SELECT {COLUMNS} FROM users u WHERE u.id = $1"), id)
            .await
    }

    pub async fn user_by_username(&self, username: &str) -> Result<Option<User>, StorageError> {
        self.one_user(
            &format!("SELECT {COLUMNS} FROM users u WHERE u.username = $1"),
            username,
        )
        .await
    }

    /// The account a lawyer's roster entry belongs to.
    pub async fn user_of_lawyer(&self, lawyer_id: &str) -> Result<Option<User>, StorageError> {
        self.one_user(
            &format!("SELECT {COLUMNS} FROM users u WHERE u.lawyer_id = $1"),
            lawyer_id,
        )
        .await
    }

    /// Turns the second factor on with this encrypted secret, or off (None).
    pub async fn set_totp(&self, user_id: &str, stored: Option<Vec<u8>>) -> Result<(), StorageError> {
        sqlx::query("UPDATE users SET totp_enc = $2, totp_step = NULL WHERE id = $1")
            .bind(user_id)
            .bind(stored)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The account's encrypted TOTP secret, if it has a second factor.
    pub async fn totp_of(&self, user_id: &str) -> Result<Option<Vec<u8>>, StorageError> {
        let row = sqlx::query("SELECT totp_enc FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(self.pool())
            .await?;
        Ok(row
            .map(|r| r.try_get::<Option<Vec<u8>>, _>("totp_enc"))
            .transpose()?
            .flatten())
    }

    /// Takes a code's time step for the account, once: false if this step or a later one was
    /// already used (a replayed code), also when two sign-ins race with the same code.
    pub async fn use_totp_step(&self, user_id: &str, step: i64) -> Result<bool, StorageError> {
        let done =
            sqlx::query("UPDATE users SET totp_step = $2 WHERE id = $1 AND (totp_step IS NULL OR totp_step < $2)")
                .bind(user_id)
                .bind(step)
                .execute(self.pool())
                .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn one_user(&self, sql: &str, value: &str) -> Result<Option<User>, StorageError> {
        let row = sqlx::query(sql).bind(value).fetch_optional(self.pool()).await?;
        row.map(|r| user(&r)).transpose()
    }
}

pub(super) fn user(r: &sqlx::any::AnyRow) -> Result<User, StorageError> {
    let role: String = r.try_get("role")?;
    Ok(User {
        id: r.try_get("id")?,
        username: r.try_get("username")?,
        display_name: r.try_get("display_name")?,
        password_hash: r.try_get("password_hash")?,
        role: Role::parse(&role).ok_or_else(|| StorageError::Sql(sqlx::Error::Protocol(format!("role {role}"))))?,
        lawyer_id: r.try_get("lawyer_id")?,
        region_code: r.try_get("region_code")?,
    })
}
