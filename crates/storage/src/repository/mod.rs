//! The repository: every read and write mxauth makes, through one handle.
//!
//! A request opens a [`Repository`] (one transaction) with
//! [`crate::Database::begin`], or a [`ReadHandle`] (no transaction) with
//! [`crate::Database::read`], and reaches each table group through an
//! accessor: `repo.users().find_by_username(..)`,
//! `repo.oauth2_sessions().finish(..)`. Accessors carry the handle's [`Mode`]:
//! their read methods exist in both modes, their write methods only in
//! [`Write`], so a write outside a transaction does not compile.
//!
//! Statements are written once, with `$1` placeholders that both sqlx drivers
//! understand, and the [`on_conn!`] macro runs them on whichever backend the
//! handle belongs to. Each table group has its file beside this one, with its
//! one column list and its accessor.

use std::{marker::PhantomData, sync::Arc};

use sqlx::{pool::PoolConnection, Postgres, Sqlite, Transaction};

use crate::{
    token_cache::{wire, Invalidation, TokenCache, FENCE_WAIT},
    StorageError,
};

mod audit;
mod browser_sessions;
mod compat;
mod compat_sso;
mod email_authentications;
mod emails;
mod jobs;
mod oauth2_clients;
mod oauth2_grants;
mod oauth2_rotation;
mod oauth2_sessions;
mod oauth2_tokens;
mod pagination;
mod passwords;
mod personal;
mod policy_data;
mod recovery;
mod registration_tokens;
mod registrations;
mod session_activity;
mod syn2mas;
mod upstream_links;
mod upstream_providers;
mod upstream_sessions;
mod users;

pub use audit::{AuditEvent, AuditEvents, AuditFilter};
pub use browser_sessions::BrowserSessions;
pub use compat::{CompatAccessTokens, CompatRefreshTokens, CompatSessions};
pub use compat_sso::{CompatSsoLogin, CompatSsoLogins};
pub use email_authentications::EmailAuthentications;
pub use emails::{UserEmailFilter, UserEmails};
pub use jobs::{Jobs, QueuedJob};
pub use oauth2_clients::{ClientFilter, OAuth2Clients};
pub use oauth2_grants::AuthorizationGrants;
pub use oauth2_rotation::{Rotation, RotationRequest, Successor};
pub use oauth2_sessions::OAuth2Sessions;
pub use oauth2_tokens::{AccessTokens, RefreshTokens};
pub use pagination::{Page, Pagination, SessionFilter};
pub use passwords::{NewPassword, UserPasswords};
pub use personal::{PersonalSessionFilter, PersonalSessions};
pub use policy_data::{PolicyData, PolicyDataHistory};
pub use recovery::Recovery;
pub use registration_tokens::{RegistrationTokens, TokenFilter};
pub use registrations::Registrations;
pub use session_activity::{SessionActivity, SessionKind};
pub use syn2mas::{
    ExistingUser, ImportAccessToken, ImportBatch, ImportRefreshToken, ImportSession, ImportUser,
    Syn2Mas,
};
pub use upstream_links::LinkFilter;
pub use users::{UserFilter, UserStatus, Users};

pub(crate) enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
    /// No transaction: each statement commits on its own. For read-only
    /// lookups on hot paths, where BEGIN and ROLLBACK would double the
    /// round trips and SQLite's `BEGIN IMMEDIATE` would serialise readers.
    SqliteConn(PoolConnection<Sqlite>),
    PostgresConn(PoolConnection<Postgres>),
}

/// Locks that serialise one kind of work across processes (see
/// [`Repository::lock_exclusively`]); the values are the lock keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i64)]
pub enum AdvisoryLock {
    /// Syncing clients and upstream providers from the configuration, which
    /// every instance does at start: two instances starting together would
    /// otherwise race on the same rows.
    ConfigSync = 0x6d78_6175_7468_0002,
}

/// The handle may only read: [`ReadHandle`] and its accessors.
pub enum Read {}
/// The handle is a transaction and may write: [`Repository`].
pub enum Write {}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Read {}
    impl Sealed for super::Write {}
}

/// [`Read`] or [`Write`]; nothing else (sealed).
pub trait Mode: sealed::Sealed + Send + Sync + 'static {}
impl Mode for Read {}
impl Mode for Write {}

/// A database handle. `Repository` (mode [`Write`]) is one open transaction;
/// dropping it without [`Repository::commit`] rolls back.
pub struct Repository<M: Mode = Write> {
    pub(crate) tx: Tx,
    /// SQLite writers hold the process's write lock until the end of the
    /// transaction (see `SqliteWriteLock`).
    _write_guard: Option<tokio::sync::OwnedMutexGuard<()>>,
    /// Rows this transaction changed in a way that can make a cached token
    /// lookup stale (see `token_cache`): announced at commit.
    invalidated: Vec<Invalidation>,
    /// This process's token cache, dropped from right after the commit.
    cache: Option<Arc<TokenCache>>,
    _mode: PhantomData<M>,
}

/// A handle for reads outside any transaction: each statement sees the
/// latest committed data. Its accessors have no write methods.
pub type ReadHandle = Repository<Read>;

/// Runs `$body` with `$conn` bound to the handle's connection, once per
/// backend arm. The body is type-checked for each backend separately, so the
/// same statement and row struct serve both. `$repo` is an accessor (or
/// anything with a `tx: &mut Tx` field).
macro_rules! on_conn {
    ($repo:expr, |$conn:ident| $body:expr) => {
        match &mut *$repo.tx {
            $crate::repository::Tx::Sqlite(tx) => {
                let $conn = &mut **tx;
                $body
            }
            $crate::repository::Tx::Postgres(tx) => {
                let $conn = &mut **tx;
                $body
            }
            $crate::repository::Tx::SqliteConn(c) => {
                let $conn = &mut **c;
                $body
            }
            $crate::repository::Tx::PostgresConn(c) => {
                let $conn = &mut **c;
                $body
            }
        }
    };
}
pub(crate) use on_conn;

/// Declares the accessor type of one table group and the method of
/// [`Repository`] that hands it out, in the mode of the handle.
macro_rules! accessor {
    ($(#[$doc:meta])* $name:ident, $method:ident) => {
        $(#[$doc])*
        pub struct $name<'c, M: $crate::repository::Mode = $crate::repository::Write> {
            pub(crate) tx: &'c mut $crate::repository::Tx,
            /// Rows whose cached token lookups this change makes stale.
            /// Only the table groups tokens depend on write to it, so the
            /// others would warn that it is never read.
            #[allow(dead_code)]
            pub(crate) invalidated: &'c mut Vec<$crate::token_cache::Invalidation>,
            _mode: ::std::marker::PhantomData<M>,
        }

        impl<M: $crate::repository::Mode> $crate::repository::Repository<M> {
            $(#[$doc])*
            pub fn $method(&mut self) -> $name<'_, M> {
                $name {
                    tx: &mut self.tx,
                    invalidated: &mut self.invalidated,
                    _mode: ::std::marker::PhantomData,
                }
            }
        }
    };
}
pub(crate) use accessor;

impl Tx {
    /// Runs `sql` binding `$1` to `now` and `$2` to `id`, the shape of every
    /// state change here ("finish this session", "revoke this token"…), and
    /// returns how many rows changed.
    pub(crate) async fn exec_at(
        &mut self,
        sql: &'static str,
        now: chrono::DateTime<chrono::Utc>,
        id: ulid::Ulid,
    ) -> Result<u64, StorageError> {
        let this = TxRef { tx: self };
        Ok(on_conn!(this, |conn| {
            sqlx::query(sql)
                .bind(crate::types::Timestamp(now))
                .bind(crate::types::to_uuid(id))
                .execute(conn)
                .await
                .map(|r| r.rows_affected())
        })?)
    }

    pub(crate) fn is_postgres(&self) -> bool {
        matches!(self, Tx::Postgres(_) | Tx::PostgresConn(_))
    }
}

/// A table's name, the alias its statements give it, and its column list,
/// written once: every `SELECT` of the table and every row struct that
/// decodes it follow this list.
pub(crate) struct Table {
    pub name: &'static str,
    /// `s` in `FROM oauth2_sessions s`; empty for statements that use none.
    pub alias: &'static str,
    pub columns: &'static [&'static str],
}

impl Table {
    fn qualified(&self, column: &str) -> String {
        if self.alias.is_empty() {
            column.to_owned()
        } else {
            format!("{}.{column}", self.alias)
        }
    }

    /// `s.a, s.b, …`: every column, qualified by the alias.
    pub fn columns(&self) -> String {
        self.columns_except(&[])
    }

    /// Every column but `skip`, for a join where another table already
    /// returns a column of the same name and value.
    pub fn columns_except(&self, skip: &[&str]) -> String {
        let kept = self.columns.iter().filter(|c| !skip.contains(c));
        kept.map(|c| self.qualified(c))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `u.a AS u_a, …`: every column renamed with `prefix`, for a join whose
    /// row struct holds this table's columns under prefixed names.
    pub fn columns_as(&self, prefix: &str) -> String {
        let renamed = self.columns.iter().map(|c| {
            let qualified = self.qualified(c);
            format!("{qualified} AS {prefix}{c}")
        });
        renamed.collect::<Vec<_>>().join(", ")
    }

    /// `SELECT <every column> FROM <table> <alias> WHERE <condition>`.
    pub fn select_where(&self, condition: &str) -> String {
        format!(
            "SELECT {} FROM {} {} WHERE {condition}",
            self.columns(),
            self.name,
            self.alias
        )
    }
}

/// A value one statement binds, on either backend. Owned: SQLite binds a
/// borrowed `&str` only for as long as the statement text, which these
/// helpers build themselves.
pub(crate) trait BindValue:
    for<'q> sqlx::Encode<'q, Sqlite>
    + sqlx::Type<Sqlite>
    + for<'q> sqlx::Encode<'q, Postgres>
    + sqlx::Type<Postgres>
    + Send
{
}
impl<T> BindValue for T where
    T: for<'q> sqlx::Encode<'q, Sqlite>
        + sqlx::Type<Sqlite>
        + for<'q> sqlx::Encode<'q, Postgres>
        + sqlx::Type<Postgres>
        + Send
{
}

/// A row struct that decodes from either backend.
pub(crate) trait Row:
    for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
    + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
    + Send
    + Unpin
{
}
impl<T> Row for T where
    T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
        + Send
        + Unpin
{
}

impl Table {
    /// The row `WHERE condition`, with `$1` bound to `value`: the lookup
    /// every `find…` method of a table makes.
    pub(crate) async fn find_where<R: Row>(
        &self,
        tx: &mut Tx,
        condition: &str,
        value: impl BindValue,
    ) -> Result<Option<R>, StorageError> {
        let sql = self.select_where(condition);
        let this = TxRef { tx };
        Ok(on_conn!(this, |conn| {
            sqlx::query_as(&sql).bind(value).fetch_optional(conn).await
        })?)
    }

    /// Every row `WHERE condition` (which may end in `ORDER BY`), with `$1`
    /// bound to `value`.
    pub(crate) async fn list_where<R: Row>(
        &self,
        tx: &mut Tx,
        condition: &str,
        value: impl BindValue,
    ) -> Result<Vec<R>, StorageError> {
        let sql = self.select_where(condition);
        let this = TxRef { tx };
        Ok(on_conn!(this, |conn| {
            sqlx::query_as(&sql).bind(value).fetch_all(conn).await
        })?)
    }
}

/// Lets [`on_conn!`] run on a bare `&mut Tx`.
pub(crate) struct TxRef<'c> {
    tx: &'c mut Tx,
}

impl<M: Mode> Repository<M> {
    /// `SELECT 1`: the database answers.
    pub(crate) async fn probe_read(&mut self) -> Result<(), StorageError> {
        let this = TxRef { tx: &mut self.tx };
        on_conn!(this, |conn| sqlx::query("SELECT 1")
            .execute(conn)
            .await
            .map(|_| ()))?;
        Ok(())
    }
}

impl ReadHandle {
    pub(crate) fn sqlite_conn(conn: PoolConnection<Sqlite>) -> Self {
        Self::with(Tx::SqliteConn(conn), None)
    }

    pub(crate) fn postgres_conn(conn: PoolConnection<Postgres>) -> Self {
        Self::with(Tx::PostgresConn(conn), None)
    }
}

impl<M: Mode> Repository<M> {
    fn with(tx: Tx, write_guard: Option<tokio::sync::OwnedMutexGuard<()>>) -> Self {
        Self {
            tx,
            _write_guard: write_guard,
            invalidated: Vec::new(),
            cache: None,
            _mode: PhantomData,
        }
    }
}

impl Repository<Write> {
    pub(crate) fn sqlite(
        tx: Transaction<'static, Sqlite>,
        guard: tokio::sync::OwnedMutexGuard<()>,
    ) -> Self {
        Self::with(Tx::Sqlite(tx), Some(guard))
    }

    pub(crate) fn postgres(
        tx: Transaction<'static, Postgres>,
        cache: Option<Arc<TokenCache>>,
    ) -> Self {
        let mut repo = Self::with(Tx::Postgres(tx), None);
        repo.cache = cache;
        repo
    }

    /// A write that changes nothing but still reaches the disk when
    /// committed. SQLite: `user_version` rewritten with its own value (page
    /// 1 goes to the WAL). PostgreSQL: a transaction id is assigned, so the
    /// commit writes a WAL record (and fails on a read-only standby).
    pub(crate) async fn probe_write(&mut self) -> Result<(), StorageError> {
        match &mut self.tx {
            Tx::Sqlite(tx) => {
                let version: i64 = sqlx::query_scalar("PRAGMA user_version")
                    .fetch_one(&mut **tx)
                    .await?;
                sqlx::query(&format!("PRAGMA user_version = {version}"))
                    .execute(&mut **tx)
                    .await?;
            }
            Tx::Postgres(tx) => {
                sqlx::query("SELECT txid_current()")
                    .execute(&mut **tx)
                    .await?;
            }
            // Only `Database::read` builds these, and it returns a ReadHandle.
            Tx::SqliteConn(_) | Tx::PostgresConn(_) => {}
        }
        Ok(())
    }

    /// Serialises this transaction with every other that takes `lock`, in
    /// any process on the database: PostgreSQL's `pg_advisory_xact_lock`,
    /// released at commit or rollback. SQLite transactions here are
    /// `BEGIN IMMEDIATE`, already one at a time.
    pub async fn lock_exclusively(&mut self, lock: AdvisoryLock) -> Result<(), StorageError> {
        if let Tx::Postgres(tx) = &mut self.tx {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(lock as i64)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    /// Commits the transaction. On PostgreSQL, the rows it changed that a
    /// token cache may hold are announced with `NOTIFY` inside it, so every
    /// listening process learns of them at the moment they commit; this
    /// process's own cache drops them, and the other listening processes
    /// have acknowledged them, before `commit` returns.
    pub async fn commit(mut self) -> Result<(), StorageError> {
        let fence = self.announce_invalidations().await?;
        match self.tx {
            Tx::Sqlite(tx) => tx.commit().await?,
            Tx::Postgres(tx) => tx.commit().await?,
            Tx::SqliteConn(_) | Tx::PostgresConn(_) => {}
        }
        if let Some(cache) = &self.cache {
            cache.invalidate(&self.invalidated);
            if let Some((word, acknowledged)) = fence {
                if tokio::time::timeout(FENCE_WAIT, acknowledged)
                    .await
                    .is_err()
                {
                    cache.fence_abandoned(&word);
                }
            }
        }
        Ok(())
    }

    /// `pg_notify` of the invalidated rows, inside the transaction, with a
    /// fence for the listening processes to acknowledge when this process
    /// listens too. Nothing on SQLite or when nothing was invalidated.
    async fn announce_invalidations(
        &mut self,
    ) -> Result<Option<(String, tokio::sync::oneshot::Receiver<()>)>, StorageError> {
        let Tx::Postgres(tx) = &mut self.tx else {
            return Ok(None);
        };
        if self.invalidated.is_empty() {
            return Ok(None);
        }
        let mut fence = None;
        if let Some(cache) = self.cache.as_ref().filter(|c| c.is_live()) {
            let listening: i64 = sqlx::query_scalar(wire::COUNT_LISTENERS)
                .fetch_one(&mut **tx)
                .await?;
            // Every listener but this process's own.
            let others = usize::try_from(listening).unwrap_or(0).saturating_sub(1);
            fence = cache.fence(others);
        }
        let word = fence.as_ref().map(|(word, _)| word.as_str());
        for payload in wire::payloads(&self.invalidated, word) {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(wire::CHANNEL)
                .bind(payload)
                .execute(&mut **tx)
                .await?;
        }
        Ok(fence)
    }

    /// Rolls the transaction back.
    pub async fn rollback(self) -> Result<(), StorageError> {
        match self.tx {
            Tx::Sqlite(tx) => tx.rollback().await?,
            Tx::Postgres(tx) => tx.rollback().await?,
            Tx::SqliteConn(_) | Tx::PostgresConn(_) => {}
        }
        Ok(())
    }
}
