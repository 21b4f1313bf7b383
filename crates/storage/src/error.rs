//! The errors of the storage layer.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum StorageError {
    /// A unique constraint refused the write; the transaction changed nothing.
    #[error("{0} already exists")]
    Conflict(&'static str),
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    #[error("cannot connect to the database: {0}")]
    Connect(String),
    #[error("migration {version} ({name}) failed: {source}")]
    Migration {
        version: i64,
        name: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error("the database has migration {0} applied, which this version of mxauth does not know; it was written by a newer mxauth")]
    UnknownMigration(i64),
    #[error("migration {version} ({name}) was changed after it was applied (checksum differs)")]
    ChangedMigration { version: i64, name: &'static str },
    #[error("stored value is malformed: {0}")]
    Malformed(String),
}

impl From<sqlx::Error> for StorageError {
    fn from(e: sqlx::Error) -> Self {
        StorageError::Database(e)
    }
}

impl StorageError {
    /// Maps a unique-constraint violation to [`StorageError::Conflict`] naming `what`.
    pub(crate) fn conflict_as(what: &'static str) -> impl FnOnce(sqlx::Error) -> StorageError {
        move |e| match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => StorageError::Conflict(what),
            _ => StorageError::Database(e),
        }
    }
}
