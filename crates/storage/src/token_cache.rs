//! An in-process cache of access-token lookups (token, session, user), so
//! that introspection, Synapse's hot path, does not cost a database round
//! trip per request on PostgreSQL; and of clients by id, so that client
//! authentication at the token and introspection endpoints does not either.
//!
//! Revocation stays instant. The cache holds the rows, not the answer: the
//! caller still checks expiry, revocation, the session and the user on every
//! hit, against its clock. What can make a held row stale is a write, and
//! every write that can (a token revoked or expired, a session finished, a
//! user locked, unlocked, deactivated or reactivated, a client changed or
//! deleted) names the rows it changed in its transaction (`Repository::invalidate`).
//! At commit those ids are sent with PostgreSQL `NOTIFY` inside the
//! transaction, so every process listening (this one, other `mxauth server`
//! instances on the same database) learns of them exactly when the change
//! becomes visible; this process also drops them itself right after the
//! commit. Before the request that made the change answers, it waits (a
//! fence, at most [`FENCE_WAIT`]) until its own listener has received the
//! notification back and every other listening process has acknowledged
//! it on a second channel after applying it: the processes listening are
//! counted in `pg_stat_activity` in the same transaction. So when a
//! logout, a revocation or a lock answers, no instance serves the old rows.
//!
//! Three rules keep a stale row from ever being served:
//! - An invalidation leaves a tombstone (the id and a generation number)
//!   and every hit is checked against the tombstones of its token, session
//!   and user; a lookup that was in flight while an invalidation happened
//!   is not stored (it read the database before the generation it carries).
//! - The cache serves only while its `LISTEN` connection is up: when the
//!   connection drops, it is emptied and bypassed until a new one listens,
//!   so no notification can be missed while it serves.
//! - Entries live [`ENTRY_TTL`] at most, which bounds the effect of a change
//!   made behind mxauth's back (an administrator's SQL).
//!
//! SQLite has no cross-process notifications (the CLI writes from another
//! process), and its lookups are already an in-process read: there is no
//! cache on SQLite.

pub(crate) mod listener;
mod lookups;

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Mutex, MutexGuard,
    },
    time::{Duration, Instant},
};

use tokio::sync::oneshot;

use mxauth_model::{
    compat::{CompatAccessToken, CompatSession},
    oauth2::{AccessToken, Client, Session},
    User,
};
use ulid::Ulid;

/// The longest an entry is served.
pub const ENTRY_TTL: Duration = Duration::from_secs(60);

/// The most entries held; when full, the cache starts over (rare: one
/// entry per active token).
pub const MAX_ENTRIES: usize = 50_000;

/// A lookup older than this is not stored: its tombstones may be gone.
const MAX_LOOKUP_AGE: Duration = Duration::from_secs(10);

/// The longest a commit waits for its notification to come back.
pub const FENCE_WAIT: Duration = Duration::from_secs(1);

/// What a lookup found, as held in the cache.
#[derive(Debug, Clone)]
pub enum CachedLookup {
    /// An OAuth 2.0 access token, its session and the session's user.
    OAuth2(AccessToken, Session, Option<User>),
    /// A compat (legacy login) access token, its session and its user.
    Compat(CompatAccessToken, CompatSession, User),
    /// A client, held under [`client_key`] of its id.
    Client(Box<Client>),
}

/// The key a client is held under: token digests are hex or base64, so a
/// key with a colon cannot be one.
pub fn client_key(id: Ulid) -> String {
    format!("client:{id}")
}

impl CachedLookup {
    /// The ids whose change makes this entry stale.
    fn keys(&self) -> [Option<Ulid>; 3] {
        match self {
            CachedLookup::OAuth2(token, session, user) => [
                Some(token.id),
                Some(session.id),
                user.as_ref().map(|u| u.id),
            ],
            CachedLookup::Compat(token, session, user) => {
                [Some(token.id), Some(session.id), Some(user.id)]
            }
            CachedLookup::Client(client) => [Some(client.id), None, None],
        }
    }
}

/// Taken before a database lookup and given back with its result, so a
/// lookup that raced with an invalidation is not stored.
#[derive(Debug, Clone, Copy)]
pub struct LookupTicket {
    generation: u64,
    started: Instant,
}

/// What one invalidation names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalidation {
    /// A token, session or user id (ULIDs are unique across tables).
    Row(Ulid),
    /// Everything (many rows changed at once, e.g. a client was deleted).
    All,
}

#[derive(Debug)]
struct Entry {
    value: CachedLookup,
    generation: u64,
    stored: Instant,
}

#[derive(Debug, Default)]
struct State {
    generation: u64,
    /// Entries read before this generation are stale (the last `All`).
    cleared_at: u64,
    entries: HashMap<String, Entry>,
    /// Id → (generation of its last invalidation, when).
    tombstones: HashMap<Ulid, (u64, Instant)>,
}

impl State {
    fn is_stale(&self, value: &CachedLookup, generation: u64) -> bool {
        generation < self.cleared_at
            || value.keys().into_iter().flatten().any(|id| {
                self.tombstones
                    .get(&id)
                    .is_some_and(|(dead_at, _)| *dead_at > generation)
            })
    }
}

/// The cache. See the module documentation.
#[derive(Debug)]
pub struct TokenCache {
    state: Mutex<State>,
    /// Whether the `LISTEN` connection is up; the cache serves only then.
    live: AtomicBool,
    /// Tells this process's fences from other processes' in the payloads.
    nonce: String,
    next_fence: AtomicU64,
    /// Commits waiting for their notification to come back.
    fences: Mutex<HashMap<u64, PendingFence>>,
}

/// A commit waiting for its own notification and the other listeners'
/// acknowledgements.
#[derive(Debug)]
struct PendingFence {
    done: oneshot::Sender<()>,
    received: bool,
    acks_missing: usize,
}

impl Default for TokenCache {
    fn default() -> Self {
        Self {
            state: Mutex::default(),
            live: AtomicBool::new(false),
            nonce: Ulid::new().to_string(),
            next_fence: AtomicU64::new(0),
            fences: Mutex::default(),
        }
    }
}

impl TokenCache {
    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind; keep going.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn is_live(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }

    /// Waits at most `timeout` for the listener to listen.
    pub async fn wait_live(&self, timeout: Duration) {
        let start = Instant::now();
        while !self.is_live() && start.elapsed() < timeout {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Serving on (the listener listens) or off (it lost its connection).
    /// Either way the entries are dropped: while off, notifications may
    /// have been missed.
    pub(crate) fn set_live(&self, live: bool) {
        self.invalidate(&[Invalidation::All]);
        self.live.store(live, Ordering::Release);
    }

    /// The entry for `digest`, if the cache serves, holds it, and nothing
    /// it depends on changed since it was read.
    pub fn get(&self, digest: &str) -> Option<CachedLookup> {
        if !self.is_live() {
            return None;
        }
        let state = self.state();
        let entry = state.entries.get(digest)?;
        if entry.stored.elapsed() > ENTRY_TTL || state.is_stale(&entry.value, entry.generation) {
            return None;
        }
        Some(entry.value.clone())
    }

    /// Taken just before reading the database for a miss.
    pub fn ticket(&self) -> LookupTicket {
        LookupTicket {
            generation: self.state().generation,
            started: Instant::now(),
        }
    }

    /// Stores what a lookup started at `ticket` found, unless something it
    /// depends on was invalidated meanwhile.
    pub fn insert(&self, digest: &str, value: CachedLookup, ticket: LookupTicket) {
        if !self.is_live() || ticket.started.elapsed() > MAX_LOOKUP_AGE {
            return;
        }
        let mut state = self.state();
        if state.is_stale(&value, ticket.generation) {
            return;
        }
        if state.entries.len() >= MAX_ENTRIES {
            state.entries.clear();
        }
        let entry = Entry {
            value,
            generation: ticket.generation,
            stored: Instant::now(),
        };
        state.entries.insert(digest.to_owned(), entry);
    }

    /// Drops what `invalidations` name: from now on, lookups of those rows
    /// go to the database.
    pub fn invalidate(&self, invalidations: &[Invalidation]) {
        if invalidations.is_empty() {
            return;
        }
        let mut state = self.state();
        state.generation += 1;
        let generation = state.generation;
        let now = Instant::now();
        for invalidation in invalidations {
            match invalidation {
                Invalidation::All => {
                    state.entries.clear();
                    state.tombstones.clear();
                    state.cleared_at = generation;
                }
                Invalidation::Row(id) => {
                    state.tombstones.insert(*id, (generation, now));
                }
            }
        }
        // Tombstones matter only while an entry or a lookup older than them
        // can exist.
        if state.tombstones.len() > 4096 {
            let horizon = ENTRY_TTL.max(MAX_LOOKUP_AGE);
            state
                .tombstones
                .retain(|_, (_, at)| at.elapsed() <= horizon);
        }
    }

    /// A fence for a commit that `others` listening processes must
    /// acknowledge: the word to add to its notification, and what resolves
    /// when this process's listener received it and they all acknowledged.
    /// `None` while the listener is down (nothing would come back).
    pub(crate) fn fence(&self, others: usize) -> Option<(String, oneshot::Receiver<()>)> {
        if !self.is_live() {
            return None;
        }
        let id = self.next_fence.fetch_add(1, Ordering::Relaxed);
        let (done, receiver) = oneshot::channel();
        let pending = PendingFence {
            done,
            received: false,
            acks_missing: others,
        };
        self.pending_fences().insert(id, pending);
        Some((format!("#{}:{id}", self.nonce), receiver))
    }

    fn pending_fences(&self) -> MutexGuard<'_, HashMap<u64, PendingFence>> {
        self.fences.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// This process's fence id in `word`, if it is one of ours.
    fn own_fence(&self, word: &str) -> Option<u64> {
        let (nonce, id) = word.strip_prefix('#')?.split_once(':')?;
        (nonce == self.nonce).then(|| id.parse().ok()).flatten()
    }

    /// Whether `word` is a fence of another process (to acknowledge).
    pub(crate) fn is_foreign_fence(&self, word: &str) -> bool {
        word.starts_with('#') && self.own_fence(word).is_none()
    }

    /// The listener received one of this process's fences (`acked`: an
    /// acknowledgement from another process; else the notification itself).
    pub(crate) fn fence_progress(&self, word: &str, acked: bool) {
        let Some(id) = self.own_fence(word) else {
            return;
        };
        let mut fences = self.pending_fences();
        let Some(pending) = fences.get_mut(&id) else {
            return;
        };
        if acked {
            pending.acks_missing = pending.acks_missing.saturating_sub(1);
        } else {
            pending.received = true;
        }
        if pending.received && pending.acks_missing == 0 {
            if let Some(pending) = fences.remove(&id) {
                let _ = pending.done.send(());
            }
        }
    }

    /// Forgets a fence that timed out.
    pub(crate) fn fence_abandoned(&self, word: &str) {
        if let Some(id) = self.own_fence(word) {
            self.pending_fences().remove(&id);
        }
    }

    /// Records in the cached entry of `digest` that its token was used, so
    /// hits do not write the first use again (the row was written by the
    /// caller; nothing is invalidated: the change only stops writes).
    pub fn note_first_use(&self, digest: &str, at: chrono::DateTime<chrono::Utc>) {
        if let Some(entry) = self.state().entries.get_mut(digest) {
            if let CachedLookup::OAuth2(token, ..) = &mut entry.value {
                token.first_used_at.get_or_insert(at);
            }
        }
    }

    /// How many entries are held (for tests and metrics).
    pub fn len(&self) -> usize {
        self.state().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The `NOTIFY` channel and payload format: ids separated by spaces, `*`
/// for everything, and a fence word `#nonce:n` in the last payload of a
/// commit. A payload must stay under PostgreSQL's 8000 bytes, so a long
/// list is sent in several notifications.
pub(crate) mod wire {
    use super::Invalidation;

    pub const CHANNEL: &str = "mxauth_token_cache";
    /// Where the other processes acknowledge a fence (the word itself).
    pub const ACK_CHANNEL: &str = "mxauth_token_cache_ack";
    /// Counts the processes listening on this database, in the transaction
    /// that invalidates: their listeners' last statement is the `LISTEN`.
    pub const COUNT_LISTENERS: &str = "SELECT COUNT(*) FROM pg_stat_activity
         WHERE datname = current_database() AND query LIKE 'LISTEN %mxauth_token_cache%'";
    /// 26-character ULIDs and a space: 256 ids are 6,912 bytes.
    pub const IDS_PER_PAYLOAD: usize = 256;

    pub fn payloads(invalidations: &[Invalidation], fence: Option<&str>) -> Vec<String> {
        if invalidations.is_empty() {
            return Vec::new();
        }
        let mut words: Vec<String> = if invalidations.contains(&Invalidation::All) {
            vec!["*".to_owned()]
        } else {
            invalidations
                .iter()
                .filter_map(|i| match i {
                    Invalidation::Row(id) => Some(id.to_string()),
                    Invalidation::All => None,
                })
                .collect()
        };
        words.extend(fence.map(str::to_owned));
        words.chunks(IDS_PER_PAYLOAD).map(|c| c.join(" ")).collect()
    }

    /// A payload back to invalidations and fence words; anything
    /// unreadable empties the whole cache rather than being ignored.
    pub fn parse(payload: &str) -> (Vec<Invalidation>, Vec<&str>) {
        let (mut out, mut fences) = (Vec::new(), Vec::new());
        for word in payload.split_whitespace() {
            if word.starts_with('#') {
                fences.push(word);
                continue;
            }
            match word.parse() {
                Ok(id) => out.push(Invalidation::Row(id)),
                Err(_) => out.push(Invalidation::All),
            }
        }
        if out.contains(&Invalidation::All) {
            out = vec![Invalidation::All];
        }
        (out, fences)
    }
}

#[cfg(test)]
mod tests;
