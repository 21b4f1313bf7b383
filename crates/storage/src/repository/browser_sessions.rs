//! `user_sessions` and `user_session_authentications`: browser sessions.

use chrono::{DateTime, Utc};
use mxauth_model::{
    browser_session::{Authentication, BrowserSession},
    User,
};
use ulid::Ulid;
use uuid::Uuid;

use super::{accessor, on_conn, Mode, Table, Write};
use crate::{
    types::{to_ulid, to_uuid, Timestamp},
    StorageError,
};

#[derive(sqlx::FromRow)]
struct SessionRow {
    user_session_id: Uuid,
    user_id: Uuid,
    created_at: Timestamp,
    finished_at: Option<Timestamp>,
    user_agent: Option<String>,
    last_active_at: Option<Timestamp>,
    last_active_ip: Option<String>,
}

impl From<SessionRow> for BrowserSession {
    fn from(row: SessionRow) -> Self {
        BrowserSession {
            id: to_ulid(row.user_session_id),
            user_id: to_ulid(row.user_id),
            created_at: row.created_at.0,
            finished_at: row.finished_at.map(|t| t.0),
            user_agent: row.user_agent,
            last_active_at: row.last_active_at.map(|t| t.0),
            last_active_ip: row.last_active_ip,
        }
    }
}

/// `user_sessions`, in the order of [`SessionRow`].
const USER_SESSIONS: Table = Table {
    name: "user_sessions",
    alias: "",
    columns: &[
        "user_session_id",
        "user_id",
        "created_at",
        "finished_at",
        "user_agent",
        "last_active_at",
        "last_active_ip",
    ],
};

accessor! {
    /// `user_sessions` and `user_session_authentications`: browser sessions
    /// and the times the person proved who they are in them.
    BrowserSessions, browser_sessions
}

impl<M: Mode> BrowserSessions<'_, M> {
    /// A page of the sessions matching `filter` (the admin API's list).
    pub async fn page(
        &mut self,
        filter: &super::pagination::SessionFilter,
        pagination: super::pagination::Pagination,
    ) -> Result<super::pagination::Page<BrowserSession>, StorageError> {
        let page: super::pagination::Page<SessionRow> = super::pagination::page(
            self.tx,
            &USER_SESSIONS,
            "user_session_id",
            &filter.conditions(""),
            pagination,
        )
        .await?;
        Ok(page.map(BrowserSession::from))
    }

    /// How many sessions match `filter`.
    pub async fn count_matching(
        &mut self,
        filter: &super::pagination::SessionFilter,
    ) -> Result<u64, StorageError> {
        super::pagination::count(self.tx, &USER_SESSIONS, &filter.conditions("")).await
    }

    pub async fn find(&mut self, id: Ulid) -> Result<Option<BrowserSession>, StorageError> {
        let row: Option<SessionRow> = USER_SESSIONS
            .find_where(self.tx, "user_session_id = $1", to_uuid(id))
            .await?;
        Ok(row.map(BrowserSession::from))
    }

    /// The user's browser sessions that have not ended, oldest first (the
    /// account page's list).
    pub async fn active_of_user(
        &mut self,
        user_id: Ulid,
    ) -> Result<Vec<BrowserSession>, StorageError> {
        let rows: Vec<SessionRow> = USER_SESSIONS
            .list_where(
                self.tx,
                "user_id = $1 AND finished_at IS NULL ORDER BY user_session_id",
                to_uuid(user_id),
            )
            .await?;
        Ok(rows.into_iter().map(BrowserSession::from).collect())
    }

    /// When the person last authenticated in this session: OIDC `auth_time`.
    pub async fn last_authentication_at(
        &mut self,
        session_id: Ulid,
    ) -> Result<Option<DateTime<Utc>>, StorageError> {
        let time: Option<Option<Timestamp>> = on_conn!(self, |conn| {
            sqlx::query_scalar(
                "SELECT MAX(created_at) FROM user_session_authentications WHERE user_session_id = $1",
            )
            .bind(to_uuid(session_id))
            .fetch_optional(conn)
            .await
        })?;
        Ok(time.flatten().map(|t| t.0))
    }
}

impl BrowserSessions<'_, Write> {
    pub async fn add(
        &mut self,
        id: Ulid,
        user: &User,
        user_agent: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<BrowserSession, StorageError> {
        on_conn!(self, |conn| {
            sqlx::query(
                "INSERT INTO user_sessions (user_session_id, user_id, created_at, user_agent)
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(to_uuid(id))
            .bind(to_uuid(user.id))
            .bind(Timestamp(now))
            .bind(user_agent)
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(BrowserSession {
            id,
            user_id: user.id,
            created_at: now,
            finished_at: None,
            user_agent: user_agent.map(str::to_owned),
            last_active_at: None,
            last_active_ip: None,
        })
    }

    /// Ends a browser session (logout). Ending it twice keeps the first time.
    pub async fn finish(&mut self, id: Ulid, now: DateTime<Utc>) -> Result<(), StorageError> {
        self.tx
            .exec_at(
                "UPDATE user_sessions SET finished_at = $1
                 WHERE user_session_id = $2 AND finished_at IS NULL",
                now,
                id,
            )
            .await?;
        Ok(())
    }

    /// Records that the person proved who they are in this session.
    pub async fn add_authentication(
        &mut self,
        id: Ulid,
        session: &BrowserSession,
        user_password_id: Option<Ulid>,
        now: DateTime<Utc>,
    ) -> Result<Authentication, StorageError> {
        on_conn!(self, |conn| {
            sqlx::query(
                "INSERT INTO user_session_authentications
                   (user_session_authentication_id, user_session_id, user_password_id, created_at)
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(to_uuid(id))
            .bind(to_uuid(session.id))
            .bind(user_password_id.map(to_uuid))
            .bind(Timestamp(now))
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(Authentication {
            id,
            browser_session_id: session.id,
            created_at: now,
            user_password_id,
        })
    }
}
