//! `user_email_authentications` and `user_email_authentication_codes`:
//! attempts to prove an address, and the codes sent for them (as keyed
//! digests only).

use chrono::{DateTime, Utc};
use mxauth_model::{EmailAuthentication, EmailAuthenticationCode};
use ulid::Ulid;
use uuid::Uuid;

use super::{accessor, on_conn, Mode, Table, Write};
use crate::{
    types::{to_ulid, to_uuid, Timestamp},
    StorageError,
};

#[derive(sqlx::FromRow)]
struct AuthenticationRow {
    user_email_authentication_id: Uuid,
    user_id: Option<Uuid>,
    email: String,
    created_at: Timestamp,
    completed_at: Option<Timestamp>,
}

/// `user_email_authentications`, in the order of [`AuthenticationRow`].
const AUTHENTICATIONS: Table = Table {
    name: "user_email_authentications",
    alias: "",
    columns: &[
        "user_email_authentication_id",
        "user_id",
        "email",
        "created_at",
        "completed_at",
    ],
};

impl From<AuthenticationRow> for EmailAuthentication {
    fn from(row: AuthenticationRow) -> Self {
        Self {
            id: to_ulid(row.user_email_authentication_id),
            user_id: row.user_id.map(to_ulid),
            email: row.email,
            created_at: row.created_at.0,
            completed_at: row.completed_at.map(|t| t.0),
        }
    }
}

#[derive(sqlx::FromRow)]
struct CodeRow {
    user_email_authentication_code_id: Uuid,
    user_email_authentication_id: Uuid,
    code_digest: String,
    created_at: Timestamp,
    expires_at: Timestamp,
    consumed_at: Option<Timestamp>,
}

/// `user_email_authentication_codes`, in the order of [`CodeRow`].
const CODES: Table = Table {
    name: "user_email_authentication_codes",
    alias: "",
    columns: &[
        "user_email_authentication_code_id",
        "user_email_authentication_id",
        "code_digest",
        "created_at",
        "expires_at",
        "consumed_at",
    ],
};

impl From<CodeRow> for EmailAuthenticationCode {
    fn from(row: CodeRow) -> Self {
        Self {
            id: to_ulid(row.user_email_authentication_code_id),
            authentication_id: to_ulid(row.user_email_authentication_id),
            code_digest: row.code_digest,
            created_at: row.created_at.0,
            expires_at: row.expires_at.0,
            consumed_at: row.consumed_at.map(|t| t.0),
        }
    }
}

accessor! {
    /// The `user_email_authentications` table and its codes.
    EmailAuthentications, email_authentications
}

impl<M: Mode> EmailAuthentications<'_, M> {
    pub async fn find(&mut self, id: Ulid) -> Result<Option<EmailAuthentication>, StorageError> {
        let row: Option<AuthenticationRow> = AUTHENTICATIONS
            .find_where(self.tx, "user_email_authentication_id = $1", to_uuid(id))
            .await?;
        Ok(row.map(EmailAuthentication::from))
    }

    /// The codes sent for an authentication, oldest first.
    pub async fn codes(
        &mut self,
        authentication_id: Ulid,
    ) -> Result<Vec<EmailAuthenticationCode>, StorageError> {
        let rows: Vec<CodeRow> = CODES
            .list_where(
                self.tx,
                "user_email_authentication_id = $1 ORDER BY user_email_authentication_code_id",
                to_uuid(authentication_id),
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(EmailAuthenticationCode::from)
            .collect())
    }
}

impl EmailAuthentications<'_, Write> {
    /// Starts an authentication (not completed, no code yet).
    pub async fn add(&mut self, authentication: &EmailAuthentication) -> Result<(), StorageError> {
        on_conn!(self, |conn| {
            sqlx::query(
                "INSERT INTO user_email_authentications
                   (user_email_authentication_id, user_id, email, created_at, completed_at)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(to_uuid(authentication.id))
            .bind(authentication.user_id.map(to_uuid))
            .bind(authentication.email.as_str())
            .bind(Timestamp(authentication.created_at))
            .bind(authentication.completed_at.map(Timestamp))
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
            .map_err(StorageError::conflict_as("this email authentication"))
        })?;
        Ok(())
    }

    /// Marks the authentication completed, once: `false` when it already
    /// was (a second tab typed a code first).
    pub async fn complete(&mut self, id: Ulid, now: DateTime<Utc>) -> Result<bool, StorageError> {
        let changed = self
            .tx
            .exec_at(
                "UPDATE user_email_authentications SET completed_at = $1
                 WHERE user_email_authentication_id = $2 AND completed_at IS NULL",
                now,
                id,
            )
            .await?;
        Ok(changed == 1)
    }

    /// Stores a code's digest for its authentication.
    pub async fn add_code(&mut self, code: &EmailAuthenticationCode) -> Result<(), StorageError> {
        on_conn!(self, |conn| {
            sqlx::query(
                "INSERT INTO user_email_authentication_codes
                   (user_email_authentication_code_id, user_email_authentication_id,
                    code_digest, created_at, expires_at, consumed_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(to_uuid(code.id))
            .bind(to_uuid(code.authentication_id))
            .bind(code.code_digest.as_str())
            .bind(Timestamp(code.created_at))
            .bind(Timestamp(code.expires_at))
            .bind(code.consumed_at.map(Timestamp))
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
            .map_err(StorageError::conflict_as("this email authentication code"))
        })?;
        Ok(())
    }

    /// Marks a code used, once: `false` when it already was, so two
    /// requests racing with one code cannot both succeed.
    pub async fn consume_code(
        &mut self,
        code_id: Ulid,
        now: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        let changed = self
            .tx
            .exec_at(
                "UPDATE user_email_authentication_codes SET consumed_at = $1
                 WHERE user_email_authentication_code_id = $2 AND consumed_at IS NULL",
                now,
                code_id,
            )
            .await?;
        Ok(changed == 1)
    }

    /// Removes authentications created before `cutoff`, with their codes
    /// (MAS keeps them 7 days). Returns how many authentications went.
    pub async fn remove_created_before(
        &mut self,
        cutoff: DateTime<Utc>,
    ) -> Result<u64, StorageError> {
        on_conn!(self, |conn| {
            sqlx::query(
                "DELETE FROM user_email_authentication_codes
                 WHERE user_email_authentication_id IN (
                   SELECT user_email_authentication_id FROM user_email_authentications
                   WHERE created_at < $1)",
            )
            .bind(Timestamp(cutoff))
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(on_conn!(self, |conn| {
            sqlx::query("DELETE FROM user_email_authentications WHERE created_at < $1")
                .bind(Timestamp(cutoff))
                .execute(conn)
                .await
                .map(|r| r.rows_affected())
        })?)
    }
}
