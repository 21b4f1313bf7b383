//! Personal access tokens (`mpt_…`): Matrix credentials an admin issues
//! for a user (bots, scripts), with a name, a scope and an optional
//! expiry. A personal session holds the scope and the user it acts as;
//! its token can be regenerated (the old one stops) or revoked with the
//! session.

use chrono::{DateTime, Utc};
use ulid::Ulid;

use crate::Scope;

/// Who issued a personal session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonalOwner {
    User(Ulid),
    Client(Ulid),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonalSession {
    pub id: Ulid,
    pub owner: PersonalOwner,
    /// The user its tokens act as.
    pub actor_user_id: Ulid,
    pub human_name: String,
    pub scope: Scope,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_active_at: Option<DateTime<Utc>>,
    pub last_active_ip: Option<String>,
}

impl PersonalSession {
    pub fn is_active(&self) -> bool {
        self.revoked_at.is_none()
    }
}

/// One token of a personal session, as stored (its digest stays in the
/// database).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonalAccessToken {
    pub id: Ulid,
    pub session_id: Ulid,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl PersonalAccessToken {
    /// Not revoked and not past its expiry.
    pub fn is_valid(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| now < at)
    }
}
