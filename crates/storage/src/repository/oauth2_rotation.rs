//! The refresh grant's hot path (RFC 6749 §6, rotation per RFC 9700
//! §4.14.2) in one round trip on PostgreSQL: one statement finds the
//! presented token with its session and user and, when the grant may go
//! ahead, consumes it and stores its successor pair.
//!
//! The consume is the whole of replay detection: `consumed_at IS NULL` in
//! the `UPDATE`'s condition lets exactly one of two concurrent refreshes
//! with the same token through (PostgreSQL re-checks the condition on the
//! row it waited for), and the successor pair exists only if it did. On
//! PostgreSQL the lookup and the three writes are one statement
//! (data-modifying `WITH`), atomic without `BEGIN`/`COMMIT`; SQLite, whose
//! `WITH` cannot hold an `UPDATE`, runs them in one transaction.
//!
//! When the token may not be rotated, nothing is written and the caller
//! gets the rows it found, to tell the client why (or to handle a replay).

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use mxauth_model::{
    oauth2::{RefreshToken, Session},
    Scope, User,
};
use ulid::Ulid;

use super::{
    oauth2_tokens::{with_session_sql, RefreshRow, RefreshTokens, WithSession, REFRESH_TOKENS},
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

/// What the refresh grant asks for besides the token.
#[derive(Debug, Clone, Copy)]
pub struct RotationRequest<'a> {
    /// The authenticated client: the token's session must be its own.
    pub client_id: Ulid,
    /// A scope the new tokens are asked for: it must fit in the session's.
    pub scope: Option<&'a Scope>,
}

/// The presented token, its session and user, as found, and whether it was
/// rotated.
#[derive(Debug)]
pub struct Rotation {
    pub refresh: RefreshToken,
    pub session: Session,
    pub user: Option<User>,
    pub rotated: bool,
}

/// The token may be rotated: unconsumed and unrevoked, of this client's
/// active session, whose user (if any) is neither locked nor deactivated,
/// and the scope asked for fits. The SQLite side of the condition that the
/// PostgreSQL statement writes in SQL ([`ROTATE_SQL`]); the two must agree.
fn may_rotate(found: &(RefreshToken, Session, Option<User>), request: &RotationRequest) -> bool {
    let (refresh, session, user) = found;
    refresh.is_valid()
        && session.client_id == request.client_id
        && session.is_active()
        && (session.user_id.is_none() || user.as_ref().is_some_and(User::is_valid))
        && request
            .scope
            .is_none_or(|scope| scope.is_subset_of(&session.scope))
}

/// PostgreSQL: `$1` the presented digest, `$2` now, `$3` the successor's
/// refresh token id, `$4` the client, `$5`–`$8` the successor's access
/// token id, digest, expiry and refresh token digest, `$9` the scope asked
/// for (space-separated, or NULL). `presented` is read in the statement's
/// snapshot; the `UPDATE` re-checks `consumed_at`/`revoked_at` on the row
/// as it is when it gets the row lock, which is what makes one of two
/// concurrent refreshes fail. The `UPDATE` names the digest itself: joined
/// only through `presented` (a CTE, which the planner cannot see into), it
/// was planned as a hash join over a sequential scan of the whole table,
/// one scan per refresh.
static ROTATE_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH presented AS ({}),
         consumed AS (
           UPDATE oauth2_refresh_tokens t
           SET consumed_at = $2, next_oauth2_refresh_token_id = $3
           FROM presented p
           WHERE t.refresh_token_sha256 = $1
             AND t.oauth2_refresh_token_id = p.oauth2_refresh_token_id
             AND t.consumed_at IS NULL AND t.revoked_at IS NULL
             AND p.oauth2_client_id = $4 AND p.finished_at IS NULL
             AND (p.user_id IS NULL OR (p.u_user_id IS NOT NULL
                  AND p.u_locked_at IS NULL AND p.u_deactivated_at IS NULL))
             AND ($9::TEXT IS NULL
                  OR string_to_array(p.scope_list, ' ') @> string_to_array($9, ' '))
           RETURNING t.oauth2_session_id
         ), access AS (
           INSERT INTO oauth2_access_tokens
             (oauth2_access_token_id, oauth2_session_id, access_token_sha256,
              created_at, expires_at)
           SELECT $5, oauth2_session_id, $6, $2, $7 FROM consumed
         ), refresh AS (
           INSERT INTO oauth2_refresh_tokens
             (oauth2_refresh_token_id, oauth2_session_id, oauth2_access_token_id,
              refresh_token_sha256, created_at)
           SELECT $3, oauth2_session_id, $5, $8, $2 FROM consumed
         )
         SELECT presented.*, (SELECT COUNT(*) FROM consumed) AS rotated FROM presented",
        with_session_sql(&JOINED_REFRESH_TOKENS, "refresh_token_sha256")
    )
});

#[derive(sqlx::FromRow)]
struct RotationRow {
    #[sqlx(flatten)]
    found: WithSession<RefreshRow>,
    rotated: i64,
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
        super::oauth2_tokens::lookup_with_session::<RefreshRow, _>(self.tx, &SQL, digest).await
    }
}

impl Database {
    /// Finds the refresh token with digest `presented` and, if it may be
    /// rotated for `request`, consumes it and stores `next` as its
    /// successor, atomically. `None` when no token has this digest.
    pub async fn lookup_and_rotate(
        &self,
        presented: &str,
        request: &RotationRequest<'_>,
        next: &Successor,
        now: DateTime<Utc>,
    ) -> Result<Option<Rotation>, StorageError> {
        match self {
            Database::Postgres(pool, _) => {
                let mut conn = availability::within_reach(pool, pool.acquire()).await?;
                let row: Option<RotationRow> = sqlx::query_as(&ROTATE_SQL)
                    .bind(presented)
                    .bind(Timestamp(now))
                    .bind(to_uuid(next.refresh_token_id))
                    .bind(to_uuid(request.client_id))
                    .bind(to_uuid(next.access_token_id))
                    .bind(&next.access_token_digest)
                    .bind(next.access_token_expires_at.map(Timestamp))
                    .bind(&next.refresh_token_digest)
                    .bind(request.scope.map(ToString::to_string))
                    .fetch_optional(&mut *conn)
                    .await?;
                row.map(|row| {
                    let (refresh, session, user) = row.found.into_parts()?;
                    Ok(Rotation {
                        refresh,
                        session,
                        user,
                        rotated: row.rotated == 1,
                    })
                })
                .transpose()
            }
            Database::Sqlite(..) => {
                let mut repo = self.begin().await?;
                let Some(found) = repo.oauth2_refresh_tokens().lookup(presented).await? else {
                    repo.rollback().await?;
                    return Ok(None);
                };
                let rotated = if may_rotate(&found, request) {
                    let session_id = found.1.id;
                    // The successor first: the consume links to it (foreign key).
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
                    repo.oauth2_refresh_tokens()
                        .consume(found.0.id, next.refresh_token_id, now)
                        .await?
                } else {
                    false
                };
                if rotated {
                    repo.commit().await?;
                } else {
                    repo.rollback().await?;
                }
                let (refresh, session, user) = found;
                Ok(Some(Rotation {
                    refresh,
                    session,
                    user,
                    rotated,
                }))
            }
        }
    }
}
