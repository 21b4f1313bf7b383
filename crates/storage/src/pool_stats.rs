//! Numbers for metrics: connections of the pool in use and idle, tasks
//! waiting for one, and jobs waiting in each queue. Kept apart from the
//! repository: they describe the pool and the queue, not one transaction.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::{Database, StorageError};

/// Tasks of this process waiting for a connection (or, on SQLite, for the
/// write lock) right now. One count for the process: sqlx does not expose
/// its queue of waiters.
static WAITING: AtomicUsize = AtomicUsize::new(0);

/// Counts its holder as waiting until dropped: held around an acquire.
pub(crate) struct Waiting(());

impl Waiting {
    pub(crate) fn start() -> Self {
        WAITING.fetch_add(1, Ordering::Relaxed);
        Self(())
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        WAITING.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The pool at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    pub in_use: u32,
    pub idle: u32,
    /// Tasks waiting for a connection, across the process.
    pub waiting: usize,
}

impl Database {
    pub fn pool_stats(&self) -> PoolStats {
        let (size, idle) = match self {
            Database::Sqlite(pool, _) => (pool.size(), pool.num_idle()),
            Database::Postgres(pool, _) => (pool.size(), pool.num_idle()),
        };
        let idle = u32::try_from(idle).unwrap_or(u32::MAX);
        PoolStats {
            in_use: size.saturating_sub(idle),
            idle,
            waiting: WAITING.load(Ordering::Relaxed),
        }
    }

    /// Jobs queued and not yet running, per queue name, sorted by name.
    pub async fn queued_jobs(&self) -> Result<Vec<(String, i64)>, StorageError> {
        const QUERY: &str = "SELECT queue_name, COUNT(*) FROM queue_jobs \
                             WHERE status = 'available' GROUP BY queue_name ORDER BY queue_name";
        Ok(match self {
            Database::Sqlite(pool, _) => sqlx::query_as(QUERY).fetch_all(pool).await?,
            Database::Postgres(pool, _) => sqlx::query_as(QUERY).fetch_all(pool).await?,
        })
    }
}
