//! Making staff accounts (`hotline user add`): every field checked before anything is stored.

use super::password;
use crate::domain::account::parse_username;
use crate::domain::Role;
use crate::storage::users::{NewUser, User};
use crate::storage::{Db, StorageError};

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("a username is 3 to 32 letters, digits, '.', '_' or '-'")]
    Username,
    #[error("the username {0} is taken")]
    Taken(String),
    #[error("a password needs at least {} characters", password::MIN_LENGTH)]
    WeakPassword,
    #[error("a lawyer account needs --lawyer with the id of a lawyer on the roster (hotline roster list)")]
    Lawyer,
    #[error("a supervisor account needs --region with a prefecture code (6 digits ending in 00)")]
    Region,
    #[error("a display name is needed")]
    Name,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

pub struct Account<'a> {
    pub username: &'a str,
    pub name: &'a str,
    pub role: Role,
    pub password: &'a str,
    pub lawyer_id: Option<&'a str>,
    pub region: Option<&'a str>,
}

pub async fn add(db: &Db, a: &Account<'_>) -> Result<User, AccountError> {
    let username = parse_username(a.username).ok_or(AccountError::Username)?;
    if a.name.trim().is_empty() {
        return Err(AccountError::Name);
    }
    if a.password.chars().count() < password::MIN_LENGTH {
        return Err(AccountError::WeakPassword);
    }
    let lawyer_id = match a.role {
        Role::Lawyer => {
            let id = a.lawyer_id.ok_or(AccountError::Lawyer)?;
            if db.lawyer(id).await?.is_none() {
                return Err(AccountError::Lawyer);
            }
            Some(id)
        }
        _ => None,
    };
    let region = match a.role {
        Role::Supervisor => {
            let code = a.region.ok_or(AccountError::Region)?;
            let ok = code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) && code.ends_with("00");
            if !ok {
                return Err(AccountError::Region);
            }
            Some(code)
        }
        _ => None,
    };
    let owned = a.password.to_owned();
    let hash = tokio::task::spawn_blocking(move || password::hash(&owned))
        .await
        .unwrap_or_default();
    db.add_user(&NewUser {
        username: &username,
        display_name: a.name.trim(),
        password_hash: &hash,
        role: a.role,
        lawyer_id,
        region_code: region,
    })
    .await?
    .ok_or(AccountError::Taken(username))
}
