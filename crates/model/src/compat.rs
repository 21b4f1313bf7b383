//! Sessions of the legacy Matrix login API (`/_matrix/client/*/login`),
//! used by bots, bridges and older clients, and their tokens.

use chrono::{DateTime, Utc};
use ulid::Ulid;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompatSession {
    pub id: Ulid,
    pub user_id: Ulid,
    pub device_id: Option<String>,
    pub browser_session_id: Option<Ulid>,
    /// Whether the session carries `urn:synapse:admin:*` (set for imported
    /// Synapse admins).
    pub is_synapse_admin: bool,
    pub user_agent: Option<String>,
    /// When and from where the session was last used, as far as known
    /// (imported from Synapse's device list by syn2mas).
    pub last_active_at: Option<DateTime<Utc>>,
    pub last_active_ip: Option<String>,
    pub human_name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl CompatSession {
    pub fn is_active(&self) -> bool {
        self.finished_at.is_none()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompatAccessToken {
    pub id: Ulid,
    pub session_id: Ulid,
    pub created_at: DateTime<Utc>,
    /// `None`: the token never expires (logins without `refresh_token`).
    pub expires_at: Option<DateTime<Utc>>,
}

impl CompatAccessToken {
    pub fn is_valid(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_none_or(|exp| now < exp)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompatRefreshToken {
    pub id: Ulid,
    pub session_id: Ulid,
    pub access_token_id: Option<Ulid>,
    pub created_at: DateTime<Utc>,
    pub consumed_at: Option<DateTime<Utc>>,
}
