//! The errors of the storage layer, and which of them mean "the database is
//! unavailable right now" (callers answer 503 and ask the client to retry).

use thiserror::Error;

#[derive(Debug, Error)]
pub enum StorageError {
    /// A unique constraint refused the write; the transaction changed nothing.
    #[error("{0} already exists")]
    Conflict(&'static str),
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    /// The database cannot serve the request now, through no fault of the
    /// request: it does not answer, no pooled connection came free in time,
    /// or it cannot write (disk full, I/O error). Retrying later may work.
    #[error("the database is unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
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
    /// A stored value does not parse as its type: the row was written by
    /// something else than mxauth, or by hand.
    #[error("the value stored in {table}.{column} is malformed: {reason}")]
    Malformed {
        table: &'static str,
        column: &'static str,
        reason: String,
    },
}

impl From<sqlx::Error> for StorageError {
    fn from(e: sqlx::Error) -> Self {
        if is_unavailable(&e) {
            StorageError::Unavailable(e)
        } else {
            StorageError::Database(e)
        }
    }
}

impl StorageError {
    /// Maps a unique-constraint violation to [`StorageError::Conflict`] naming `what`.
    pub(crate) fn conflict_as(what: &'static str) -> impl FnOnce(sqlx::Error) -> StorageError {
        move |e| match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => StorageError::Conflict(what),
            _ => StorageError::from(e),
        }
    }

    /// Whether `error`, or any error behind it in its `source()` chain, is
    /// the database being unavailable. Walks through wrappers, including
    /// `#[error(transparent)]` ones that hide the [`StorageError`] itself
    /// but not the sqlx error behind it.
    pub fn is_unavailable_cause(error: &(dyn std::error::Error + 'static)) -> bool {
        let mut next = Some(error);
        while let Some(e) = next {
            if let Some(StorageError::Unavailable(_)) = e.downcast_ref::<StorageError>() {
                return true;
            }
            if e.downcast_ref::<sqlx::Error>().is_some_and(is_unavailable) {
                return true;
            }
            next = e.source();
        }
        false
    }
}

/// SQLite primary result codes (<https://sqlite.org/rescode.html>) that say
/// the database cannot be used now rather than that the statement is wrong:
/// BUSY (5), NOMEM (7), READONLY (8), IOERR (10), FULL (13), CANTOPEN (14).
/// Extended codes carry the primary code in their low byte.
const SQLITE_UNAVAILABLE: [i32; 6] = [5, 7, 8, 10, 13, 14];

/// PostgreSQL SQLSTATE classes and codes (Appendix A of its manual) of the
/// same kind: 08 connection exception, 53 insufficient resources (disk
/// full, out of memory, too many connections), 58 system error (I/O), and
/// 57P01–57P03 (shutting down, crashed, not accepting connections yet).
fn postgres_unavailable(code: &str) -> bool {
    code.starts_with("08")
        || code.starts_with("53")
        || code.starts_with("58")
        || matches!(code, "57P01" | "57P02" | "57P03")
}

/// The classification behind [`StorageError::Unavailable`].
fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            let Some(code) = db.code() else {
                return false;
            };
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                code.parse::<i32>()
                    .is_ok_and(|code| SQLITE_UNAVAILABLE.contains(&(code & 0xff)))
            } else {
                postgres_unavailable(&code)
            }
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_failures_are_unavailable() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert!(StorageError::from(sqlx::Error::Io(refused))
            .to_string()
            .contains("unavailable"));
        assert!(matches!(
            StorageError::from(sqlx::Error::PoolTimedOut),
            StorageError::Unavailable(_)
        ));
        assert!(matches!(
            StorageError::from(sqlx::Error::RowNotFound),
            StorageError::Database(_)
        ));
    }

    #[test]
    fn postgres_codes() {
        for code in ["08006", "53100", "53300", "57P01", "58030"] {
            assert!(postgres_unavailable(code), "{code}");
        }
        for code in ["23505", "40001", "42P01", "57014"] {
            assert!(!postgres_unavailable(code), "{code}");
        }
    }

    /// A wrapper that forwards `source()` (like `#[error(transparent)]`)
    /// still reveals the cause.
    #[test]
    fn found_behind_transparent_wrappers() {
        #[derive(Debug, Error)]
        enum Wrapper {
            #[error(transparent)]
            Storage(#[from] StorageError),
        }
        let wrapped = Wrapper::from(StorageError::from(sqlx::Error::PoolTimedOut));
        assert!(StorageError::is_unavailable_cause(&wrapped));
        let other = Wrapper::from(StorageError::Conflict("user"));
        assert!(!StorageError::is_unavailable_cause(&other));
    }
}
