//! The `user_passwords` table: every hash a user ever had; the newest counts.

use chrono::{DateTime, Utc};
use mxauth_model::{User, UserPassword};
use ulid::Ulid;
use uuid::Uuid;

use super::{accessor, on_conn, Mode, Table, Write};
use crate::{
    types::{to_ulid, to_uuid, Timestamp},
    StorageError,
};

#[derive(sqlx::FromRow)]
struct PasswordRow {
    user_password_id: Uuid,
    user_id: Uuid,
    hashed_password: String,
    version: i64,
    upgraded_from_id: Option<Uuid>,
    created_at: Timestamp,
}

impl TryFrom<PasswordRow> for UserPassword {
    type Error = StorageError;

    fn try_from(row: PasswordRow) -> Result<Self, StorageError> {
        Ok(UserPassword {
            id: to_ulid(row.user_password_id),
            user_id: to_ulid(row.user_id),
            hashed_password: row.hashed_password,
            version: u16::try_from(row.version).map_err(|_| StorageError::Malformed {
                table: USER_PASSWORDS.name,
                column: "version",
                reason: format!("password scheme version {} is out of range", row.version),
            })?,
            upgraded_from_id: row.upgraded_from_id.map(to_ulid),
            created_at: row.created_at.0,
        })
    }
}

/// A new password hash to store.
pub struct NewPassword<'a> {
    pub id: Ulid,
    pub hashed_password: &'a str,
    pub version: u16,
    /// Set when this hash replaces an older-scheme hash of the same password.
    pub upgraded_from: Option<&'a UserPassword>,
}

/// `user_passwords`, in the order of [`PasswordRow`].
const USER_PASSWORDS: Table = Table {
    name: "user_passwords",
    alias: "",
    columns: &[
        "user_password_id",
        "user_id",
        "hashed_password",
        "version",
        "upgraded_from_id",
        "created_at",
    ],
};

accessor! {
    /// The `user_passwords` table: every hash a user had; the newest counts.
    UserPasswords, user_passwords
}

impl UserPasswords<'_, Write> {
    /// Stores a new hash for `user`; it becomes the active one.
    pub async fn add(
        &mut self,
        user: &User,
        new: NewPassword<'_>,
        now: DateTime<Utc>,
    ) -> Result<UserPassword, StorageError> {
        let upgraded_from_id = new.upgraded_from.map(|p| p.id);
        on_conn!(self, |conn| {
            sqlx::query(
                "INSERT INTO user_passwords
                   (user_password_id, user_id, hashed_password, version, upgraded_from_id, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(to_uuid(new.id))
            .bind(to_uuid(user.id))
            .bind(new.hashed_password)
            .bind(i64::from(new.version))
            .bind(upgraded_from_id.map(to_uuid))
            .bind(Timestamp(now))
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(UserPassword {
            id: new.id,
            user_id: user.id,
            hashed_password: new.hashed_password.to_owned(),
            version: new.version,
            upgraded_from_id,
            created_at: now,
        })
    }
}

impl<M: Mode> UserPasswords<'_, M> {
    /// The newest hash of `user`, if they have a password at all.
    pub async fn active(&mut self, user: &User) -> Result<Option<UserPassword>, StorageError> {
        let row: Option<PasswordRow> = USER_PASSWORDS
            .find_where(
                self.tx,
                "user_id = $1 ORDER BY created_at DESC, user_password_id DESC LIMIT 1",
                to_uuid(user.id),
            )
            .await?;
        row.map(UserPassword::try_from).transpose()
    }
}
