//! When the import suspends the target's secondary indexes and foreign keys
//! (storage's `Syn2Mas::suspend_indexes` records what it drops) and how it
//! rebuilds them.
//!
//! - Empty target, nothing suspended: suspend, import, rebuild.
//! - Empty target, suspended by a run stopped before its first batch:
//!   import, rebuild.
//! - Target with users and something suspended (a run stopped mid-way):
//!   rebuild first, then import with every index in place, so the lookups
//!   that skip what is there stay fast and every check is on.
//! - Otherwise (a target with users, or `--no-bulk-load`): nothing changes.

use std::time::Instant;

use mxauth_storage::{Backend, Database};
use tokio::task::JoinSet;

use crate::{progress::Timings, Syn2masError};

type Result<T, E = Syn2masError> = std::result::Result<T, E>;

/// Before the first batch of a real run: rebuilds what a stopped run left
/// suspended when the target has users, and suspends when it is empty and
/// `enabled`. True when the import must rebuild at the end.
pub(super) async fn prepare(
    target: &Database,
    enabled: bool,
    writers: usize,
    timings: &mut Timings,
) -> Result<bool> {
    let mut repo = target.begin().await?;
    let empty = repo.syn2mas().target_is_empty().await?;
    let left = repo.syn2mas().suspended_indexes().await?;
    if !left.is_empty() {
        repo.rollback().await?;
        if empty {
            return Ok(true);
        }
        restore(target, writers, timings).await?;
        return Ok(false);
    }
    if !(empty && enabled) {
        repo.rollback().await?;
        return Ok(false);
    }
    let started = Instant::now();
    let count = repo.syn2mas().suspend_indexes().await?;
    repo.commit().await?;
    timings.record("suspend indexes+keys", count as u64, started.elapsed());
    Ok(true)
}

/// Rebuilds everything suspended: on PostgreSQL the indexes `writers` at a
/// time (each in a transaction of its own, so a stop keeps what was
/// built), then the foreign keys one by one (adding two keys at once can
/// deadlock on their shared parent tables); on SQLite one by one.
pub(super) async fn restore(
    target: &Database,
    writers: usize,
    timings: &mut Timings,
) -> Result<()> {
    let started = Instant::now();
    let left = target.read().await?.syn2mas().suspended_indexes().await?;
    let count = left.len();
    let parallel = matches!(target.backend(), Backend::Postgres);
    let (indexes, keys): (Vec<_>, Vec<_>) = left
        .into_iter()
        .partition(|(_, statement)| parallel && statement.starts_with("CREATE"));
    let mut building = JoinSet::new();
    for (name, statement) in indexes {
        if building.len() >= writers.max(1) {
            joined(building.join_next().await)?;
        }
        building.spawn(restore_one(target.clone(), name, statement));
    }
    while let Some(done) = building.join_next().await {
        joined(Some(done))?;
    }
    for (name, statement) in keys {
        restore_one(target.clone(), name, statement).await?;
    }
    let mut repo = target.begin().await?;
    repo.syn2mas().finish_restoring().await?;
    repo.commit().await?;
    timings.record("rebuild indexes+keys", count as u64, started.elapsed());
    Ok(())
}

async fn restore_one(target: Database, name: String, statement: String) -> Result<()> {
    let mut repo = target.begin().await?;
    repo.syn2mas().restore_index(&name, &statement).await?;
    repo.commit().await?;
    Ok(())
}

fn joined(done: Option<Result<Result<()>, tokio::task::JoinError>>) -> Result<()> {
    match done {
        Some(Ok(result)) => result,
        Some(Err(e)) => Err(Syn2masError::Task(e.to_string())),
        None => Ok(()),
    }
}
