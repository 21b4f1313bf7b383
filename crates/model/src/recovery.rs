//! Password recovery: a request for an address (the session) and the
//! tickets mailed for it, one per user with that address. A ticket is a
//! 32-character random string in the link; only its digest is stored.

use chrono::{DateTime, Duration, Utc};
use ulid::Ulid;

/// How long a mailed recovery link works (MAS: 10 minutes).
pub const RECOVERY_TICKET_LIFETIME: Duration = Duration::minutes(10);

/// The length of a ticket (MAS: 32 alphanumerics).
pub const RECOVERY_TICKET_LEN: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoverySession {
    pub id: Ulid,
    pub email: String,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    /// The language of the page the request came from, for the email.
    pub locale: String,
    pub created_at: DateTime<Utc>,
    /// When one of its tickets set a new password; its other tickets stop
    /// working then.
    pub consumed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryTicket {
    pub id: Ulid,
    pub session_id: Ulid,
    pub user_email_id: Ulid,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl RecoveryTicket {
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        now >= self.expires_at
    }
}
