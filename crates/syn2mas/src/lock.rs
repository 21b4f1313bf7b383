//! One syn2mas at a time per target database.

use mxauth_storage::Database;
use sqlx::{pool::PoolConnection, Postgres};

use crate::Syn2masError;

/// Held for the whole run; dropping it lets the next run in. On
/// PostgreSQL, a session advisory lock held by a connection of its own. (On
/// SQLite there is none: two runs would still not corrupt anything, since
/// each batch is one transaction and usernames are unique, so the slower
/// run fails its batch.)
pub struct TargetLock {
    _connection: Option<PoolConnection<Postgres>>,
}

/// Takes the lock, or says that another run holds it.
pub async fn lock_target(target: &Database) -> Result<TargetLock, Syn2masError> {
    let Database::Postgres(pool, _) = target else {
        return Ok(TargetLock { _connection: None });
    };
    let mut conn = pool.acquire().await?;
    let locked: bool =
        sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtext('mxauth-syn2mas'))")
            .fetch_one(&mut *conn)
            .await?;
    if !locked {
        return Err(Syn2masError::AlreadyRunning);
    }
    Ok(TargetLock {
        _connection: Some(conn),
    })
}
