//! The repository: every read and write mxauth makes, inside one transaction.
//!
//! A request opens one [`Repository`] with [`crate::Database::begin`], calls
//! methods on it, and commits; dropping it without committing rolls back.
//! Statements are written once, with `$1` placeholders that both sqlx drivers
//! understand, and the [`on_conn!`] macro runs them on whichever backend the
//! transaction belongs to. Methods are grouped by table in the files beside
//! this one.

use sqlx::{pool::PoolConnection, Postgres, Sqlite, Transaction};

use crate::StorageError;

mod browser_sessions;
mod compat;
mod compat_sso;
pub use compat_sso::CompatSsoLogin;
mod emails;
mod jobs;
mod oauth2_clients;
mod oauth2_grants;
mod oauth2_sessions;
mod oauth2_tokens;
pub use jobs::QueuedJob;
pub use passwords::NewPassword;
mod passwords;
mod syn2mas;
pub use syn2mas::{
    ExistingUser, ImportAccessToken, ImportBatch, ImportRefreshToken, ImportSession, ImportUser,
};
mod users;

pub(crate) enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
    /// No transaction: each statement commits on its own. For read-only
    /// lookups on hot paths, where BEGIN and ROLLBACK would double the
    /// round trips and SQLite's `BEGIN IMMEDIATE` would serialise readers.
    SqliteConn(PoolConnection<Sqlite>),
    PostgresConn(PoolConnection<Postgres>),
}

/// One open transaction.
pub struct Repository {
    pub(crate) tx: Tx,
    /// SQLite writers hold the process's write lock until the end of the
    /// transaction (see `SqliteWriteLock`).
    _write_guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

/// Runs `$body` with `$conn` bound to the transaction's connection, once per
/// backend arm. The body is type-checked for each backend separately, so the
/// same statement and row struct serve both.
macro_rules! on_conn {
    ($repo:expr, |$conn:ident| $body:expr) => {
        match &mut $repo.tx {
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

impl Repository {
    pub(crate) fn sqlite(
        tx: Transaction<'static, Sqlite>,
        guard: tokio::sync::OwnedMutexGuard<()>,
    ) -> Self {
        Self {
            tx: Tx::Sqlite(tx),
            _write_guard: Some(guard),
        }
    }

    pub(crate) fn postgres(tx: Transaction<'static, Postgres>) -> Self {
        Self {
            tx: Tx::Postgres(tx),
            _write_guard: None,
        }
    }

    pub(crate) fn sqlite_conn(conn: PoolConnection<Sqlite>) -> Self {
        Self {
            tx: Tx::SqliteConn(conn),
            _write_guard: None,
        }
    }

    pub(crate) fn postgres_conn(conn: PoolConnection<Postgres>) -> Self {
        Self {
            tx: Tx::PostgresConn(conn),
            _write_guard: None,
        }
    }

    /// Runs `sql` binding `$1` to `now` and `$2` to `id`, the shape of every
    /// state change here ("finish this session", "revoke this token"…), and
    /// returns how many rows changed.
    pub(crate) async fn exec_at(
        &mut self,
        sql: &'static str,
        now: chrono::DateTime<chrono::Utc>,
        id: ulid::Ulid,
    ) -> Result<u64, StorageError> {
        Ok(on_conn!(self, |conn| {
            sqlx::query(sql)
                .bind(crate::types::Timestamp(now))
                .bind(crate::types::to_uuid(id))
                .execute(conn)
                .await
                .map(|r| r.rows_affected())
        })?)
    }

    pub(crate) fn is_postgres(&self) -> bool {
        matches!(self.tx, Tx::Postgres(_) | Tx::PostgresConn(_))
    }

    /// `SELECT 1`: the database answers.
    pub(crate) async fn probe_read(&mut self) -> Result<(), StorageError> {
        on_conn!(self, |conn| sqlx::query("SELECT 1")
            .execute(conn)
            .await
            .map(|_| ()))?;
        Ok(())
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
            // A read handle has nothing to commit.
            Tx::SqliteConn(_) | Tx::PostgresConn(_) => {}
        }
        Ok(())
    }

    /// Commits the transaction (nothing to do for a read handle).
    pub async fn commit(self) -> Result<(), StorageError> {
        match self.tx {
            Tx::Sqlite(tx) => tx.commit().await?,
            Tx::Postgres(tx) => tx.commit().await?,
            Tx::SqliteConn(_) | Tx::PostgresConn(_) => {}
        }
        Ok(())
    }

    /// Rolls the transaction back (nothing to do for a read handle).
    pub async fn rollback(self) -> Result<(), StorageError> {
        match self.tx {
            Tx::Sqlite(tx) => tx.rollback().await?,
            Tx::Postgres(tx) => tx.rollback().await?,
            Tx::SqliteConn(_) | Tx::PostgresConn(_) => {}
        }
        Ok(())
    }
}
