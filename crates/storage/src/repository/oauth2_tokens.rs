//! `oauth2_access_tokens` and `oauth2_refresh_tokens`, looked up by digest.
//! The introspection lookup fetches token, session and user in one query:
//! it is on Synapse's hot path.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use mxauth_model::{
    oauth2::{AccessToken, RefreshToken, Session},
    User,
};
use ulid::Ulid;
use uuid::Uuid;

use super::{
    accessor, oauth2_sessions::OAUTH2_SESSIONS, on_conn, users::USERS, Mode, Table, Write,
};
use crate::{
    types::{to_ulid, to_uuid, Timestamp},
    StorageError,
};

#[derive(sqlx::FromRow)]
struct AccessRow {
    oauth2_access_token_id: Uuid,
    oauth2_session_id: Uuid,
    created_at: Timestamp,
    expires_at: Option<Timestamp>,
    revoked_at: Option<Timestamp>,
    first_used_at: Option<Timestamp>,
}

impl From<AccessRow> for AccessToken {
    fn from(r: AccessRow) -> Self {
        AccessToken {
            id: to_ulid(r.oauth2_access_token_id),
            session_id: to_ulid(r.oauth2_session_id),
            created_at: r.created_at.0,
            expires_at: r.expires_at.map(|t| t.0),
            revoked_at: r.revoked_at.map(|t| t.0),
            first_used_at: r.first_used_at.map(|t| t.0),
        }
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct RefreshRow {
    oauth2_refresh_token_id: Uuid,
    oauth2_session_id: Uuid,
    oauth2_access_token_id: Option<Uuid>,
    created_at: Timestamp,
    consumed_at: Option<Timestamp>,
    revoked_at: Option<Timestamp>,
    next_oauth2_refresh_token_id: Option<Uuid>,
}

impl From<RefreshRow> for RefreshToken {
    fn from(r: RefreshRow) -> Self {
        RefreshToken {
            id: to_ulid(r.oauth2_refresh_token_id),
            session_id: to_ulid(r.oauth2_session_id),
            access_token_id: r.oauth2_access_token_id.map(to_ulid),
            created_at: r.created_at.0,
            consumed_at: r.consumed_at.map(|t| t.0),
            revoked_at: r.revoked_at.map(|t| t.0),
            next_refresh_token_id: r.next_oauth2_refresh_token_id.map(to_ulid),
        }
    }
}

/// A token row joined with its session and the session's user: the row
/// of both lookups by digest ([`AccessTokens::lookup`], and the refresh
/// grant's `RefreshTokens::lookup`).
#[derive(sqlx::FromRow)]
pub(super) struct WithSession<T> {
    #[sqlx(flatten)]
    token: T,
    /// Its `created_at` is the token's (the column of that name comes
    /// first): the session's own is [`WithSession::s_created_at`].
    #[sqlx(flatten)]
    session: super::oauth2_sessions::SessionRow,
    s_created_at: Timestamp,
    #[sqlx(flatten)]
    user: JoinedUserRow,
}

/// `SELECT` of a token table (`tokens`, with its alias), its session and
/// the session's user, by the digest in `digest_column`. The token's own
/// `oauth2_session_id` carries the session's, so the session's is left out;
/// the session's `created_at` is renamed `s_created_at`.
pub(super) fn with_session_sql(tokens: &Table, digest_column: &str) -> String {
    let t = tokens.alias;
    format!(
        "SELECT {}, {}, s.created_at AS s_created_at, {}
         FROM {} {t}
         JOIN oauth2_sessions s ON s.oauth2_session_id = {t}.oauth2_session_id
         LEFT JOIN users u ON u.user_id = s.user_id
         WHERE {t}.{digest_column} = $1",
        tokens.columns(),
        OAUTH2_SESSIONS.columns_except(&["oauth2_session_id", "created_at"]),
        USERS.columns_as("u_"),
        tokens.name,
    )
}

/// Runs a [`with_session_sql`] statement for `digest`.
pub(super) async fn lookup_with_session<T, R>(
    tx: &mut super::Tx,
    sql: &str,
    digest: &str,
) -> Result<Option<(R, Session, Option<User>)>, StorageError>
where
    WithSession<T>: super::Row,
    R: From<T>,
{
    let this = super::TxRef { tx };
    let row: Option<WithSession<T>> = on_conn!(this, |conn| {
        sqlx::query_as(sql).bind(digest).fetch_optional(conn).await
    })?;
    row.map(WithSession::into_parts).transpose()
}

impl<T> WithSession<T> {
    /// The token (as `R`), its session and the session's user.
    pub(super) fn into_parts<R: From<T>>(self) -> Result<(R, Session, Option<User>), StorageError> {
        let mut session = self.session;
        session.created_at = self.s_created_at;
        let session = Session::try_from(session)?;
        Ok((R::from(self.token), session, self.user.into()))
    }
}

/// A session's user in a `LEFT JOIN users u`, columns prefixed `u_`
/// ([`USERS`]`.columns_as("u_")`): absent for client-only sessions.
#[derive(sqlx::FromRow)]
struct JoinedUserRow {
    u_user_id: Option<Uuid>,
    u_username: Option<String>,
    u_created_at: Option<Timestamp>,
    u_locked_at: Option<Timestamp>,
    u_deactivated_at: Option<Timestamp>,
    u_can_request_admin: Option<bool>,
    u_is_guest: Option<bool>,
}

impl From<JoinedUserRow> for Option<User> {
    fn from(r: JoinedUserRow) -> Self {
        match (r.u_user_id, r.u_username, r.u_created_at) {
            (Some(id), Some(username), Some(created_at)) => Some(User {
                id: to_ulid(id),
                username,
                created_at: created_at.0,
                locked_at: r.u_locked_at.map(|t| t.0),
                deactivated_at: r.u_deactivated_at.map(|t| t.0),
                can_request_admin: r.u_can_request_admin.unwrap_or(false),
                is_guest: r.u_is_guest.unwrap_or(false),
            }),
            _ => None,
        }
    }
}

/// `oauth2_access_tokens`, in the order of [`AccessRow`].
const ACCESS_TOKENS: Table = Table {
    name: "oauth2_access_tokens",
    alias: "t",
    columns: &[
        "oauth2_access_token_id",
        "oauth2_session_id",
        "created_at",
        "expires_at",
        "revoked_at",
        "first_used_at",
    ],
};

/// `oauth2_refresh_tokens`, in the order of [`RefreshRow`].
pub(super) const REFRESH_TOKENS: Table = Table {
    name: "oauth2_refresh_tokens",
    alias: "",
    columns: &[
        "oauth2_refresh_token_id",
        "oauth2_session_id",
        "oauth2_access_token_id",
        "created_at",
        "consumed_at",
        "revoked_at",
        "next_oauth2_refresh_token_id",
    ],
};

accessor! {
    /// The `oauth2_access_tokens` table (digests only).
    AccessTokens, oauth2_access_tokens
}

accessor! {
    /// The `oauth2_refresh_tokens` table (digests only).
    RefreshTokens, oauth2_refresh_tokens
}

impl<M: Mode> AccessTokens<'_, M> {
    pub async fn find(&mut self, id: Ulid) -> Result<Option<AccessToken>, StorageError> {
        let row: Option<AccessRow> = ACCESS_TOKENS
            .find_where(self.tx, "t.oauth2_access_token_id = $1", to_uuid(id))
            .await?;
        Ok(row.map(AccessToken::from))
    }

    pub async fn find_by_digest(
        &mut self,
        digest: &str,
    ) -> Result<Option<AccessToken>, StorageError> {
        let row: Option<AccessRow> = ACCESS_TOKENS
            .find_where(self.tx, "t.access_token_sha256 = $1", digest.to_owned())
            .await?;
        Ok(row.map(AccessToken::from))
    }

    /// The token with this digest, its session and the session's user, in
    /// one round trip.
    pub async fn lookup(
        &mut self,
        digest: &str,
    ) -> Result<Option<(AccessToken, Session, Option<User>)>, StorageError> {
        // Introspection's hot path: the statement is built once per process,
        // not once per request.
        static SQL: LazyLock<String> =
            LazyLock::new(|| with_session_sql(&ACCESS_TOKENS, "access_token_sha256"));
        lookup_with_session::<AccessRow, _>(self.tx, &SQL, digest).await
    }
}

impl AccessTokens<'_, Write> {
    pub async fn add(
        &mut self,
        id: Ulid,
        session_id: Ulid,
        digest: &str,
        now: DateTime<Utc>,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<AccessToken, StorageError> {
        on_conn!(self, |conn| {
            sqlx::query(
                "INSERT INTO oauth2_access_tokens
                   (oauth2_access_token_id, oauth2_session_id, access_token_sha256, created_at, expires_at)
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
        Ok(AccessToken {
            id,
            session_id,
            created_at: now,
            expires_at,
            revoked_at: None,
            first_used_at: None,
        })
    }

    /// Records the first use of an access token; later uses change nothing.
    pub async fn mark_used(&mut self, id: Ulid, now: DateTime<Utc>) -> Result<(), StorageError> {
        self.tx
            .exec_at(
                "UPDATE oauth2_access_tokens SET first_used_at = $1
                 WHERE oauth2_access_token_id = $2 AND first_used_at IS NULL",
                now,
                id,
            )
            .await?;
        Ok(())
    }

    pub async fn revoke(&mut self, id: Ulid, now: DateTime<Utc>) -> Result<(), StorageError> {
        self.invalidated
            .push(crate::token_cache::Invalidation::Row(id));
        self.tx
            .exec_at(
                "UPDATE oauth2_access_tokens SET revoked_at = $1
                 WHERE oauth2_access_token_id = $2 AND revoked_at IS NULL",
                now,
                id,
            )
            .await?;
        Ok(())
    }
}

impl<M: Mode> RefreshTokens<'_, M> {
    pub async fn find(&mut self, id: Ulid) -> Result<Option<RefreshToken>, StorageError> {
        let row: Option<RefreshRow> = REFRESH_TOKENS
            .find_where(self.tx, "oauth2_refresh_token_id = $1", to_uuid(id))
            .await?;
        Ok(row.map(RefreshToken::from))
    }

    pub async fn find_by_digest(
        &mut self,
        digest: &str,
    ) -> Result<Option<RefreshToken>, StorageError> {
        let row: Option<RefreshRow> = REFRESH_TOKENS
            .find_where(self.tx, "refresh_token_sha256 = $1", digest.to_owned())
            .await?;
        Ok(row.map(RefreshToken::from))
    }
}

impl RefreshTokens<'_, Write> {
    pub async fn add(
        &mut self,
        id: Ulid,
        session_id: Ulid,
        access_token_id: Ulid,
        digest: &str,
        now: DateTime<Utc>,
    ) -> Result<RefreshToken, StorageError> {
        on_conn!(self, |conn| {
            sqlx::query(
                "INSERT INTO oauth2_refresh_tokens
                   (oauth2_refresh_token_id, oauth2_session_id, oauth2_access_token_id,
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
        Ok(RefreshToken {
            id,
            session_id,
            access_token_id: Some(access_token_id),
            created_at: now,
            consumed_at: None,
            revoked_at: None,
            next_refresh_token_id: None,
        })
    }

    /// Rotation: marks the token consumed and links its successor. Atomic:
    /// only one of two concurrent refreshes sees `true`.
    pub async fn consume(
        &mut self,
        id: Ulid,
        next_id: Ulid,
        now: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        let changed = on_conn!(self, |conn| {
            sqlx::query(
                "UPDATE oauth2_refresh_tokens
                 SET consumed_at = $1, next_oauth2_refresh_token_id = $2
                 WHERE oauth2_refresh_token_id = $3 AND consumed_at IS NULL AND revoked_at IS NULL",
            )
            .bind(Timestamp(now))
            .bind(to_uuid(next_id))
            .bind(to_uuid(id))
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(changed == 1)
    }

    pub async fn revoke(&mut self, id: Ulid, now: DateTime<Utc>) -> Result<(), StorageError> {
        self.tx
            .exec_at(
                "UPDATE oauth2_refresh_tokens SET revoked_at = $1
                 WHERE oauth2_refresh_token_id = $2 AND revoked_at IS NULL",
                now,
                id,
            )
            .await?;
        Ok(())
    }
}
