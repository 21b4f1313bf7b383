//! `oauth2_sessions`: what a client may do for a user, until finished.

use chrono::{DateTime, Utc};
use mxauth_model::oauth2::Session;
use ulid::Ulid;
use uuid::Uuid;

use super::{on_conn, Repository};
use crate::{
    types::{to_ulid, to_uuid, Timestamp},
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

impl From<SessionRow> for Session {
    fn from(r: SessionRow) -> Self {
        Session {
            id: to_ulid(r.oauth2_session_id),
            client_id: to_ulid(r.oauth2_client_id),
            user_id: r.user_id.map(to_ulid),
            browser_session_id: r.user_session_id.map(to_ulid),
            scope: r.scope_list,
            user_agent: r.user_agent,
            last_active_at: r.last_active_at.map(|t| t.0),
            last_active_ip: r.last_active_ip,
            human_name: r.human_name,
            created_at: r.created_at.0,
            finished_at: r.finished_at.map(|t| t.0),
        }
    }
}

pub(crate) const SESSION_COLUMNS: &str = "s.oauth2_session_id, s.oauth2_client_id, s.user_id,
    s.user_session_id, s.scope_list, s.user_agent, s.last_active_at, s.last_active_ip,
    s.human_name, s.created_at, s.finished_at";

impl Repository {
    pub async fn add_oauth2_session(&mut self, s: &Session) -> Result<(), StorageError> {
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
            .bind(&s.scope)
            .bind(s.user_agent.as_deref())
            .bind(s.human_name.as_deref())
            .bind(Timestamp(s.created_at))
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    pub async fn find_oauth2_session(&mut self, id: Ulid) -> Result<Option<Session>, StorageError> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM oauth2_sessions s WHERE s.oauth2_session_id = $1"
        );
        let row: Option<SessionRow> = on_conn!(self, |conn| {
            sqlx::query_as(&sql)
                .bind(to_uuid(id))
                .fetch_optional(conn)
                .await
        })?;
        Ok(row.map(Session::from))
    }

    /// Ends a session and revokes every token it still has. Returns whether
    /// the session was active before.
    pub async fn finish_oauth2_session(
        &mut self,
        id: Ulid,
        now: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
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
