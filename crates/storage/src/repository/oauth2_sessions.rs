//! `oauth2_sessions`: what a client may do for a user, until finished.

use chrono::{DateTime, Utc};
use mxauth_model::oauth2::Session;
use ulid::Ulid;
use uuid::Uuid;

use super::{accessor, on_conn, Mode, Table, Write};
use crate::{
    types::{parse_scope, to_ulid, to_uuid, Timestamp},
    StorageError,
};

#[derive(sqlx::FromRow)]
pub(crate) struct SessionRow {
    pub oauth2_session_id: Uuid,
    pub oauth2_client_id: Uuid,
    pub user_id: Option<Uuid>,
    pub user_session_id: Option<Uuid>,
    pub scope_list: String,
    pub user_agent: Option<String>,
    pub last_active_at: Option<Timestamp>,
    pub last_active_ip: Option<String>,
    pub human_name: Option<String>,
    pub created_at: Timestamp,
    pub finished_at: Option<Timestamp>,
}

impl TryFrom<SessionRow> for Session {
    type Error = StorageError;

    fn try_from(r: SessionRow) -> Result<Self, StorageError> {
        Ok(Session {
            id: to_ulid(r.oauth2_session_id),
            client_id: to_ulid(r.oauth2_client_id),
            user_id: r.user_id.map(to_ulid),
            browser_session_id: r.user_session_id.map(to_ulid),
            scope: parse_scope(OAUTH2_SESSIONS.name, "scope_list", &r.scope_list)?,
            user_agent: r.user_agent,
            last_active_at: r.last_active_at.map(|t| t.0),
            last_active_ip: r.last_active_ip,
            human_name: r.human_name,
            created_at: r.created_at.0,
            finished_at: r.finished_at.map(|t| t.0),
        })
    }
}

/// `oauth2_sessions`, in the order of [`SessionRow`].
pub(crate) const OAUTH2_SESSIONS: Table = Table {
    name: "oauth2_sessions",
    alias: "s",
    columns: &[
        "oauth2_session_id",
        "oauth2_client_id",
        "user_id",
        "user_session_id",
        "scope_list",
        "user_agent",
        "last_active_at",
        "last_active_ip",
        "human_name",
        "created_at",
        "finished_at",
    ],
};

accessor! {
    /// The `oauth2_sessions` table: what a client may do for a user.
    OAuth2Sessions, oauth2_sessions
}

impl<M: Mode> OAuth2Sessions<'_, M> {
    /// A page of the sessions matching `filter` (the admin API's list).
    pub async fn page(
        &mut self,
        filter: &super::pagination::SessionFilter,
        pagination: super::pagination::Pagination,
    ) -> Result<super::pagination::Page<Session>, StorageError> {
        let page: super::pagination::Page<SessionRow> = super::pagination::page(
            self.tx,
            &OAUTH2_SESSIONS,
            "oauth2_session_id",
            &filter.conditions("s."),
            pagination,
        )
        .await?;
        let items: Result<Vec<Session>, StorageError> =
            page.items.into_iter().map(Session::try_from).collect();
        Ok(super::pagination::Page {
            items: items?,
            has_more: page.has_more,
        })
    }

    /// How many sessions match `filter`.
    pub async fn count_matching(
        &mut self,
        filter: &super::pagination::SessionFilter,
    ) -> Result<u64, StorageError> {
        super::pagination::count(self.tx, &OAUTH2_SESSIONS, &filter.conditions("s.")).await
    }

    pub async fn find(&mut self, id: Ulid) -> Result<Option<Session>, StorageError> {
        let row: Option<SessionRow> = OAUTH2_SESSIONS
            .find_where(self.tx, "s.oauth2_session_id = $1", to_uuid(id))
            .await?;
        row.map(Session::try_from).transpose()
    }

    /// The user's sessions that have not ended, oldest first (the account
    /// page's list, and what deactivation ends).
    pub async fn active_of_user(&mut self, user_id: Ulid) -> Result<Vec<Session>, StorageError> {
        let rows: Vec<SessionRow> = OAUTH2_SESSIONS
            .list_where(
                self.tx,
                "s.user_id = $1 AND s.finished_at IS NULL ORDER BY s.oauth2_session_id",
                to_uuid(user_id),
            )
            .await?;
        rows.into_iter().map(Session::try_from).collect()
    }

    /// The active sessions started from a browser session (its "children",
    /// ended with it by a provider's back-channel logout).
    pub async fn active_of_browser_session(
        &mut self,
        browser_session_id: Ulid,
    ) -> Result<Vec<Session>, StorageError> {
        let rows: Vec<SessionRow> = OAUTH2_SESSIONS
            .list_where(
                self.tx,
                "s.user_session_id = $1 AND s.finished_at IS NULL ORDER BY s.oauth2_session_id",
                to_uuid(browser_session_id),
            )
            .await?;
        rows.into_iter().map(Session::try_from).collect()
    }
}

impl OAuth2Sessions<'_, Write> {
    pub async fn add(&mut self, s: &Session) -> Result<(), StorageError> {
        on_conn!(self, |conn| {
            sqlx::query(
                "INSERT INTO oauth2_sessions
                   (oauth2_session_id, oauth2_client_id, user_id, user_session_id, scope_list,
                    user_agent, human_name, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(to_uuid(s.id))
            .bind(to_uuid(s.client_id))
            .bind(s.user_id.map(to_uuid))
            .bind(s.browser_session_id.map(to_uuid))
            .bind(s.scope.to_string())
            .bind(s.user_agent.as_deref())
            .bind(s.human_name.as_deref())
            .bind(Timestamp(s.created_at))
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Ends a session and revokes every token it still has. Returns whether
    /// the session was active before.
    pub async fn finish(&mut self, id: Ulid, now: DateTime<Utc>) -> Result<bool, StorageError> {
        self.invalidated
            .push(crate::token_cache::Invalidation::Row(id));
        const STATEMENTS: [&str; 3] = [
            "UPDATE oauth2_sessions SET finished_at = $1
             WHERE oauth2_session_id = $2 AND finished_at IS NULL",
            "UPDATE oauth2_access_tokens SET revoked_at = $1
             WHERE oauth2_session_id = $2 AND revoked_at IS NULL",
            "UPDATE oauth2_refresh_tokens SET revoked_at = $1
             WHERE oauth2_session_id = $2 AND revoked_at IS NULL AND consumed_at IS NULL",
        ];
        let mut finished = 0;
        for (i, sql) in STATEMENTS.iter().enumerate() {
            let changed = on_conn!(self, |conn| {
                sqlx::query(sql)
                    .bind(Timestamp(now))
                    .bind(to_uuid(id))
                    .execute(conn)
                    .await
                    .map(|r| r.rows_affected())
            })?;
            if i == 0 {
                finished = changed;
            }
        }
        Ok(finished == 1)
    }
}
