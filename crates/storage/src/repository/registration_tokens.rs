//! The `user_registration_tokens` table: tokens admins hand out so people
//! may register while `account.password_registration_token_required` is on.

use chrono::{DateTime, Utc};
use mxauth_model::RegistrationToken;
use ulid::Ulid;
use uuid::Uuid;

use super::{
    accessor, on_conn,
    pagination::{self, Bind, Conditions, Page, Pagination},
    Mode, Table, Write,
};
use crate::{
    types::{to_ulid, to_uuid, Timestamp},
    StorageError,
};

#[derive(sqlx::FromRow)]
struct TokenRow {
    user_registration_token_id: Uuid,
    token: String,
    usage_limit: Option<i64>,
    times_used: i64,
    created_at: Timestamp,
    last_used_at: Option<Timestamp>,
    expires_at: Option<Timestamp>,
    revoked_at: Option<Timestamp>,
}

/// `user_registration_tokens`, in the order of [`TokenRow`].
const TOKENS: Table = Table {
    name: "user_registration_tokens",
    alias: "",
    columns: &[
        "user_registration_token_id",
        "token",
        "usage_limit",
        "times_used",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    ],
};

impl From<TokenRow> for RegistrationToken {
    fn from(row: TokenRow) -> Self {
        // The columns are written from u64 values; a negative one can only
        // come from a hand edit and counts as zero.
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        Self {
            id: to_ulid(row.user_registration_token_id),
            token: row.token,
            usage_limit: row.usage_limit.map(count),
            times_used: count(row.times_used),
            created_at: row.created_at.0,
            last_used_at: row.last_used_at.map(|t| t.0),
            expires_at: row.expires_at.map(|t| t.0),
            revoked_at: row.revoked_at.map(|t| t.0),
        }
    }
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

accessor! {
    /// The `user_registration_tokens` table.
    RegistrationTokens, registration_tokens
}

/// Which tokens a list shows; every field narrows it.
#[derive(Debug, Clone, Default)]
pub struct TokenFilter {
    /// Used at least once (or never).
    pub used: Option<bool>,
    pub revoked: Option<bool>,
    /// Past their expiry at `now` (or not).
    pub expired: Option<bool>,
    /// Usable at `now`: not revoked, not expired, under their limit (or
    /// not).
    pub valid: Option<bool>,
    pub now: DateTime<Utc>,
}

impl TokenFilter {
    fn conditions(&self) -> Conditions {
        let mut c = Conditions::default();
        let now = || Bind::Time(Timestamp(self.now));
        if let Some(used) = self.used {
            c.add(if used {
                "times_used > 0"
            } else {
                "times_used = 0"
            });
        }
        if let Some(revoked) = self.revoked {
            c.add(if revoked {
                "revoked_at IS NOT NULL"
            } else {
                "revoked_at IS NULL"
            });
        }
        match self.expired {
            Some(true) => c.add_bind("(expires_at IS NOT NULL AND expires_at <= ?)", now()),
            Some(false) => c.add_bind("(expires_at IS NULL OR expires_at > ?)", now()),
            None => {}
        }
        match self.valid {
            Some(true) => c.add_bind(
                "(revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?) \
                 AND (usage_limit IS NULL OR times_used < usage_limit))",
                now(),
            ),
            Some(false) => c.add_bind(
                "(revoked_at IS NOT NULL OR (expires_at IS NOT NULL AND expires_at <= ?) \
                 OR (usage_limit IS NOT NULL AND times_used >= usage_limit))",
                now(),
            ),
            None => {}
        }
        c
    }
}

impl<M: Mode> RegistrationTokens<'_, M> {
    pub async fn find(&mut self, id: Ulid) -> Result<Option<RegistrationToken>, StorageError> {
        let row: Option<TokenRow> = TOKENS
            .find_where(self.tx, "user_registration_token_id = $1", to_uuid(id))
            .await?;
        Ok(row.map(RegistrationToken::from))
    }

    /// The token whose text is `token` (exactly: tokens are case-sensitive).
    pub async fn find_by_token(
        &mut self,
        token: &str,
    ) -> Result<Option<RegistrationToken>, StorageError> {
        let row: Option<TokenRow> = TOKENS
            .find_where(self.tx, "token = $1", token.to_owned())
            .await?;
        Ok(row.map(RegistrationToken::from))
    }
}

impl<M: Mode> RegistrationTokens<'_, M> {
    /// A page of the tokens matching `filter`.
    pub async fn page(
        &mut self,
        filter: &TokenFilter,
        pagination: Pagination,
    ) -> Result<Page<RegistrationToken>, StorageError> {
        let conditions = filter.conditions();
        let page: Page<TokenRow> = pagination::page(
            self.tx,
            &TOKENS,
            "user_registration_token_id",
            &conditions,
            pagination,
        )
        .await?;
        Ok(page.map(RegistrationToken::from))
    }

    /// How many tokens match `filter`.
    pub async fn count_matching(&mut self, filter: &TokenFilter) -> Result<u64, StorageError> {
        pagination::count(self.tx, &TOKENS, &filter.conditions()).await
    }
}

impl RegistrationTokens<'_, Write> {
    /// Makes a revoked token usable again; `false` when it was not revoked.
    pub async fn unrevoke(&mut self, id: Ulid) -> Result<bool, StorageError> {
        let changed = on_conn!(self, |conn| {
            sqlx::query(
                "UPDATE user_registration_tokens SET revoked_at = NULL
                 WHERE user_registration_token_id = $1 AND revoked_at IS NOT NULL",
            )
            .bind(to_uuid(id))
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(changed == 1)
    }

    /// Sets the token's expiry and usage limit (`None`: never, unlimited).
    pub async fn update(
        &mut self,
        id: Ulid,
        expires_at: Option<DateTime<Utc>>,
        usage_limit: Option<u64>,
    ) -> Result<(), StorageError> {
        on_conn!(self, |conn| {
            sqlx::query(
                "UPDATE user_registration_tokens SET expires_at = $1, usage_limit = $2
                 WHERE user_registration_token_id = $3",
            )
            .bind(expires_at.map(Timestamp))
            .bind(usage_limit.map(to_i64))
            .bind(to_uuid(id))
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Stores a new token; a token text that exists is
    /// [`StorageError::Conflict`].
    pub async fn add(&mut self, token: &RegistrationToken) -> Result<(), StorageError> {
        on_conn!(self, |conn| {
            sqlx::query(
                "INSERT INTO user_registration_tokens
                   (user_registration_token_id, token, usage_limit, times_used,
                    created_at, last_used_at, expires_at, revoked_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(to_uuid(token.id))
            .bind(token.token.as_str())
            .bind(token.usage_limit.map(to_i64))
            .bind(to_i64(token.times_used))
            .bind(Timestamp(token.created_at))
            .bind(token.last_used_at.map(Timestamp))
            .bind(token.expires_at.map(Timestamp))
            .bind(token.revoked_at.map(Timestamp))
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
            .map_err(StorageError::conflict_as("this registration token"))
        })?;
        Ok(())
    }

    /// Counts one use, only if the token is still usable at `now` (not
    /// revoked, not expired, under its limit): `false` otherwise. One
    /// statement, so two registrations racing for a token's last use
    /// cannot both get it.
    pub async fn use_once(&mut self, id: Ulid, now: DateTime<Utc>) -> Result<bool, StorageError> {
        let changed = on_conn!(self, |conn| {
            sqlx::query(
                "UPDATE user_registration_tokens
                 SET times_used = times_used + 1, last_used_at = $1
                 WHERE user_registration_token_id = $2
                   AND revoked_at IS NULL
                   AND (expires_at IS NULL OR expires_at > $1)
                   AND (usage_limit IS NULL OR times_used < usage_limit)",
            )
            .bind(Timestamp(now))
            .bind(to_uuid(id))
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(changed == 1)
    }

    /// Revokes the token; `false` when it already was.
    pub async fn revoke(&mut self, id: Ulid, now: DateTime<Utc>) -> Result<bool, StorageError> {
        let changed = self
            .tx
            .exec_at(
                "UPDATE user_registration_tokens SET revoked_at = $1
                 WHERE user_registration_token_id = $2 AND revoked_at IS NULL",
                now,
                id,
            )
            .await?;
        Ok(changed == 1)
    }
}
