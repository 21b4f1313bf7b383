//! When and from where each session was last used ("last active" on the
//! account's sessions page, and the admin API's `last-active-*` filters).
//!
//! Recording is on hot paths (every introspection Synapse makes, every
//! page), so it writes nothing there: [`ActivityTracker::record`] updates
//! an in-memory map, and a background task ([`ActivityTracker::run`])
//! writes what was seen in one transaction a minute (and at shutdown). A
//! row only moves forward in time. The map is bounded: beyond
//! [`MAX_PENDING`] sessions in one minute, new sessions wait for the next
//! flush (activity is a hint, never worth unbounded memory).
//!
//! The IP is the client's where the client talks to us (pages, the token
//! endpoint, the legacy login); introspection comes from the homeserver,
//! which does not tell the client's address, so it records the time only.

use std::{collections::HashMap, net::IpAddr, sync::Mutex, time::Duration};

use chrono::{DateTime, Utc};
use mxauth_storage::{Database, SessionKind, StorageError};
use ulid::Ulid;

/// How many sessions one flush carries at most.
pub const MAX_PENDING: usize = 50_000;

/// How often what was seen is written.
pub const FLUSH_EVERY: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seen {
    at: DateTime<Utc>,
    ip: Option<IpAddr>,
}

#[derive(Debug, Default)]
pub struct ActivityTracker {
    pending: Mutex<HashMap<(SessionKind, Ulid), Seen>>,
}

impl ActivityTracker {
    /// Notes that session `id` of `kind` was used at `at`, from `ip` when
    /// known (an unknown IP keeps the last known one).
    pub fn record(&self, kind: SessionKind, id: Ulid, at: DateTime<Utc>, ip: Option<IpAddr>) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let full = pending.len() >= MAX_PENDING;
        match pending.get_mut(&(kind, id)) {
            Some(seen) => {
                seen.at = seen.at.max(at);
                seen.ip = ip.or(seen.ip);
            }
            None if full => {}
            None => {
                pending.insert((kind, id), Seen { at, ip });
            }
        }
    }

    /// How many sessions wait to be written.
    pub fn pending(&self) -> usize {
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Writes what was seen since the last flush, in one transaction;
    /// returns how many sessions it touched. On a database failure what
    /// was taken is dropped (the next use records it again).
    pub async fn flush(&self, db: &Database) -> Result<usize, StorageError> {
        let taken: Vec<_> = {
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            pending.drain().collect()
        };
        if taken.is_empty() {
            return Ok(0);
        }
        let mut repo = db.begin().await?;
        for ((kind, id), seen) in &taken {
            let ip = seen.ip.map(|ip| ip.to_string());
            repo.session_activity()
                .touch(*kind, *id, seen.at, ip.as_deref())
                .await?;
        }
        repo.commit().await?;
        Ok(taken.len())
    }

    /// Flushes every [`FLUSH_EVERY`] until `stop` turns true, then once
    /// more.
    pub async fn run(&self, db: Database, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            tokio::select! {
                () = tokio::time::sleep(FLUSH_EVERY) => {}
                _ = stop.changed() => {}
            }
            if let Err(e) = self.flush(&db).await {
                tracing::warn!("cannot record session activity: {e}");
            }
            if *stop.borrow() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests;
