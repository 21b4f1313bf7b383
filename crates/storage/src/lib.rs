//! mxauth's database layer. One [`Database`] over SQLite (the embedded
//! default) or PostgreSQL, one [`Repository`] per transaction (or a
//! [`ReadHandle`] without one, which cannot write), accessors per table
//! group, and the migrations of both backends. Only this crate knows sqlx.

mod availability;
mod database;
mod describe;
mod error;
#[cfg(test)]
mod fault_tests;
mod import_writer;
pub mod migrate;
mod pool_stats;
mod repository;
pub mod token_cache;
mod types;

pub use database::{Backend, Database, DatabaseSettings, SqliteWriteLock, SslMode, TokenCacheSlot};
pub use error::StorageError;
pub use import_writer::ImportWriter;
pub use pool_stats::PoolStats;
pub use repository::{
    AccessTokens, AdvisoryLock, AuditEvent, AuditEvents, AuditFilter, AuthorizationGrants,
    BrowserSessions, ClientFilter, CompatAccessTokens, CompatRefreshTokens, CompatSessions,
    CompatSsoLogin, CompatSsoLogins, EmailAuthentications, ExistingUser, ImportAccessToken,
    ImportBatch, ImportRefreshToken, ImportSession, ImportUser, Jobs, LinkFilter, Mode,
    NewPassword, OAuth2Clients, OAuth2Sessions, Page, Pagination, PersonalSessionFilter,
    PersonalSessions, PolicyData, PolicyDataHistory, QueuedJob, Read, ReadHandle, Recovery,
    RefreshTokens, RegistrationTokens, Registrations, Repository, Rotation, RotationRequest,
    SessionActivity, SessionFilter, SessionKind, Successor, Syn2Mas, TokenFilter, UserEmailFilter,
    UserEmails, UserFilter, UserPasswords, UserStatus, Users, Write,
};
pub use types::new_ulid;
