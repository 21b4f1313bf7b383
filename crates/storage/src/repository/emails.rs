//! The `user_emails` table: confirmed email addresses of users.

use chrono::{DateTime, Utc};
use mxauth_model::{User, UserEmail};
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

/// `user_emails`, in the order of [`EmailRow`].
pub(crate) const USER_EMAILS: Table = Table {
    name: "user_emails",
    alias: "",
    columns: &["user_email_id", "user_id", "email", "created_at"],
};

accessor! {
    /// The `user_emails` table: users' confirmed addresses.
    UserEmails, user_emails
}

/// Which addresses a list shows.
#[derive(Debug, Clone, Default)]
pub struct UserEmailFilter {
    pub user: Option<Ulid>,
    /// The address, letter case ignored.
    pub email: Option<String>,
}

impl UserEmailFilter {
    fn conditions(&self) -> Conditions {
        let mut c = Conditions::default();
        if let Some(user) = self.user {
            c.add_bind("user_id = ?", Bind::Id(to_uuid(user)));
        }
        if let Some(email) = &self.email {
            c.add_bind("LOWER(email) = LOWER(?)", Bind::Text(email.clone()));
        }
        c
    }
}

impl UserEmails<'_, Write> {
    /// Adds a confirmed address. The same address twice for one user (in any
    /// letter case) is [`StorageError::Conflict`].
    pub async fn add(
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

    /// Removes the user's address `id`; `false` when the user has no
    /// address with that id (another user's address is left alone).
    pub async fn remove(&mut self, user: &User, id: Ulid) -> Result<bool, StorageError> {
        let removed = on_conn!(self, |conn| {
            sqlx::query("DELETE FROM user_emails WHERE user_email_id = $1 AND user_id = $2")
                .bind(to_uuid(id))
                .bind(to_uuid(user.id))
                .execute(conn)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(removed == 1)
    }
}

impl<M: Mode> UserEmails<'_, M> {
    /// The user's address equal to `email`, ignoring letter case.
    pub async fn find(
        &mut self,
        user: &User,
        email: &str,
    ) -> Result<Option<UserEmail>, StorageError> {
        let sql = USER_EMAILS.select_where("user_id = $1 AND LOWER(email) = LOWER($2)");
        let row: Option<EmailRow> = on_conn!(self, |conn| {
            sqlx::query_as(&sql)
                .bind(to_uuid(user.id))
                .bind(email)
                .fetch_optional(conn)
                .await
        })?;
        Ok(row.map(UserEmail::from))
    }

    /// A page of the addresses matching `filter`.
    pub async fn page(
        &mut self,
        filter: &UserEmailFilter,
        pagination: Pagination,
    ) -> Result<Page<UserEmail>, StorageError> {
        let page: Page<EmailRow> = pagination::page(
            self.tx,
            &USER_EMAILS,
            "user_email_id",
            &filter.conditions(),
            pagination,
        )
        .await?;
        Ok(page.map(UserEmail::from))
    }

    pub async fn count_matching(&mut self, filter: &UserEmailFilter) -> Result<u64, StorageError> {
        pagination::count(self.tx, &USER_EMAILS, &filter.conditions()).await
    }

    /// The address `id`, whoever has it.
    pub async fn find_by_id(&mut self, id: Ulid) -> Result<Option<UserEmail>, StorageError> {
        let row: Option<EmailRow> = USER_EMAILS
            .find_where(self.tx, "user_email_id = $1", to_uuid(id))
            .await?;
        Ok(row.map(UserEmail::from))
    }

    /// Every user's address equal to `email`, ignoring letter case (one
    /// address may belong to several users), oldest first.
    pub async fn find_all_by_address(
        &mut self,
        email: &str,
    ) -> Result<Vec<UserEmail>, StorageError> {
        let rows: Vec<EmailRow> = USER_EMAILS
            .list_where(
                self.tx,
                "LOWER(email) = LOWER($1) ORDER BY user_email_id",
                email.to_owned(),
            )
            .await?;
        Ok(rows.into_iter().map(UserEmail::from).collect())
    }

    /// All addresses of a user, oldest first.
    pub async fn list(&mut self, user: &User) -> Result<Vec<UserEmail>, StorageError> {
        let rows: Vec<EmailRow> = USER_EMAILS
            .list_where(
                self.tx,
                "user_id = $1 ORDER BY user_email_id",
                to_uuid(user.id),
            )
            .await?;
        Ok(rows.into_iter().map(UserEmail::from).collect())
    }
}
