//! Browser sessions: a person logged in to mxauth's own pages, and each time
//! they proved who they are in that session (for `auth_time` and re-auth).

use chrono::{DateTime, Utc};
use ulid::Ulid;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserSession {
    pub id: Ulid,
    pub user_id: Ulid,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub user_agent: Option<String>,
    pub last_active_at: Option<DateTime<Utc>>,
    pub last_active_ip: Option<String>,
}

impl BrowserSession {
    pub fn is_active(&self) -> bool {
        self.finished_at.is_none()
    }
}

/// One authentication inside a browser session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authentication {
    pub id: Ulid,
    pub browser_session_id: Ulid,
    pub created_at: DateTime<Utc>,
    /// The password row used, for password logins.
    pub user_password_id: Option<Ulid>,
}
