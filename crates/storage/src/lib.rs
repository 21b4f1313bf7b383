//! mxauth's database layer. One [`Database`] over SQLite (the embedded
//! default) or PostgreSQL, one [`Repository`] per transaction, and the
//! migrations of both backends. Only this crate knows sqlx.

mod availability;
mod database;
mod describe;
mod error;
pub mod migrate;
mod repository;
mod types;

pub use database::{Backend, Database, DatabaseSettings, SqliteWriteLock, SslMode};
pub use error::StorageError;
pub use repository::{
    CompatSsoLogin, ExistingUser, ImportAccessToken, ImportBatch, ImportRefreshToken,
    ImportSession, ImportUser, NewPassword, QueuedJob, Repository,
};
pub use types::new_ulid;
