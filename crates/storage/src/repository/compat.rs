//! `compat_sessions`, `compat_access_tokens` and `compat_refresh_tokens`:
//! the legacy login API's sessions and tokens (digests only).

use chrono::{DateTime, Utc};
use mxauth_model::{
    compat::{CompatAccessToken, CompatRefreshToken, CompatSession},
    User,
};
use ulid::Ulid;
use uuid::Uuid;

use super::{on_conn, Repository};
use crate::{
    types::{to_ulid, to_uuid, Timestamp},
    StorageError,
};

#[derive(sqlx::FromRow)]
struct SessionRow {
    compat_session_id: Uuid,
    user_id: Uuid,
    device_id: Option<String>,
    user_session_id: Option<Uuid>,
    is_synapse_admin: bool,
    user_agent: Option<String>,
    human_name: Option<String>,
    created_at: Timestamp,
    finished_at: Option<Timestamp>,
}

impl From<SessionRow> for CompatSession {
    fn from(r: SessionRow) -> Self {
        CompatSession {
            id: to_ulid(r.compat_session_id),
            user_id: to_ulid(r.user_id),
            device_id: r.device_id,
            browser_session_id: r.user_session_id.map(to_ulid),
            is_synapse_admin: r.is_synapse_admin,
            user_agent: r.user_agent,
            human_name: r.human_name,
            created_at: r.created_at.0,
            finished_at: r.finished_at.map(|t| t.0),
        }
    }
}

const SESSION_COLUMNS: &str = "s.compat_session_id, s.user_id, s.device_id, s.user_session_id,
    s.is_synapse_admin, s.user_agent, s.human_name, s.created_at, s.finished_at";

#[derive(sqlx::FromRow)]
struct LookupRow {
    compat_access_token_id: Uuid,
    token_created_at: Timestamp,
    expires_at: Option<Timestamp>,
    #[sqlx(flatten)]
    session: SessionRow,
    u_username: String,
    u_created_at: Timestamp,
    u_locked_at: Option<Timestamp>,
    u_deactivated_at: Option<Timestamp>,
    u_can_request_admin: bool,
    u_is_guest: bool,
}

#[derive(sqlx::FromRow)]
struct RefreshRow {
    compat_refresh_token_id: Uuid,
    compat_session_id: Uuid,
    compat_access_token_id: Option<Uuid>,
    created_at: Timestamp,
    consumed_at: Option<Timestamp>,
}

impl Repository {
    pub async fn add_compat_session(&mut self, s: &CompatSession) -> Result<(), StorageError> {
        on_conn!(self, |conn| {
            sqlx::query(
                "INSERT INTO compat_sessions
                   (compat_session_id, user_id, device_id, user_session_id, is_synapse_admin,
                    user_agent, human_name, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(to_uuid(s.id))
            .bind(to_uuid(s.user_id))
            .bind(s.device_id.as_deref())
            .bind(s.browser_session_id.map(to_uuid))
            .bind(s.is_synapse_admin)
            .bind(s.user_agent.as_deref())
            .bind(s.human_name.as_deref())
            .bind(Timestamp(s.created_at))
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    pub async fn find_compat_session(
        &mut self,
        id: Ulid,
    ) -> Result<Option<CompatSession>, StorageError> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM compat_sessions s WHERE s.compat_session_id = $1"
        );
        let row: Option<SessionRow> = on_conn!(self, |conn| {
            sqlx::query_as(&sql)
                .bind(to_uuid(id))
                .fetch_optional(conn)
                .await
        })?;
        Ok(row.map(CompatSession::from))
    }

    /// The user's active compat sessions, optionally only those of one device.
    pub async fn active_compat_sessions(
        &mut self,
        user: &User,
        device_id: Option<&str>,
    ) -> Result<Vec<CompatSession>, StorageError> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM compat_sessions s
             WHERE s.user_id = $1 AND s.finished_at IS NULL AND ($2 IS NULL OR s.device_id = $2)
             ORDER BY s.compat_session_id"
        );
        let rows: Vec<SessionRow> = on_conn!(self, |conn| {
            sqlx::query_as(&sql)
                .bind(to_uuid(user.id))
                .bind(device_id)
                .fetch_all(conn)
                .await
        })?;
        Ok(rows.into_iter().map(CompatSession::from).collect())
    }

    /// Ends a session; returns whether it was active.
    pub async fn finish_compat_session(
        &mut self,
        id: Ulid,
        now: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        let changed = self
            .exec_at(
                "UPDATE compat_sessions SET finished_at = $1
                 WHERE compat_session_id = $2 AND finished_at IS NULL",
                now,
                id,
            )
            .await?;
        Ok(changed == 1)
    }

    pub async fn add_compat_access_token(
        &mut self,
        id: Ulid,
        session_id: Ulid,
        digest: &str,
        now: DateTime<Utc>,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<CompatAccessToken, StorageError> {
        on_conn!(self, |conn| {
            sqlx::query(
                "INSERT INTO compat_access_tokens
                   (compat_access_token_id, compat_session_id, access_token_sha256, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(to_uuid(id))
            .bind(to_uuid(session_id))
            .bind(digest)
            .bind(Timestamp(now))
            .bind(expires_at.map(Timestamp))
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(CompatAccessToken {
            id,
            session_id,
            created_at: now,
            expires_at,
        })
    }

    /// The compat access token with this digest, its session and user, in one
    /// query (introspection's hot path).
    pub async fn lookup_compat_access_token(
        &mut self,
        digest: &str,
    ) -> Result<Option<(CompatAccessToken, CompatSession, User)>, StorageError> {
        let sql = format!(
            "SELECT t.compat_access_token_id, t.created_at AS token_created_at, t.expires_at,
                    {SESSION_COLUMNS},
                    u.username AS u_username, u.created_at AS u_created_at, u.locked_at AS u_locked_at,
                    u.deactivated_at AS u_deactivated_at, u.can_request_admin AS u_can_request_admin,
                    u.is_guest AS u_is_guest
             FROM compat_access_tokens t
             JOIN compat_sessions s ON s.compat_session_id = t.compat_session_id
             JOIN users u ON u.user_id = s.user_id
             WHERE t.access_token_sha256 = $1"
        );
        let row: Option<LookupRow> = on_conn!(self, |conn| {
            sqlx::query_as(&sql).bind(digest).fetch_optional(conn).await
        })?;
        Ok(row.map(|r| {
            let session = CompatSession::from(r.session);
            let token = CompatAccessToken {
                id: to_ulid(r.compat_access_token_id),
                session_id: session.id,
                created_at: r.token_created_at.0,
                expires_at: r.expires_at.map(|t| t.0),
            };
            let user = User {
                id: session.user_id,
                username: r.u_username,
                created_at: r.u_created_at.0,
                locked_at: r.u_locked_at.map(|t| t.0),
                deactivated_at: r.u_deactivated_at.map(|t| t.0),
                can_request_admin: r.u_can_request_admin,
                is_guest: r.u_is_guest,
            };
            (token, session, user)
        }))
    }

    pub async fn add_compat_refresh_token(
        &mut self,
        id: Ulid,
        session_id: Ulid,
        access_token_id: Ulid,
        digest: &str,
        now: DateTime<Utc>,
    ) -> Result<CompatRefreshToken, StorageError> {
        on_conn!(self, |conn| {
            sqlx::query(
                "INSERT INTO compat_refresh_tokens
                   (compat_refresh_token_id, compat_session_id, compat_access_token_id,
                    refresh_token_sha256, created_at)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(to_uuid(id))
            .bind(to_uuid(session_id))
            .bind(to_uuid(access_token_id))
            .bind(digest)
            .bind(Timestamp(now))
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(CompatRefreshToken {
            id,
            session_id,
            access_token_id: Some(access_token_id),
            created_at: now,
            consumed_at: None,
        })
    }

    pub async fn find_compat_refresh_token_by_digest(
        &mut self,
        digest: &str,
    ) -> Result<Option<CompatRefreshToken>, StorageError> {
        let row: Option<RefreshRow> = on_conn!(self, |conn| {
            sqlx::query_as(
                "SELECT compat_refresh_token_id, compat_session_id, compat_access_token_id,
                        created_at, consumed_at
                 FROM compat_refresh_tokens WHERE refresh_token_sha256 = $1",
            )
            .bind(digest)
            .fetch_optional(conn)
            .await
        })?;
        Ok(row.map(|r| CompatRefreshToken {
            id: to_ulid(r.compat_refresh_token_id),
            session_id: to_ulid(r.compat_session_id),
            access_token_id: r.compat_access_token_id.map(to_ulid),
            created_at: r.created_at.0,
            consumed_at: r.consumed_at.map(|t| t.0),
        }))
    }

    /// Marks a refresh token used. Atomic: only one caller sees `true`.
    pub async fn consume_compat_refresh_token(
        &mut self,
        id: Ulid,
        now: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        let changed = self
            .exec_at(
                "UPDATE compat_refresh_tokens SET consumed_at = $1
                 WHERE compat_refresh_token_id = $2 AND consumed_at IS NULL",
                now,
                id,
            )
            .await?;
        Ok(changed == 1)
    }

    /// Expires a compat access token now (after a refresh replaced it).
    pub async fn expire_compat_access_token(
        &mut self,
        id: Ulid,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        self.exec_at(
            "UPDATE compat_access_tokens SET expires_at = $1 WHERE compat_access_token_id = $2",
            now,
            id,
        )
        .await?;
        Ok(())
    }
}
