//! The refresh grant's hot path (RFC 6749 §6, rotation per RFC 9700
//! §4.14.2) in as few round trips as exact replay detection allows: one
//! query finds the presented token with its session and user, and one
//! statement consumes it and stores its successor pair.
//!
//! The consume is the whole of replay detection: `consumed_at IS NULL` in
//! the `UPDATE`'s condition lets exactly one of two concurrent refreshes
//! with the same token through, and the successor pair exists only if it
//! did. On PostgreSQL the three writes are one statement (data-modifying
//! `WITH`), atomic without `BEGIN`/`COMMIT`; SQLite, whose `WITH` cannot
//! hold an `UPDATE`, runs them in one transaction.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use mxauth_model::{
    oauth2::{RefreshToken, Session},
    User,
};
use ulid::Ulid;

use super::{
    oauth2_tokens::{
        lookup_with_session, with_session_sql, RefreshRow, RefreshTokens, REFRESH_TOKENS,
    },
    Mode, Table,
};
use crate::{
    availability,
    types::{to_uuid, Timestamp},
    Database, StorageError,
};

/// `oauth2_refresh_tokens` as `r` in the lookup join.
const JOINED_REFRESH_TOKENS: Table = Table {
    alias: "r",
    ..REFRESH_TOKENS
};

/// The successor pair of a rotation, as stored (digests only).
#[derive(Debug, Clone)]
pub struct Successor {
    pub access_token_id: Ulid,
    pub access_token_digest: String,
    pub access_token_expires_at: Option<DateTime<Utc>>,
    pub refresh_token_id: Ulid,
    pub refresh_token_digest: String,
}

impl<M: Mode> RefreshTokens<'_, M> {
    /// The refresh token with this digest, its session and the session's
    /// user, in one round trip.
    pub async fn lookup(
        &mut self,
        digest: &str,
    ) -> Result<Option<(RefreshToken, Session, Option<User>)>, StorageError> {
        static SQL: LazyLock<String> =
            LazyLock::new(|| with_session_sql(&JOINED_REFRESH_TOKENS, "refresh_token_sha256"));
        lookup_with_session::<RefreshRow, _>(self.tx, &SQL, digest).await
    }
}

impl Database {
    /// Consumes the unconsumed, unrevoked refresh token `presented` of
    /// `session_id` and stores `next` as its successor, atomically. `false`
    /// when the token was consumed or revoked first (nothing is written).
    pub async fn rotate_refresh_token(
        &self,
        presented: Ulid,
        session_id: Ulid,
        next: &Successor,
        now: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        match self {
            Database::Postgres(pool, _) => {
                let mut conn = availability::within_reach(pool, pool.acquire()).await?;
                let consumed: i64 = sqlx::query_scalar(
                    "WITH consumed AS (
                       UPDATE oauth2_refresh_tokens
                       SET consumed_at = $1, next_oauth2_refresh_token_id = $2
                       WHERE oauth2_refresh_token_id = $3 AND oauth2_session_id = $4
                         AND consumed_at IS NULL AND revoked_at IS NULL
                       RETURNING oauth2_session_id
                     ), access AS (
                       INSERT INTO oauth2_access_tokens
                         (oauth2_access_token_id, oauth2_session_id, access_token_sha256,
                          created_at, expires_at)
                       SELECT $5, oauth2_session_id, $6, $1, $7 FROM consumed
                     ), refresh AS (
                       INSERT INTO oauth2_refresh_tokens
                         (oauth2_refresh_token_id, oauth2_session_id, oauth2_access_token_id,
                          refresh_token_sha256, created_at)
                       SELECT $2, oauth2_session_id, $5, $8, $1 FROM consumed
                     )
                     SELECT COUNT(*) FROM consumed",
                )
                .bind(Timestamp(now))
                .bind(to_uuid(next.refresh_token_id))
                .bind(to_uuid(presented))
                .bind(to_uuid(session_id))
                .bind(to_uuid(next.access_token_id))
                .bind(&next.access_token_digest)
                .bind(next.access_token_expires_at.map(Timestamp))
                .bind(&next.refresh_token_digest)
                .fetch_one(&mut *conn)
                .await?;
                Ok(consumed == 1)
            }
            Database::Sqlite(..) => {
                // The successor first: the consume links to it (foreign key).
                let mut repo = self.begin().await?;
                repo.oauth2_access_tokens()
                    .add(
                        next.access_token_id,
                        session_id,
                        &next.access_token_digest,
                        now,
                        next.access_token_expires_at,
                    )
                    .await?;
                repo.oauth2_refresh_tokens()
                    .add(
                        next.refresh_token_id,
                        session_id,
                        next.access_token_id,
                        &next.refresh_token_digest,
                        now,
                    )
                    .await?;
                let consumed = repo
                    .oauth2_refresh_tokens()
                    .consume(presented, next.refresh_token_id, now)
                    .await?;
                if consumed {
                    repo.commit().await?;
                } else {
                    repo.rollback().await?;
                }
                Ok(consumed)
            }
        }
    }
}
