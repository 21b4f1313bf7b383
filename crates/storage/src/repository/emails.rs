//! The `user_emails` table: confirmed email addresses of users.

use chrono::{DateTime, Utc};
use mxauth_model::{User, UserEmail};
use ulid::Ulid;
use uuid::Uuid;

use super::{on_conn, Repository};
use crate::{
    types::{to_ulid, to_uuid, Timestamp},
    StorageError,
};

#[derive(sqlx::FromRow)]
struct EmailRow {
    user_email_id: Uuid,
    user_id: Uuid,
    email: String,
    created_at: Timestamp,
}

impl From<EmailRow> for UserEmail {
    fn from(row: EmailRow) -> Self {
        UserEmail {
            id: to_ulid(row.user_email_id),
            user_id: to_ulid(row.user_id),
            email: row.email,
            created_at: row.created_at.0,
        }
    }
}

const COLUMNS: &str = "user_email_id, user_id, email, created_at";

impl Repository {
    /// Adds a confirmed address. The same address twice for one user (in any
    /// letter case) is [`StorageError::Conflict`].
    pub async fn add_user_email(
        &mut self,
        id: Ulid,
        user: &User,
        email: &str,
        now: DateTime<Utc>,
    ) -> Result<UserEmail, StorageError> {
        on_conn!(self, |conn| {
            sqlx::query(
                "INSERT INTO user_emails (user_email_id, user_id, email, created_at)
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(to_uuid(id))
            .bind(to_uuid(user.id))
            .bind(email)
            .bind(Timestamp(now))
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
            .map_err(StorageError::conflict_as(
                "this email address for this user",
            ))
        })?;
        Ok(UserEmail {
            id,
            user_id: user.id,
            email: email.to_owned(),
            created_at: now,
        })
    }

    /// The user's address equal to `email`, ignoring letter case.
    pub async fn find_user_email(
        &mut self,
        user: &User,
        email: &str,
    ) -> Result<Option<UserEmail>, StorageError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM user_emails WHERE user_id = $1 AND LOWER(email) = LOWER($2)"
        );
        let row: Option<EmailRow> = on_conn!(self, |conn| {
            sqlx::query_as(&sql)
                .bind(to_uuid(user.id))
                .bind(email)
                .fetch_optional(conn)
                .await
        })?;
        Ok(row.map(UserEmail::from))
    }

    /// All addresses of a user, oldest first.
    pub async fn list_user_emails(&mut self, user: &User) -> Result<Vec<UserEmail>, StorageError> {
        let sql =
            format!("SELECT {COLUMNS} FROM user_emails WHERE user_id = $1 ORDER BY user_email_id");
        let rows: Vec<EmailRow> = on_conn!(self, |conn| {
            sqlx::query_as(&sql)
                .bind(to_uuid(user.id))
                .fetch_all(conn)
                .await
        })?;
        Ok(rows.into_iter().map(UserEmail::from).collect())
    }
}
