//! `last_active_at` and `last_active_ip` of the three kinds of sessions,
//! written in batches by the server's activity tracker.

use chrono::{DateTime, Utc};
use ulid::Ulid;

use super::{accessor, on_conn, Write};
use crate::{
    types::{to_uuid, Timestamp},
    StorageError,
};

/// Which table a session id belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionKind {
    OAuth2,
    Compat,
    Browser,
    Personal,
}

impl SessionKind {
    fn statement(self) -> &'static str {
        // The time only moves forward; an unknown IP keeps the stored one.
        match self {
            Self::OAuth2 => {
                "UPDATE oauth2_sessions SET last_active_at = $1,
                   last_active_ip = COALESCE($2, last_active_ip)
                 WHERE oauth2_session_id = $3
                   AND (last_active_at IS NULL OR last_active_at < $1)"
            }
            Self::Compat => {
                "UPDATE compat_sessions SET last_active_at = $1,
                   last_active_ip = COALESCE($2, last_active_ip)
                 WHERE compat_session_id = $3
                   AND (last_active_at IS NULL OR last_active_at < $1)"
            }
            Self::Personal => {
                "UPDATE personal_sessions SET last_active_at = $1,
                   last_active_ip = COALESCE($2, last_active_ip)
                 WHERE personal_session_id = $3
                   AND (last_active_at IS NULL OR last_active_at < $1)"
            }
            Self::Browser => {
                "UPDATE user_sessions SET last_active_at = $1,
                   last_active_ip = COALESCE($2, last_active_ip)
                 WHERE user_session_id = $3
                   AND (last_active_at IS NULL OR last_active_at < $1)"
            }
        }
    }
}

accessor! {
    /// Session activity, across the three session tables.
    SessionActivity, session_activity
}

impl SessionActivity<'_, Write> {
    /// Records that the session was used at `at` (from `ip`); an older
    /// time than the stored one changes nothing.
    pub async fn touch(
        &mut self,
        kind: SessionKind,
        id: Ulid,
        at: DateTime<Utc>,
        ip: Option<&str>,
    ) -> Result<(), StorageError> {
        on_conn!(self, |conn| {
            sqlx::query(kind.statement())
                .bind(Timestamp(at))
                .bind(ip)
                .bind(to_uuid(id))
                .execute(conn)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(())
    }
}
