//! The `users` table: accounts, their lock/deactivation state and admin flag.

use chrono::{DateTime, Utc};
use mxauth_model::{Scope, User};
use ulid::Ulid;
use uuid::Uuid;

use super::{
    accessor,
    oauth2_sessions::OAUTH2_SESSIONS,
    on_conn,
    pagination::{self, Bind, Conditions, Page, Pagination},
    Mode, Table, Write,
};
use crate::{
    types::{parse_scope, to_ulid, to_uuid, Timestamp},
    StorageError,
};

#[derive(sqlx::FromRow)]
struct UserRow {
    user_id: Uuid,
    username: String,
    created_at: Timestamp,
    locked_at: Option<Timestamp>,
    deactivated_at: Option<Timestamp>,
    can_request_admin: bool,
    is_guest: bool,
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> Self {
        User {
            id: to_ulid(row.user_id),
            username: row.username,
            created_at: row.created_at.0,
            locked_at: row.locked_at.map(|t| t.0),
            deactivated_at: row.deactivated_at.map(|t| t.0),
            can_request_admin: row.can_request_admin,
            is_guest: row.is_guest,
        }
    }
}

/// `users`, in the order of [`UserRow`].
pub(crate) const USERS: Table = Table {
    name: "users",
    alias: "u",
    columns: &[
        "user_id",
        "username",
        "created_at",
        "locked_at",
        "deactivated_at",
        "can_request_admin",
        "is_guest",
    ],
};

accessor! {
    /// The `users` table: accounts and their state.
    Users, users
}

/// A user's state, as the admin API filters it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserStatus {
    /// Neither locked nor deactivated.
    Active,
    Locked,
    Deactivated,
}

/// Which users a list shows; every field narrows it.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    /// `can_request_admin`.
    pub admin: Option<bool>,
    pub guest: Option<bool>,
    pub status: Option<UserStatus>,
    /// Part of the username, letter case ignored.
    pub search: Option<String>,
}

impl UserFilter {
    fn conditions(&self) -> Conditions {
        let mut c = Conditions::default();
        if let Some(admin) = self.admin {
            c.add_bind("u.can_request_admin = ?", Bind::Bool(admin));
        }
        if let Some(guest) = self.guest {
            c.add_bind("u.is_guest = ?", Bind::Bool(guest));
        }
        match self.status {
            Some(UserStatus::Active) => c.add("u.locked_at IS NULL AND u.deactivated_at IS NULL"),
            // A deactivated user is locked too; "locked" means only locked.
            Some(UserStatus::Locked) => {
                c.add("u.locked_at IS NOT NULL AND u.deactivated_at IS NULL")
            }
            Some(UserStatus::Deactivated) => c.add("u.deactivated_at IS NOT NULL"),
            None => {}
        }
        if let Some(search) = &self.search {
            // `%` and `_` typed by the admin match themselves.
            let escaped = search
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            c.add_bind(
                "LOWER(u.username) LIKE ? ESCAPE '\\'",
                Bind::Text(format!("%{escaped}%")),
            );
        }
        c
    }
}

impl<M: Mode> Users<'_, M> {
    pub async fn find_by_id(&mut self, id: Ulid) -> Result<Option<User>, StorageError> {
        let row: Option<UserRow> = USERS
            .find_where(self.tx, "u.user_id = $1", to_uuid(id))
            .await?;
        Ok(row.map(User::from))
    }

    /// Looks a user up by exact localpart.
    pub async fn find_by_username(&mut self, username: &str) -> Result<Option<User>, StorageError> {
        let row: Option<UserRow> = USERS
            .find_where(self.tx, "u.username = $1", username.to_owned())
            .await?;
        Ok(row.map(User::from))
    }

    /// Up to two users whose localpart equals `username` ignoring ASCII
    /// case (served by the `LOWER(username)` index). Synapse once allowed
    /// upper-case localparts, and imported users keep them; two results
    /// mean the name is ambiguous without its exact case.
    pub async fn find_by_username_ignoring_case(
        &mut self,
        username: &str,
    ) -> Result<Vec<User>, StorageError> {
        let rows: Vec<UserRow> = USERS
            .list_where(
                self.tx,
                "LOWER(u.username) = LOWER($1) ORDER BY u.user_id LIMIT 2",
                username.to_owned(),
            )
            .await?;
        Ok(rows.into_iter().map(User::from).collect())
    }

    /// Users allowed to request admin rights, oldest first.
    pub async fn list_admins(&mut self) -> Result<Vec<User>, StorageError> {
        let sql = USERS.select_where("u.can_request_admin = TRUE ORDER BY u.user_id");
        let rows: Vec<UserRow> = on_conn!(self, |conn| sqlx::query_as(&sql).fetch_all(conn).await)?;
        Ok(rows.into_iter().map(User::from).collect())
    }

    /// How many users exist.
    pub async fn count(&mut self) -> Result<i64, StorageError> {
        Ok(on_conn!(self, |conn| {
            sqlx::query_scalar("SELECT COUNT(*) FROM users")
                .fetch_one(conn)
                .await
        })?)
    }

    /// A page of the users matching `filter` (the admin API's list).
    pub async fn page(
        &mut self,
        filter: &UserFilter,
        pagination: Pagination,
    ) -> Result<Page<User>, StorageError> {
        let conditions = filter.conditions();
        let page: Page<UserRow> =
            pagination::page(self.tx, &USERS, "user_id", &conditions, pagination).await?;
        Ok(page.map(User::from))
    }

    /// How many users match `filter`.
    pub async fn count_matching(&mut self, filter: &UserFilter) -> Result<u64, StorageError> {
        pagination::count(self.tx, &USERS, &filter.conditions()).await
    }

    /// Every user, oldest first, a page at a time (`after` the last id seen).
    pub async fn list(
        &mut self,
        after: Option<Ulid>,
        limit: i64,
    ) -> Result<Vec<User>, StorageError> {
        let sql = USERS.select_where("u.user_id > $1 ORDER BY u.user_id LIMIT $2");
        let after = to_uuid(after.unwrap_or(Ulid::nil()));
        let rows: Vec<UserRow> = on_conn!(self, |conn| {
            sqlx::query_as(&sql)
                .bind(after)
                .bind(limit)
                .fetch_all(conn)
                .await
        })?;
        Ok(rows.into_iter().map(User::from).collect())
    }

    /// The scopes of the user's active OAuth sessions and the device ids of
    /// their active compatibility sessions: everything that has a device.
    pub async fn active_session_devices(
        &mut self,
        user_id: Ulid,
    ) -> Result<(Vec<Scope>, Vec<String>), StorageError> {
        let scopes: Vec<String> = on_conn!(self, |conn| {
            sqlx::query_scalar(
                "SELECT scope_list FROM oauth2_sessions WHERE user_id = $1 AND finished_at IS NULL",
            )
            .bind(to_uuid(user_id))
            .fetch_all(conn)
            .await
        })?;
        let devices: Vec<String> = on_conn!(self, |conn| {
            sqlx::query_scalar(
                "SELECT device_id FROM compat_sessions
                 WHERE user_id = $1 AND finished_at IS NULL AND device_id IS NOT NULL",
            )
            .bind(to_uuid(user_id))
            .fetch_all(conn)
            .await
        })?;
        let scopes = scopes
            .iter()
            .map(|s| parse_scope(OAUTH2_SESSIONS.name, "scope_list", s))
            .collect::<Result<_, _>>()?;
        Ok((scopes, devices))
    }
}

impl Users<'_, Write> {
    /// Creates a user. A taken username is [`StorageError::Conflict`].
    pub async fn add(
        &mut self,
        id: Ulid,
        username: &str,
        now: DateTime<Utc>,
    ) -> Result<User, StorageError> {
        on_conn!(self, |conn| {
            sqlx::query(
                "INSERT INTO users (user_id, username, created_at, can_request_admin, is_guest)
                 VALUES ($1, $2, $3, FALSE, FALSE)",
            )
            .bind(to_uuid(id))
            .bind(username)
            .bind(Timestamp(now))
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
            .map_err(StorageError::conflict_as("a user with this username"))
        })?;
        Ok(User {
            id,
            username: username.to_owned(),
            created_at: now,
            locked_at: None,
            deactivated_at: None,
            can_request_admin: false,
            is_guest: false,
        })
    }

    pub async fn set_can_request_admin(
        &mut self,
        mut user: User,
        can_request_admin: bool,
    ) -> Result<User, StorageError> {
        self.invalidated
            .push(crate::token_cache::Invalidation::Row(user.id));
        on_conn!(self, |conn| {
            sqlx::query("UPDATE users SET can_request_admin = $1 WHERE user_id = $2")
                .bind(can_request_admin)
                .bind(to_uuid(user.id))
                .execute(conn)
                .await
                .map(|r| r.rows_affected())
        })?;
        user.can_request_admin = can_request_admin;
        Ok(user)
    }

    /// Locks a user: their sessions stay but stop working until unlocked.
    /// Locking an already locked user keeps the first lock time.
    pub async fn lock(&mut self, mut user: User, now: DateTime<Utc>) -> Result<User, StorageError> {
        if user.locked_at.is_none() {
            self.set_time(user.id, "locked_at", Some(now)).await?;
            user.locked_at = Some(now);
        }
        Ok(user)
    }

    pub async fn unlock(&mut self, mut user: User) -> Result<User, StorageError> {
        self.set_time(user.id, "locked_at", None).await?;
        user.locked_at = None;
        Ok(user)
    }

    pub async fn deactivate(
        &mut self,
        mut user: User,
        now: DateTime<Utc>,
    ) -> Result<User, StorageError> {
        if user.deactivated_at.is_none() {
            self.set_time(user.id, "deactivated_at", Some(now)).await?;
            user.deactivated_at = Some(now);
        }
        Ok(user)
    }

    pub async fn reactivate(&mut self, mut user: User) -> Result<User, StorageError> {
        self.set_time(user.id, "deactivated_at", None).await?;
        user.deactivated_at = None;
        Ok(user)
    }

    /// Sets one of the user's timestamp columns; `column` is never user input.
    async fn set_time(
        &mut self,
        id: Ulid,
        column: &'static str,
        value: Option<DateTime<Utc>>,
    ) -> Result<(), StorageError> {
        self.invalidated
            .push(crate::token_cache::Invalidation::Row(id));
        let sql = format!("UPDATE users SET {column} = $1 WHERE user_id = $2");
        on_conn!(self, |conn| {
            sqlx::query(&sql)
                .bind(value.map(Timestamp))
                .bind(to_uuid(id))
                .execute(conn)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(())
    }
}
