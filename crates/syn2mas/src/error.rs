//! What can stop a syn2mas run after Synapse's config was understood:
//! Synapse's database cannot be opened or read, mxauth's database fails, a
//! user clashes, or another run holds the lock. The messages are the ones
//! users see (the CLI prints each with its causes on one line).

use std::path::PathBuf;

use mxauth_storage::StorageError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum Syn2masError {
    #[error(
        "Synapse's SQLite database {} does not exist (set --synapse-database-uri if it moved)",
        .0.display()
    )]
    SqliteMissing(PathBuf),
    #[error("cannot open {} read-only", .path.display())]
    SqliteOpen {
        path: PathBuf,
        #[source]
        source: sqlx::Error,
    },
    #[error("the Synapse database URI")]
    PostgresUri(#[source] url::ParseError),
    /// `shown` is the URI without its password.
    #[error("cannot connect to Synapse's database {shown}")]
    PostgresConnect {
        shown: String,
        #[source]
        source: sqlx::Error,
    },
    /// A read of Synapse's database failed; `what` says which, and may
    /// suggest why.
    #[error("{what}")]
    SynapseRead {
        what: String,
        #[source]
        source: sqlx::Error,
    },
    /// Any other failure of a query of ours, on either database.
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(
        "mxauth already has a user {0:?} that syn2mas did not import; nothing more was written"
    )]
    ForeignUser(String),
    /// A task of the import (reader or writer) stopped without an answer.
    #[error("an import task failed: {0}")]
    Task(String),
    #[error("another `mxauth syn2mas` is running against this database; wait for it to finish")]
    AlreadyRunning,
}
