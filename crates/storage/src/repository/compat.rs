//! `compat_sessions`, `compat_access_tokens` and `compat_refresh_tokens`:
//! the legacy login API's sessions and tokens (digests only).

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use mxauth_model::{
    compat::{CompatAccessToken, CompatRefreshToken, CompatSession},
    User,
};
use ulid::Ulid;
use uuid::Uuid;

use super::{accessor, on_conn, users::USERS, Mode, Table, Write};
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
    last_active_at: Option<Timestamp>,
    last_active_ip: Option<String>,
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
            last_active_at: r.last_active_at.map(|t| t.0),
            last_active_ip: r.last_active_ip,
            human_name: r.human_name,
            created_at: r.created_at.0,
            finished_at: r.finished_at.map(|t| t.0),
        }
    }
}

/// `compat_sessions`, in the order of [`SessionRow`].
const COMPAT_SESSIONS: Table = Table {
    name: "compat_sessions",
    alias: "s",
    columns: &[
        "compat_session_id",
        "user_id",
        "device_id",
        "user_session_id",
        "is_synapse_admin",
        "user_agent",
        "last_active_at",
        "last_active_ip",
        "human_name",
        "created_at",
        "finished_at",
    ],
};

/// `compat_access_tokens`, as the lookup join reads them.
const COMPAT_ACCESS_TOKENS: Table = Table {
    name: "compat_access_tokens",
    alias: "t",
    columns: &[
        "compat_access_token_id",
        "compat_session_id",
        "created_at",
        "expires_at",
    ],
};

/// `compat_refresh_tokens`, in the order of [`RefreshRow`].
const COMPAT_REFRESH_TOKENS: Table = Table {
    name: "compat_refresh_tokens",
    alias: "",
    columns: &[
        "compat_refresh_token_id",
        "compat_session_id",
        "compat_access_token_id",
        "created_at",
        "consumed_at",
    ],
};

#[derive(sqlx::FromRow)]
struct LookupRow {
    t_compat_access_token_id: Uuid,
    t_created_at: Timestamp,
    t_expires_at: Option<Timestamp>,
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

impl From<RefreshRow> for CompatRefreshToken {
    fn from(r: RefreshRow) -> Self {
        CompatRefreshToken {
            id: to_ulid(r.compat_refresh_token_id),
            session_id: to_ulid(r.compat_session_id),
            access_token_id: r.compat_access_token_id.map(to_ulid),
            created_at: r.created_at.0,
            consumed_at: r.consumed_at.map(|t| t.0),
        }
    }
}

accessor! {
    /// The `compat_sessions` table: sessions of the legacy login API.
    CompatSessions, compat_sessions
}

accessor! {
    /// The `compat_access_tokens` table (digests only).
    CompatAccessTokens, compat_access_tokens
}

accessor! {
    /// The `compat_refresh_tokens` table (digests only).
    CompatRefreshTokens, compat_refresh_tokens
}

impl<M: Mode> CompatSessions<'_, M> {
    /// A page of the sessions matching `filter` (the admin API's list).
    pub async fn page(
        &mut self,
        filter: &super::pagination::SessionFilter,
        pagination: super::pagination::Pagination,
    ) -> Result<super::pagination::Page<CompatSession>, StorageError> {
        let page: super::pagination::Page<SessionRow> = super::pagination::page(
            self.tx,
            &COMPAT_SESSIONS,
            "compat_session_id",
            &filter.conditions("s."),
            pagination,
        )
        .await?;
        Ok(page.map(CompatSession::from))
    }

    /// How many sessions match `filter`.
    pub async fn count_matching(
        &mut self,
        filter: &super::pagination::SessionFilter,
    ) -> Result<u64, StorageError> {
        super::pagination::count(self.tx, &COMPAT_SESSIONS, &filter.conditions("s.")).await
    }

    pub async fn find(&mut self, id: Ulid) -> Result<Option<CompatSession>, StorageError> {
        let row: Option<SessionRow> = COMPAT_SESSIONS
            .find_where(self.tx, "s.compat_session_id = $1", to_uuid(id))
            .await?;
        Ok(row.map(CompatSession::from))
    }

    /// The user's active compat sessions, optionally only those of one device.
    pub async fn active(
        &mut self,
        user: &User,
        device_id: Option<&str>,
    ) -> Result<Vec<CompatSession>, StorageError> {
        let sql = COMPAT_SESSIONS.select_where(
            "s.user_id = $1 AND s.finished_at IS NULL AND ($2 IS NULL OR s.device_id = $2)
             ORDER BY s.compat_session_id",
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

    /// The active sessions a legacy SSO login started from a browser session.
    pub async fn active_of_browser_session(
        &mut self,
        browser_session_id: Ulid,
    ) -> Result<Vec<CompatSession>, StorageError> {
        let rows: Vec<SessionRow> = COMPAT_SESSIONS
            .list_where(
                self.tx,
                "s.user_session_id = $1 AND s.finished_at IS NULL ORDER BY s.compat_session_id",
                to_uuid(browser_session_id),
            )
            .await?;
        Ok(rows.into_iter().map(CompatSession::from).collect())
    }
}

impl CompatSessions<'_, Write> {
    pub async fn add(&mut self, s: &CompatSession) -> Result<(), StorageError> {
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

    /// Ends a session; returns whether it was active.
    pub async fn finish(&mut self, id: Ulid, now: DateTime<Utc>) -> Result<bool, StorageError> {
        self.invalidated
            .push(crate::token_cache::Invalidation::Row(id));
        let changed = self
            .tx
            .exec_at(
                "UPDATE compat_sessions SET finished_at = $1
                 WHERE compat_session_id = $2 AND finished_at IS NULL",
                now,
                id,
            )
            .await?;
        Ok(changed == 1)
    }
}

impl<M: Mode> CompatAccessTokens<'_, M> {
    /// The compat access token with this digest, its session and user, in one
    /// query (introspection's hot path).
    pub async fn lookup(
        &mut self,
        digest: &str,
    ) -> Result<Option<(CompatAccessToken, CompatSession, User)>, StorageError> {
        // Introspection's hot path: the statement is built once per process,
        // not once per request.
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "SELECT {}, {}, {}
                 FROM compat_access_tokens t
                 JOIN compat_sessions s ON s.compat_session_id = t.compat_session_id
                 JOIN users u ON u.user_id = s.user_id
                 WHERE t.access_token_sha256 = $1",
                COMPAT_ACCESS_TOKENS.columns_as("t_"),
                COMPAT_SESSIONS.columns(),
                USERS.columns_as("u_"),
            )
        });
        let row: Option<LookupRow> = on_conn!(self, |conn| {
            sqlx::query_as(SQL.as_str())
                .bind(digest)
                .fetch_optional(conn)
                .await
        })?;
        Ok(row.map(|r| {
            let session = CompatSession::from(r.session);
            let token = CompatAccessToken {
                id: to_ulid(r.t_compat_access_token_id),
                session_id: session.id,
                created_at: r.t_created_at.0,
                expires_at: r.t_expires_at.map(|t| t.0),
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
}

impl CompatAccessTokens<'_, Write> {
    pub async fn add(
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

    /// Expires a compat access token now (after a refresh replaced it).
    pub async fn expire(&mut self, id: Ulid, now: DateTime<Utc>) -> Result<(), StorageError> {
        self.invalidated
            .push(crate::token_cache::Invalidation::Row(id));
        self.tx
            .exec_at(
                "UPDATE compat_access_tokens SET expires_at = $1 WHERE compat_access_token_id = $2",
                now,
                id,
            )
            .await?;
        Ok(())
    }
}

impl<M: Mode> CompatRefreshTokens<'_, M> {
    pub async fn find_by_digest(
        &mut self,
        digest: &str,
    ) -> Result<Option<CompatRefreshToken>, StorageError> {
        let row: Option<RefreshRow> = COMPAT_REFRESH_TOKENS
            .find_where(self.tx, "refresh_token_sha256 = $1", digest.to_owned())
            .await?;
        Ok(row.map(CompatRefreshToken::from))
    }
}

impl CompatRefreshTokens<'_, Write> {
    pub async fn add(
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

    /// Marks a refresh token used. Atomic: only one caller sees `true`.
    pub async fn consume(&mut self, id: Ulid, now: DateTime<Utc>) -> Result<bool, StorageError> {
        let changed = self
            .tx
            .exec_at(
                "UPDATE compat_refresh_tokens SET consumed_at = $1
                 WHERE compat_refresh_token_id = $2 AND consumed_at IS NULL",
                now,
                id,
            )
            .await?;
        Ok(changed == 1)
    }
}
