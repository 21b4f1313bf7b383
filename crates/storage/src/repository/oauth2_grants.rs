//! `oauth2_authorization_grants`: authorization requests, from `/authorize`
//! through consent to the code exchange. The code is stored as a digest.

use chrono::{DateTime, Utc};
use mxauth_model::oauth2::AuthorizationGrant;
use ulid::Ulid;
use uuid::Uuid;

use super::{accessor, on_conn, Mode, Table, Write};
use crate::{
    types::{parse_scope, parse_stored, to_ulid, to_uuid, Timestamp},
    StorageError,
};

#[derive(sqlx::FromRow)]
struct GrantRow {
    oauth2_authorization_grant_id: Uuid,
    oauth2_client_id: Uuid,
    redirect_uri: String,
    redirect_uri_sent: bool,
    scope: String,
    state: Option<String>,
    nonce: Option<String>,
    response_mode: String,
    response_type_code: bool,
    response_type_id_token: bool,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    login_hint: Option<String>,
    prompt: Option<String>,
    locale: Option<String>,
    created_at: Timestamp,
    fulfilled_at: Option<Timestamp>,
    cancelled_at: Option<Timestamp>,
    exchanged_at: Option<Timestamp>,
    user_session_id: Option<Uuid>,
    oauth2_session_id: Option<Uuid>,
}

impl TryFrom<GrantRow> for AuthorizationGrant {
    type Error = StorageError;

    fn try_from(r: GrantRow) -> Result<Self, StorageError> {
        let table = GRANTS.name;
        Ok(AuthorizationGrant {
            id: to_ulid(r.oauth2_authorization_grant_id),
            client_id: to_ulid(r.oauth2_client_id),
            redirect_uri: r.redirect_uri,
            redirect_uri_sent: r.redirect_uri_sent,
            scope: parse_scope(table, "scope", &r.scope)?,
            state: r.state,
            nonce: r.nonce,
            response_mode: parse_stored(table, "response_mode", &r.response_mode)?,
            response_type_code: r.response_type_code,
            response_type_id_token: r.response_type_id_token,
            code_challenge: r.code_challenge,
            code_challenge_method: r
                .code_challenge_method
                .map(|m| parse_stored(table, "code_challenge_method", &m))
                .transpose()?,
            login_hint: r.login_hint,
            prompt: r.prompt,
            locale: r.locale,
            created_at: r.created_at.0,
            fulfilled_at: r.fulfilled_at.map(|t| t.0),
            cancelled_at: r.cancelled_at.map(|t| t.0),
            exchanged_at: r.exchanged_at.map(|t| t.0),
            browser_session_id: r.user_session_id.map(to_ulid),
            session_id: r.oauth2_session_id.map(to_ulid),
        })
    }
}

/// `oauth2_authorization_grants`, in the order of [`GrantRow`].
const GRANTS: Table = Table {
    name: "oauth2_authorization_grants",
    alias: "",
    columns: &[
        "oauth2_authorization_grant_id",
        "oauth2_client_id",
        "redirect_uri",
        "redirect_uri_sent",
        "scope",
        "state",
        "nonce",
        "response_mode",
        "response_type_code",
        "response_type_id_token",
        "code_challenge",
        "code_challenge_method",
        "login_hint",
        "prompt",
        "locale",
        "created_at",
        "fulfilled_at",
        "cancelled_at",
        "exchanged_at",
        "user_session_id",
        "oauth2_session_id",
    ],
};

accessor! {
    /// The `oauth2_authorization_grants` table: authorization requests.
    AuthorizationGrants, oauth2_grants
}

impl<M: Mode> AuthorizationGrants<'_, M> {
    pub async fn find(&mut self, id: Ulid) -> Result<Option<AuthorizationGrant>, StorageError> {
        let row: Option<GrantRow> = GRANTS
            .find_where(self.tx, "oauth2_authorization_grant_id = $1", to_uuid(id))
            .await?;
        row.map(AuthorizationGrant::try_from).transpose()
    }

    /// The grant whose code has this digest.
    pub async fn find_by_code_digest(
        &mut self,
        digest: &str,
    ) -> Result<Option<AuthorizationGrant>, StorageError> {
        let row: Option<GrantRow> = GRANTS
            .find_where(self.tx, "authorization_code_sha256 = $1", digest.to_owned())
            .await?;
        row.map(AuthorizationGrant::try_from).transpose()
    }
}

impl AuthorizationGrants<'_, Write> {
    /// Stores a new, pending grant.
    pub async fn add(&mut self, g: &AuthorizationGrant) -> Result<(), StorageError> {
        on_conn!(self, |conn| {
            sqlx::query(
                "INSERT INTO oauth2_authorization_grants
                   (oauth2_authorization_grant_id, oauth2_client_id, redirect_uri, scope, state,
                    nonce, response_mode, response_type_code, response_type_id_token,
                    code_challenge, code_challenge_method, login_hint, prompt, locale, created_at,
                    redirect_uri_sent)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
            )
            .bind(to_uuid(g.id))
            .bind(to_uuid(g.client_id))
            .bind(&g.redirect_uri)
            .bind(g.scope.to_string())
            .bind(g.state.as_deref())
            .bind(g.nonce.as_deref())
            .bind(g.response_mode.as_str())
            .bind(g.response_type_code)
            .bind(g.response_type_id_token)
            .bind(g.code_challenge.as_deref())
            .bind(g.code_challenge_method.map(|m| m.as_str()))
            .bind(g.login_hint.as_deref())
            .bind(g.prompt.as_deref())
            .bind(g.locale.as_deref())
            .bind(Timestamp(g.created_at))
            .bind(g.redirect_uri_sent)
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Consent given: binds the grant to the browser session and records the
    /// digest of the code handed to the client. Only a pending grant moves;
    /// returns whether it did.
    pub async fn fulfill(
        &mut self,
        id: Ulid,
        browser_session_id: Ulid,
        code_digest: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        let changed = on_conn!(self, |conn| {
            sqlx::query(
                "UPDATE oauth2_authorization_grants
                 SET fulfilled_at = $1, user_session_id = $2, authorization_code_sha256 = $3
                 WHERE oauth2_authorization_grant_id = $4
                   AND fulfilled_at IS NULL AND cancelled_at IS NULL",
            )
            .bind(Timestamp(now))
            .bind(to_uuid(browser_session_id))
            .bind(code_digest)
            .bind(to_uuid(id))
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(changed == 1)
    }

    /// The code was redeemed. Atomic: of two concurrent exchanges of the
    /// same code only one sees `true` (RFC 6749 §4.1.2: single use).
    pub async fn exchange(
        &mut self,
        id: Ulid,
        session_id: Ulid,
        now: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        let changed = on_conn!(self, |conn| {
            sqlx::query(
                "UPDATE oauth2_authorization_grants SET exchanged_at = $1, oauth2_session_id = $2
                 WHERE oauth2_authorization_grant_id = $3
                   AND fulfilled_at IS NOT NULL AND exchanged_at IS NULL AND cancelled_at IS NULL",
            )
            .bind(Timestamp(now))
            .bind(to_uuid(session_id))
            .bind(to_uuid(id))
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(changed == 1)
    }

    /// The user refused, or the request was abandoned.
    pub async fn cancel(&mut self, id: Ulid, now: DateTime<Utc>) -> Result<bool, StorageError> {
        let changed = self
            .tx
            .exec_at(
                "UPDATE oauth2_authorization_grants SET cancelled_at = $1
                 WHERE oauth2_authorization_grant_id = $2
                   AND cancelled_at IS NULL AND exchanged_at IS NULL",
                now,
                id,
            )
            .await?;
        Ok(changed == 1)
    }
}
