//! `upstream_oauth_authorization_sessions`: attempts to sign in at an
//! upstream provider, from the redirect to the provider to the sign-in.
//! Each state change is conditional (`… IS NULL`), so a replayed callback
//! or a second submit of the link page changes nothing.

use chrono::{DateTime, Utc};
use mxauth_model::upstream::{CallbackOutcome, UpstreamSession};
use ulid::Ulid;
use uuid::Uuid;

use super::{accessor, on_conn, Mode, Table, Write};
use crate::{
    types::{to_ulid, to_uuid, Timestamp},
    StorageError,
};

#[derive(sqlx::FromRow)]
struct SessionRow {
    upstream_oauth_authorization_session_id: Uuid,
    upstream_oauth_provider_id: Uuid,
    state: String,
    nonce: Option<String>,
    next: String,
    upstream_oauth_link_id: Option<Uuid>,
    subject: Option<String>,
    sid: Option<String>,
    id_token_claims: Option<String>,
    userinfo_claims: Option<String>,
    extra_callback_parameters: Option<String>,
    user_session_id: Option<Uuid>,
    created_at: Timestamp,
    completed_at: Option<Timestamp>,
    consumed_at: Option<Timestamp>,
}

/// `upstream_oauth_authorization_sessions`, in the order of [`SessionRow`].
const SESSIONS: Table = Table {
    name: "upstream_oauth_authorization_sessions",
    alias: "",
    columns: &[
        "upstream_oauth_authorization_session_id",
        "upstream_oauth_provider_id",
        "state",
        "nonce",
        "next",
        "upstream_oauth_link_id",
        "subject",
        "sid",
        "id_token_claims",
        "userinfo_claims",
        "extra_callback_parameters",
        "user_session_id",
        "created_at",
        "completed_at",
        "consumed_at",
    ],
};

impl From<SessionRow> for UpstreamSession {
    fn from(row: SessionRow) -> Self {
        Self {
            id: to_ulid(row.upstream_oauth_authorization_session_id),
            provider_id: to_ulid(row.upstream_oauth_provider_id),
            state: row.state,
            nonce: row.nonce,
            next: row.next,
            link_id: row.upstream_oauth_link_id.map(to_ulid),
            subject: row.subject,
            sid: row.sid,
            id_token_claims: row.id_token_claims,
            userinfo_claims: row.userinfo_claims,
            extra_callback_parameters: row.extra_callback_parameters,
            browser_session_id: row.user_session_id.map(to_ulid),
            created_at: row.created_at.0,
            completed_at: row.completed_at.map(|t| t.0),
            consumed_at: row.consumed_at.map(|t| t.0),
        }
    }
}

accessor! {
    /// The `upstream_oauth_authorization_sessions` table.
    UpstreamSessions, upstream_sessions
}

impl<M: Mode> UpstreamSessions<'_, M> {
    pub async fn find(&mut self, id: Ulid) -> Result<Option<UpstreamSession>, StorageError> {
        let row: Option<SessionRow> = SESSIONS
            .find_where(
                self.tx,
                "upstream_oauth_authorization_session_id = $1",
                to_uuid(id),
            )
            .await?;
        Ok(row.map(UpstreamSession::from))
    }

    /// The browser sessions signed in through `provider_id` by the person
    /// `subject`, or in the provider's session `sid` (OIDC Back-Channel
    /// Logout 1.0 §2.4: a logout token names either or both; with both,
    /// both must match).
    pub async fn browser_sessions_of(
        &mut self,
        provider_id: Ulid,
        subject: Option<&str>,
        sid: Option<&str>,
    ) -> Result<Vec<Ulid>, StorageError> {
        let sql = "SELECT DISTINCT user_session_id FROM upstream_oauth_authorization_sessions
             WHERE upstream_oauth_provider_id = $1 AND user_session_id IS NOT NULL
               AND ($2 IS NULL OR subject = $2) AND ($3 IS NULL OR sid = $3)";
        let rows: Vec<(Uuid,)> = on_conn!(self, |conn| {
            sqlx::query_as(sql)
                .bind(to_uuid(provider_id))
                .bind(subject)
                .bind(sid)
                .fetch_all(conn)
                .await
        })?;
        Ok(rows.into_iter().map(|(id,)| to_ulid(id)).collect())
    }
}

impl UpstreamSessions<'_, Write> {
    /// Stores a pending session, when the browser is sent to the provider.
    pub async fn add(&mut self, session: &UpstreamSession) -> Result<(), StorageError> {
        on_conn!(self, |conn| {
            sqlx::query(
                "INSERT INTO upstream_oauth_authorization_sessions
                   (upstream_oauth_authorization_session_id, upstream_oauth_provider_id,
                    state, nonce, next, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(to_uuid(session.id))
            .bind(to_uuid(session.provider_id))
            .bind(session.state.as_str())
            .bind(session.nonce.as_deref())
            .bind(session.next.as_str())
            .bind(Timestamp(session.created_at))
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Records the callback's outcome; `false` if the session was already
    /// completed (a replayed callback).
    pub async fn complete(
        &mut self,
        id: Ulid,
        outcome: &CallbackOutcome,
        now: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        let changed = on_conn!(self, |conn| {
            sqlx::query(
                "UPDATE upstream_oauth_authorization_sessions
                 SET upstream_oauth_link_id = $1, subject = $2, sid = $3, id_token_claims = $4,
                     userinfo_claims = $5, extra_callback_parameters = $6, completed_at = $7
                 WHERE upstream_oauth_authorization_session_id = $8 AND completed_at IS NULL",
            )
            .bind(to_uuid(outcome.link_id))
            .bind(outcome.subject.as_str())
            .bind(outcome.sid.as_deref())
            .bind(outcome.id_token_claims.as_deref())
            .bind(outcome.userinfo_claims.as_deref())
            .bind(outcome.extra_callback_parameters.as_deref())
            .bind(Timestamp(now))
            .bind(to_uuid(id))
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(changed == 1)
    }

    /// Marks a completed session used, by the browser session it signed
    /// in; `false` if it was used already.
    pub async fn consume(
        &mut self,
        id: Ulid,
        browser_session_id: Ulid,
        now: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        let changed = on_conn!(self, |conn| {
            sqlx::query(
                "UPDATE upstream_oauth_authorization_sessions
                 SET user_session_id = $1, consumed_at = $2
                 WHERE upstream_oauth_authorization_session_id = $3
                   AND completed_at IS NOT NULL AND consumed_at IS NULL",
            )
            .bind(to_uuid(browser_session_id))
            .bind(Timestamp(now))
            .bind(to_uuid(id))
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(changed == 1)
    }
}
