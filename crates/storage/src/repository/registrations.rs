//! The `user_registrations` table (registrations in progress) and
//! `user_terms` (the terms of service each user accepted).

use chrono::{DateTime, Utc};
use mxauth_model::{User, UserRegistration};
use ulid::Ulid;
use uuid::Uuid;

use super::{accessor, on_conn, Mode, Table, Write};
use crate::{
    types::{to_ulid, to_uuid, Timestamp},
    StorageError,
};

#[derive(sqlx::FromRow)]
struct RegistrationRow {
    user_registration_id: Uuid,
    ip_address: Option<String>,
    user_agent: Option<String>,
    post_auth_next: String,
    username: String,
    display_name: Option<String>,
    terms_url: Option<String>,
    email_authentication_id: Option<Uuid>,
    user_registration_token_id: Option<Uuid>,
    hashed_password: Option<String>,
    hashed_password_version: Option<i64>,
    created_at: Timestamp,
    completed_at: Option<Timestamp>,
}

/// `user_registrations`, in the order of [`RegistrationRow`].
const REGISTRATIONS: Table = Table {
    name: "user_registrations",
    alias: "",
    columns: &[
        "user_registration_id",
        "ip_address",
        "user_agent",
        "post_auth_next",
        "username",
        "display_name",
        "terms_url",
        "email_authentication_id",
        "user_registration_token_id",
        "hashed_password",
        "hashed_password_version",
        "created_at",
        "completed_at",
    ],
};

impl TryFrom<RegistrationRow> for UserRegistration {
    type Error = StorageError;

    fn try_from(row: RegistrationRow) -> Result<Self, StorageError> {
        let hashed_password = match (row.hashed_password_version, row.hashed_password) {
            (Some(version), Some(hash)) => {
                let version = u16::try_from(version).map_err(|_| StorageError::Malformed {
                    table: "user_registrations",
                    column: "hashed_password_version",
                    reason: format!("password scheme version {version} is out of range"),
                })?;
                Some((version, hash))
            }
            _ => None,
        };
        Ok(Self {
            id: to_ulid(row.user_registration_id),
            ip_address: row.ip_address,
            user_agent: row.user_agent,
            post_auth_next: row.post_auth_next,
            username: row.username,
            display_name: row.display_name,
            terms_url: row.terms_url,
            email_authentication_id: row.email_authentication_id.map(to_ulid),
            registration_token_id: row.user_registration_token_id.map(to_ulid),
            hashed_password,
            created_at: row.created_at.0,
            completed_at: row.completed_at.map(|t| t.0),
        })
    }
}

accessor! {
    /// The `user_registrations` and `user_terms` tables.
    Registrations, registrations
}

impl<M: Mode> Registrations<'_, M> {
    pub async fn find(&mut self, id: Ulid) -> Result<Option<UserRegistration>, StorageError> {
        let row: Option<RegistrationRow> = REGISTRATIONS
            .find_where(self.tx, "user_registration_id = $1", to_uuid(id))
            .await?;
        row.map(UserRegistration::try_from).transpose()
    }

    /// The registration proving its address with authentication `id`.
    pub async fn find_by_email_authentication(
        &mut self,
        id: Ulid,
    ) -> Result<Option<UserRegistration>, StorageError> {
        let row: Option<RegistrationRow> = REGISTRATIONS
            .find_where(self.tx, "email_authentication_id = $1", to_uuid(id))
            .await?;
        row.map(UserRegistration::try_from).transpose()
    }

    /// The terms URLs `user` accepted, oldest first.
    pub async fn terms_of(&mut self, user: &User) -> Result<Vec<String>, StorageError> {
        let rows: Vec<(String,)> = on_conn!(self, |conn| {
            sqlx::query_as(
                "SELECT terms_url FROM user_terms WHERE user_id = $1 ORDER BY user_terms_id",
            )
            .bind(to_uuid(user.id))
            .fetch_all(conn)
            .await
        })?;
        Ok(rows.into_iter().map(|(url,)| url).collect())
    }
}

impl Registrations<'_, Write> {
    pub async fn add(&mut self, r: &UserRegistration) -> Result<(), StorageError> {
        let (version, hash) = match &r.hashed_password {
            Some((version, hash)) => (Some(i64::from(*version)), Some(hash.as_str())),
            None => (None, None),
        };
        on_conn!(self, |conn| {
            sqlx::query(
                "INSERT INTO user_registrations
                   (user_registration_id, ip_address, user_agent, post_auth_next, username,
                    display_name, terms_url, email_authentication_id, user_registration_token_id,
                    hashed_password, hashed_password_version, created_at, completed_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            )
            .bind(to_uuid(r.id))
            .bind(r.ip_address.as_deref())
            .bind(r.user_agent.as_deref())
            .bind(r.post_auth_next.as_str())
            .bind(r.username.as_str())
            .bind(r.display_name.as_deref())
            .bind(r.terms_url.as_deref())
            .bind(r.email_authentication_id.map(to_uuid))
            .bind(r.registration_token_id.map(to_uuid))
            .bind(hash)
            .bind(version)
            .bind(Timestamp(r.created_at))
            .bind(r.completed_at.map(Timestamp))
            .execute(conn)
            .await
            .map(|rows| rows.rows_affected())
            .map_err(StorageError::conflict_as("this registration"))
        })?;
        Ok(())
    }

    /// Records the token typed at the token step.
    pub async fn set_token(&mut self, id: Ulid, token_id: Ulid) -> Result<(), StorageError> {
        self.set_column("user_registration_token_id", id, to_uuid(token_id))
            .await
    }

    /// Records the display name of the display-name step.
    pub async fn set_display_name(&mut self, id: Ulid, name: &str) -> Result<(), StorageError> {
        self.set_column("display_name", id, name.to_owned()).await
    }

    async fn set_column(
        &mut self,
        column: &'static str,
        id: Ulid,
        value: impl super::BindValue,
    ) -> Result<(), StorageError> {
        let sql = format!(
            "UPDATE user_registrations SET {column} = $1
             WHERE user_registration_id = $2 AND completed_at IS NULL"
        );
        on_conn!(self, |conn| {
            sqlx::query(&sql)
                .bind(value)
                .bind(to_uuid(id))
                .execute(conn)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Marks the registration done, once: `false` when it already was (the
    /// finish page reloaded in a second tab), so one user is created.
    pub async fn complete(&mut self, id: Ulid, now: DateTime<Utc>) -> Result<bool, StorageError> {
        let changed = self
            .tx
            .exec_at(
                "UPDATE user_registrations SET completed_at = $1
                 WHERE user_registration_id = $2 AND completed_at IS NULL",
                now,
                id,
            )
            .await?;
        Ok(changed == 1)
    }

    /// Records that `user` accepted the terms at `terms_url`.
    pub async fn accept_terms(
        &mut self,
        id: Ulid,
        user: &User,
        terms_url: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        on_conn!(self, |conn| {
            sqlx::query(
                "INSERT INTO user_terms (user_terms_id, user_id, terms_url, created_at)
                 VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, terms_url) DO NOTHING",
            )
            .bind(to_uuid(id))
            .bind(to_uuid(user.id))
            .bind(terms_url)
            .bind(Timestamp(now))
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Removes unfinished registrations started before `cutoff` (they can
    /// no longer finish) and finished ones too (the user exists). Returns
    /// how many went.
    pub async fn remove_created_before(
        &mut self,
        cutoff: DateTime<Utc>,
    ) -> Result<u64, StorageError> {
        Ok(on_conn!(self, |conn| {
            sqlx::query("DELETE FROM user_registrations WHERE created_at < $1")
                .bind(Timestamp(cutoff))
                .execute(conn)
                .await
                .map(|r| r.rows_affected())
        })?)
    }
}
