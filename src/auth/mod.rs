//! Staff authentication and authorisation: argon2id passwords, console sessions (a random
//! cookie, its SHA-256 in SQL, a CSRF token per session), API bearer tokens, login throttling
//! in Redis with device cookies, and [`Staff`], the signed-in account every console page and API call acts as.

pub mod accounts;
pub mod device;
pub mod limit;
pub mod login;
pub mod password;
pub mod secret;
pub mod totp;

use crate::domain::Role;
use crate::storage::users::User;

/// Who is signed in, and what their role lets them see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staff {
    pub id: String,
    pub username: String,
    pub name: String,
    pub role: Role,
    /// A lawyer account's roster entry.
    pub lawyer_id: Option<String>,
    /// A supervisor's prefecture.
    pub region: Option<String>,
}

impl From<User> for Staff {
    fn from(u: User) -> Self {
        Self {
            id: u.id,
            username: u.username,
            name: u.display_name,
            role: u.role,
            lawyer_id: u.lawyer_id,
            region: u.region_code,
        }
    }
}

impl Staff {
    /// The roster entry of a lawyer account (a lawyer account without one can do nothing).
    pub fn lawyer(&self) -> Option<&str> {
        (self.role == Role::Lawyer)
            .then_some(self.lawyer_id.as_deref())
            .flatten()
    }

    /// Whether a case or queue entry of this prefecture is within a supervisor's or admin's view.
    /// One whose place is not known yet is the `default_prefecture` supervisors'.
    pub fn oversees(&self, prefecture: Option<&str>, default_prefecture: &str) -> bool {
        match self.role {
            Role::Admin => true,
            Role::Supervisor => {
                self.region.is_some() && self.region.as_deref() == Some(prefecture.unwrap_or(default_prefecture))
            }
            Role::Lawyer => false,
        }
    }

    /// Supervisors and admins edit rosters.
    pub fn manages(&self) -> bool {
        matches!(self.role, Role::Supervisor | Role::Admin)
    }
}
