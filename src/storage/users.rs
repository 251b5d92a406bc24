//! Staff accounts, their console sessions and API tokens. Passwords are argon2id hashes;
//! sessions and tokens are stored as SHA-256 hashes of the secret the browser or client holds.

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

const COLUMNS: &str = "u.id, u.username, u.display_name, u.password_hash, u.role, u.lawyer_id, u.region_code";

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

    async fn one_user(&self, sql: &str, value: &str) -> Result<Option<User>, StorageError> {
        let row = sqlx::query(sql).bind(value).fetch_optional(self.pool()).await?;
        row.map(|r| user(&r)).transpose()
    }

    pub async fn add_session(
        &self,
        token_hash: &str,
        user_id: &str,
        csrf: &str,
        expires_at: &str,
    ) -> Result<(), StorageError> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(csrf)
        .bind(expires_at)
        .bind(now())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The account and CSRF token of a session that has not expired.
    pub async fn session(&self, token_hash: &str) -> Result<Option<(User, String)>, StorageError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS}, s.csrf FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = $1 AND s.expires_at > $2"
        ))
        .bind(token_hash)
        .bind(now())
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| Ok((user(&r)?, r.try_get("csrf")?))).transpose()
    }

    /// Logs a session out; expired ones go with it.
    pub async fn end_session(&self, token_hash: &str) -> Result<(), StorageError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1 OR expires_at <= $2")
            .bind(token_hash)
            .bind(now())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn add_api_token(&self, token_hash: &str, user_id: &str, label: &str) -> Result<(), StorageError> {
        sqlx::query("INSERT INTO api_tokens (token_hash, user_id, label, created_at) VALUES ($1, $2, $3, $4)")
            .bind(token_hash)
            .bind(user_id)
            .bind(label)
            .bind(now())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn user_by_api_token(&self, token_hash: &str) -> Result<Option<User>, StorageError> {
        self.one_user(
            &format!("SELECT {COLUMNS} FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1"),
            token_hash,
        )
        .await
    }
}

fn user(r: &sqlx::any::AnyRow) -> Result<User, StorageError> {
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
