//! `compat_sso_logins`: the legacy SSO redirect flow. A login starts with
//! the client's redirect URL, is fulfilled when the person confirms in the
//! browser (a one-time login token is issued then; only its digest is
//! stored), and is exchanged once for a compat session.

use chrono::{DateTime, Utc};
use ulid::Ulid;
use uuid::Uuid;

use super::{accessor, on_conn, Mode, Table, Write};
use crate::{
    types::{to_ulid, to_uuid, Timestamp},
    StorageError,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompatSsoLogin {
    pub id: Ulid,
    pub redirect_uri: String,
    pub browser_session_id: Option<Ulid>,
    pub compat_session_id: Option<Ulid>,
    pub created_at: DateTime<Utc>,
    pub fulfilled_at: Option<DateTime<Utc>>,
    pub exchanged_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct Row {
    compat_sso_login_id: Uuid,
    redirect_uri: String,
    user_session_id: Option<Uuid>,
    compat_session_id: Option<Uuid>,
    created_at: Timestamp,
    fulfilled_at: Option<Timestamp>,
    exchanged_at: Option<Timestamp>,
}

impl From<Row> for CompatSsoLogin {
    fn from(r: Row) -> Self {
        CompatSsoLogin {
            id: to_ulid(r.compat_sso_login_id),
            redirect_uri: r.redirect_uri,
            browser_session_id: r.user_session_id.map(to_ulid),
            compat_session_id: r.compat_session_id.map(to_ulid),
            created_at: r.created_at.0,
            fulfilled_at: r.fulfilled_at.map(|t| t.0),
            exchanged_at: r.exchanged_at.map(|t| t.0),
        }
    }
}

/// `compat_sso_logins`, in the order of [`Row`].
const COMPAT_SSO_LOGINS: Table = Table {
    name: "compat_sso_logins",
    alias: "",
    columns: &[
        "compat_sso_login_id",
        "redirect_uri",
        "user_session_id",
        "compat_session_id",
        "created_at",
        "fulfilled_at",
        "exchanged_at",
    ],
};

accessor! {
    /// The `compat_sso_logins` table: the legacy SSO redirect flow.
    CompatSsoLogins, compat_sso_logins
}

impl<M: Mode> CompatSsoLogins<'_, M> {
    pub async fn find(&mut self, id: Ulid) -> Result<Option<CompatSsoLogin>, StorageError> {
        let row: Option<Row> = COMPAT_SSO_LOGINS
            .find_where(self.tx, "compat_sso_login_id = $1", to_uuid(id))
            .await?;
        Ok(row.map(CompatSsoLogin::from))
    }

    pub async fn find_by_token_digest(
        &mut self,
        digest: &str,
    ) -> Result<Option<CompatSsoLogin>, StorageError> {
        let row: Option<Row> = COMPAT_SSO_LOGINS
            .find_where(self.tx, "login_token_sha256 = $1", digest.to_owned())
            .await?;
        Ok(row.map(CompatSsoLogin::from))
    }
}

impl CompatSsoLogins<'_, Write> {
    /// Starts a login. `placeholder_digest` fills the token column until the
    /// real token exists (it must be unique; a random digest is fine).
    pub async fn add(
        &mut self,
        id: Ulid,
        redirect_uri: &str,
        placeholder_digest: &str,
        now: DateTime<Utc>,
    ) -> Result<CompatSsoLogin, StorageError> {
        on_conn!(self, |conn| {
            sqlx::query(
                "INSERT INTO compat_sso_logins (compat_sso_login_id, redirect_uri, login_token_sha256, created_at)
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(to_uuid(id))
            .bind(redirect_uri)
            .bind(placeholder_digest)
            .bind(Timestamp(now))
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(CompatSsoLogin {
            id,
            redirect_uri: redirect_uri.to_owned(),
            browser_session_id: None,
            compat_session_id: None,
            created_at: now,
            fulfilled_at: None,
            exchanged_at: None,
        })
    }

    /// The person confirmed: records their browser session and the digest of
    /// the login token handed to the client. Only once.
    pub async fn fulfill(
        &mut self,
        id: Ulid,
        browser_session_id: Ulid,
        token_digest: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        let changed = on_conn!(self, |conn| {
            sqlx::query(
                "UPDATE compat_sso_logins
                 SET fulfilled_at = $1, user_session_id = $2, login_token_sha256 = $3
                 WHERE compat_sso_login_id = $4 AND fulfilled_at IS NULL",
            )
            .bind(Timestamp(now))
            .bind(to_uuid(browser_session_id))
            .bind(token_digest)
            .bind(to_uuid(id))
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(changed == 1)
    }

    /// The login token was used. Atomic: only one exchange succeeds.
    pub async fn exchange(
        &mut self,
        id: Ulid,
        compat_session_id: Ulid,
        now: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        let changed = on_conn!(self, |conn| {
            sqlx::query(
                "UPDATE compat_sso_logins SET exchanged_at = $1, compat_session_id = $2
                 WHERE compat_sso_login_id = $3 AND fulfilled_at IS NOT NULL AND exchanged_at IS NULL",
            )
            .bind(Timestamp(now))
            .bind(to_uuid(compat_session_id))
            .bind(to_uuid(id))
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(changed == 1)
    }
}
