//! Noticing quickly that the database cannot serve requests: PostgreSQL
//! being unreachable (a probe instead of the pool's whole acquire timeout),
//! SQLite connections left unusable by a failed commit, and the write probe
//! of `/health`.
//!
//! sqlx's pool retries a refused connection with back-off until its acquire
//! timeout (`database.connect_timeout`, 30 s by default), so with PostgreSQL
//! down every request used to hang 30 s and then fail with a 500. Here a
//! request that has waited [`PATIENCE`] for the pool makes one direct
//! connection attempt: if that fails the database is unavailable and the
//! request fails now; if it works the pool is merely busy and the request
//! keeps waiting. While every pooled connection is open and busy the
//! server is plainly answering, so the probe waits ([`BUSY_PATIENCE`]).
//! A verdict is shared for [`VERDICT_TTL`], so a burst of
//! requests during an outage costs one attempt, not one each, and requests
//! that arrive while a negative verdict is fresh fail at once.
//!
//! A probe that gets no answer in time proves nothing by itself: on an
//! overloaded machine a new PostgreSQL connection (a fork and a TLS
//! handshake, each waiting for a CPU) took 3–8 s while every open
//! connection answered in milliseconds, and requests got 503s saying the
//! database was down. So only a refusal, a reset or an error from the
//! server is a verdict at once. A strained probe (no answer) lets the
//! request wait for the pool until [`BUSY_PATIENCE`]; a server strained
//! for that long, with no probe answered in between, is unavailable (a
//! host gone without closing its connections), and requests fail fast
//! again until a probe is answered.

use std::{
    collections::HashMap,
    future::Future,
    pin::Pin,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, LazyLock, Mutex,
    },
    time::{Duration, Instant},
};

use sqlx::{
    pool::PoolConnectionMetadata, postgres::PgConnectOptions, sqlite::SqliteConnection,
    ConnectOptions, Connection, PgPool,
};

use crate::StorageError;

/// How long a request waits for the pool before checking whether the
/// server can be reached at all. A healthy pool answers in milliseconds.
const PATIENCE: Duration = Duration::from_secs(1);

/// How long the reachability probe may take; with [`PATIENCE`], the
/// longest a request waits before a 503 when the server is gone.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// How long one verdict is reused.
const VERDICT_TTL: Duration = Duration::from_secs(1);

/// How long a request keeps waiting for a pool that is busy or slow while
/// the server has refused nothing:
/// - every connection open and in use: the server is answering them, only
///   busily, and no probe runs. A probe would open one connection more,
///   which a loaded machine may not finish within [`PROBE_TIMEOUT`], or
///   which a server at its connection limit refuses; either way requests
///   got a 503 saying the database was down while it served every pooled
///   connection (seen with two instances under full load);
/// - strained probes (no answer): an overloaded machine, or a server gone
///   silent.
///
/// Past this the request answers 503; a server strained for this long
/// (one that stopped answering without closing its connections) is
/// unavailable for every request until a probe is answered.
pub(crate) const BUSY_PATIENCE: Duration = Duration::from_secs(10);

/// What the latest probe of one server found.
#[derive(Clone)]
enum Probed {
    /// It accepted a connection.
    Answered,
    /// No answer within [`PROBE_TIMEOUT`]: an overloaded machine, or a
    /// host gone silent. Told apart by waiting.
    Strained(String),
    /// Refused, reset, or an error from the server (shutting down, too
    /// many connections, …); also a server strained for [`BUSY_PATIENCE`].
    /// "Too many connections" (53300) is an answer too, and waiting would
    /// not help: a request waiting in sqlx's pool keeps retrying its own
    /// new connection and does not take one another request releases
    /// (seen: 10 s of waiting, then the 503 anyway).
    Down(std::io::ErrorKind, String),
}

/// The latest probe of one server, and when it ran.
struct Verdict {
    at: Instant,
    probed: Probed,
}

/// What is known of one server.
#[derive(Default)]
struct ServerState {
    latest: Option<Verdict>,
    /// Since when every probe has been [`Probed::Strained`].
    strained_since: Option<Instant>,
}

/// One probe state per server, shared by every pool of this process that
/// talks to it (reachability is a property of the address, not the pool).
type Verdicts = Mutex<HashMap<String, Arc<tokio::sync::Mutex<ServerState>>>>;
static VERDICTS: LazyLock<Verdicts> = LazyLock::new(Verdicts::default);

/// When a probe last failed, in milliseconds since [`EPOCH`] (0: never).
/// Every database access asks whether a server is known to be down; while
/// no probe has failed lately the answer comes from this one atomic load,
/// without building a key or taking a lock on the hot path.
static LAST_FAILURE_MS: AtomicU64 = AtomicU64::new(0);
static EPOCH: LazyLock<Instant> = LazyLock::new(Instant::now);

fn millis_since_epoch() -> u64 {
    u64::try_from(EPOCH.elapsed().as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

fn failed_lately() -> bool {
    let last = LAST_FAILURE_MS.load(Ordering::Relaxed);
    last != 0 && millis_since_epoch().saturating_sub(last) < VERDICT_TTL.as_millis() as u64
}

fn server_key(options: &PgConnectOptions) -> String {
    match options.get_socket() {
        Some(socket) => format!("{}:{}", socket.display(), options.get_port()),
        None => format!("{}:{}", options.get_host(), options.get_port()),
    }
}

fn verdict_slot(options: &PgConnectOptions) -> Arc<tokio::sync::Mutex<ServerState>> {
    let key = server_key(options);
    let mut verdicts = VERDICTS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    verdicts.entry(key).or_default().clone()
}

fn unavailable(kind: std::io::ErrorKind, message: &str) -> StorageError {
    StorageError::Unavailable(sqlx::Error::Io(std::io::Error::new(
        kind,
        message.to_owned(),
    )))
}

/// One direct connection attempt to the server behind `options`, closed
/// again at once; a timeout is an `Io` error of kind `TimedOut`. Also used
/// at start-up, where the pool would retry a refused connection until
/// `connect_timeout` and then say only "pool timed out".
pub(crate) async fn connect_once(
    options: &PgConnectOptions,
    timeout: Duration,
) -> Result<(), sqlx::Error> {
    match tokio::time::timeout(timeout, options.connect()).await {
        Ok(Ok(connection)) => connection.close().await,
        Ok(Err(e)) => Err(e),
        Err(_) => Err(sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!(
                "no answer from {} within {} ms",
                server_key(options),
                timeout.as_millis()
            ),
        ))),
    }
}

/// Probes the server once.
async fn probe(options: &PgConnectOptions) -> Probed {
    match connect_once(options, PROBE_TIMEOUT).await {
        Ok(()) => Probed::Answered,
        Err(sqlx::Error::Io(io)) if io.kind() == std::io::ErrorKind::TimedOut => {
            Probed::Strained(io.to_string())
        }
        Err(sqlx::Error::Io(io)) => Probed::Down(io.kind(), io.to_string()),
        Err(other) => Probed::Down(std::io::ErrorKind::Other, other.to_string()),
    }
}

impl Verdict {
    fn fresh(&self) -> bool {
        self.at.elapsed() < VERDICT_TTL
    }
}

/// Fails when a fresh verdict says the server is down.
async fn known_unreachable(options: &PgConnectOptions) -> Result<(), StorageError> {
    if !failed_lately() {
        return Ok(());
    }
    let slot = verdict_slot(options);
    let state = slot.lock().await;
    match state.latest.as_ref().map(|v| (v.fresh(), &v.probed)) {
        Some((true, Probed::Down(kind, message))) => Err(unavailable(*kind, message)),
        _ => Ok(()),
    }
}

/// What the server is like: a fresh verdict, else a probe now. Strained
/// turns to [`Probed::Down`] for a request out of patience, and for every
/// request once the server has been strained for [`BUSY_PATIENCE`], until
/// a probe is answered or refused. Decided under the server's lock, so a
/// newer verdict is never overwritten by an older one.
async fn reachable(options: &PgConnectOptions, patient: bool) -> Probed {
    let slot = verdict_slot(options);
    let mut state = slot.lock().await;
    let cached = state.latest.as_ref().filter(|v| v.fresh());
    let (found, probed_now) = match cached {
        Some(verdict) => (verdict.probed.clone(), false),
        None => (state.probe(options).await, true),
    };
    let server = server_key(options);
    let strained_for = state.strained_since.map(|since| since.elapsed());
    let (verdict, escalated) = match found {
        Probed::Strained(message)
            if !patient || strained_for.is_some_and(|d| d >= BUSY_PATIENCE) =>
        {
            let seconds = strained_for.unwrap_or_default().as_secs();
            let message = format!("{message}; no connection taken for {seconds} s");
            (Probed::Down(std::io::ErrorKind::TimedOut, message), true)
        }
        found => (found, false),
    };
    // A cached verdict is recorded (and logged) again only when it turned
    // from strained to down here.
    if !(probed_now || escalated) {
        return verdict;
    }
    match &verdict {
        Probed::Answered => {}
        Probed::Strained(message) => tracing::warn!(
            %server,
            error = %message,
            "a new database connection gets no answer; waiting for the pool (an overloaded machine, or a server gone silent)"
        ),
        Probed::Down(_, message) => {
            LAST_FAILURE_MS.store(millis_since_epoch(), Ordering::Relaxed);
            tracing::warn!(%server, error = %message, "the database cannot be reached");
        }
    }
    state.latest = Some(Verdict {
        at: Instant::now(),
        probed: verdict.clone(),
    });
    verdict
}

impl ServerState {
    /// Probes the server, keeping track of how long it has been strained.
    async fn probe(&mut self, options: &PgConnectOptions) -> Probed {
        let started = Instant::now();
        let found = probe(options).await;
        match found {
            Probed::Strained(_) => {
                self.strained_since.get_or_insert(started);
            }
            Probed::Answered | Probed::Down(..) => self.strained_since = None,
        }
        found
    }
}

/// Runs `work` (which waits for a connection of `pool`), failing fast with
/// [`StorageError::Unavailable`] when the server cannot be reached.
pub(crate) async fn within_reach<T>(
    pool: &PgPool,
    work: impl Future<Output = Result<T, sqlx::Error>>,
) -> Result<T, StorageError> {
    let options = pool.connect_options();
    known_unreachable(&options).await?;
    let mut work = std::pin::pin!(work);
    let started = Instant::now();
    loop {
        if let Ok(result) = tokio::time::timeout(PATIENCE, &mut work).await {
            return result.map_err(StorageError::from);
        }
        let patient = started.elapsed() < BUSY_PATIENCE;
        if all_connections_busy(pool) && patient {
            continue;
        }
        match reachable(&options, patient).await {
            // Merely busy: the pool's own acquire timeout applies.
            Probed::Answered => break,
            Probed::Down(kind, message) => return Err(unavailable(kind, &message)),
            Probed::Strained(_) => continue,
        }
    }
    work.await.map_err(StorageError::from)
}

/// Every connection the pool may have is open and checked out. When the
/// server goes away, checked-out connections fail and close and idle ones
/// fail their ping, so the pool shrinks below its maximum and the probe
/// runs.
fn all_connections_busy(pool: &PgPool) -> bool {
    pool.num_idle() == 0 && pool.size() >= pool.options().get_max_connections()
}

type ReleaseCheck<'c> = Pin<Box<dyn Future<Output = Result<bool, sqlx::Error>> + Send + 'c>>;

/// The SQLite pool's `after_release` check: keep a connection only when it
/// is outside any transaction. A COMMIT that fails with SQLITE_FULL or
/// SQLITE_IOERR makes SQLite roll the transaction back by itself, while
/// sqlx still counts it as open; the rollback sqlx queues then fails too,
/// and the connection would refuse every later BEGIN ("attempted to call
/// begin_with at non-zero transaction depth"). Such a connection is closed;
/// the pool opens a fresh one.
pub(crate) fn sqlite_release_check(
    conn: &mut SqliteConnection,
    _meta: PoolConnectionMetadata,
) -> ReleaseCheck<'_> {
    Box::pin(async move {
        // Taking the handle waits until the worker has run everything
        // queued before, including the rollback of a dropped transaction.
        drop(conn.lock_handle().await?);
        let clean = !conn.is_in_transaction();
        if !clean {
            tracing::warn!("closing a SQLite connection left inside a failed transaction");
        }
        Ok(clean)
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use std::time::{Duration, Instant};

    use crate::{Database, DatabaseSettings, StorageError};

    /// The issue: a closed port at start-up said "pool timed out" after the
    /// whole 30 s `connect_timeout`.
    #[tokio::test]
    async fn a_closed_port_at_start_up_is_refused_at_once() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let settings =
            DatabaseSettings::from_uri(format!("postgresql://mxauth@127.0.0.1:{port}/mxauth"));
        assert_eq!(settings.connect_timeout, Duration::from_secs(30));
        let started = Instant::now();
        let error = Database::connect(&settings).await.unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        let message = error.to_string();
        assert!(matches!(error, StorageError::Connect(_)), "{message}");
        assert!(message.to_lowercase().contains("refused"), "{message}");
        assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
    }

    /// `DATABASE_URL`, or `None` with a note (a failure under `CI=true`).
    pub(crate) fn database_url() -> Option<String> {
        match std::env::var("DATABASE_URL") {
            Ok(url) if !url.is_empty() => Some(url),
            _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
                panic!("CI=true but DATABASE_URL is not set")
            }
            _ => {
                // Past the test harness's capture, so it shows in a plain run.
                let _ = std::io::Write::write_all(
                    &mut std::io::stderr(),
                    b"SKIPPED: DATABASE_URL is not set: a PostgreSQL pool test\n",
                );
                None
            }
        }
    }

    /// A pool busy with long queries against a server at its connection
    /// limit: the probe's extra connection is refused, yet the server
    /// answers every pooled one. A request waiting for the pool must get
    /// its connection when one is free, not a 503 saying the server is
    /// down (before: a 503 after one second).
    #[tokio::test]
    async fn a_busy_pool_at_the_connection_limit_is_not_a_server_down() {
        let Some(url) = database_url() else { return };
        let admin = Database::connect(&DatabaseSettings::from_uri(url.clone()))
            .await
            .unwrap();
        let Database::Postgres(admin_pool, _) = &admin else {
            panic!("DATABASE_URL is not PostgreSQL")
        };
        let role = format!("mxauth_one_conn_{}", std::process::id());
        sqlx::raw_sql(&format!(
            "DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN CONNECTION LIMIT 1"
        ))
        .execute(admin_pool)
        .await
        .unwrap();
        // The same server and database, as the limited role (trust auth).
        let (scheme, rest) = url.split_once("://").unwrap();
        let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
        let mut settings = DatabaseSettings::from_uri(format!("{scheme}://{role}@{host}"));
        settings.max_connections = 1;
        let db = Database::connect(&settings).await.unwrap();
        let Database::Postgres(pool, _) = &db else {
            unreachable!()
        };
        let mut held = pool.acquire().await.unwrap();
        let holder = tokio::spawn(async move {
            sqlx::query("SELECT pg_sleep(2.5)")
                .execute(&mut *held)
                .await
                .unwrap();
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        let started = Instant::now();
        let waited = db.ping().await;
        let elapsed = started.elapsed();
        holder.await.unwrap();
        db.close().await;
        sqlx::raw_sql(&format!("DROP ROLE IF EXISTS {role}"))
            .execute(admin_pool)
            .await
            .unwrap();
        admin.close().await;
        assert!(waited.is_ok(), "after {elapsed:?}: {waited:?}");
        assert!(elapsed >= Duration::from_secs(2), "{elapsed:?}");
    }

    /// Pooled connections are handed out without a ping while recently
    /// used, but one idle for over a second is pinged first: a connection
    /// PostgreSQL dropped meanwhile (a restart, an admin's
    /// `pg_terminate_backend`) is replaced, not given to a request.
    #[tokio::test]
    async fn a_connection_dropped_while_idle_is_replaced_not_handed_out() {
        let Some(url) = database_url() else { return };
        let mut settings = DatabaseSettings::from_uri(url.clone());
        settings.max_connections = 1;
        let db = Database::connect(&settings).await.unwrap();
        let Database::Postgres(pool, _) = &db else {
            panic!("DATABASE_URL is not PostgreSQL")
        };
        let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(pool)
            .await
            .unwrap();
        let admin = Database::connect(&DatabaseSettings::from_uri(url))
            .await
            .unwrap();
        let Database::Postgres(admin_pool, _) = &admin else {
            unreachable!()
        };
        sqlx::query("SELECT pg_terminate_backend($1)")
            .bind(pid)
            .execute(admin_pool)
            .await
            .unwrap();
        admin.close().await;
        tokio::time::sleep(Duration::from_millis(1300)).await;
        let answered = db.ping().await;
        let new_pid: Result<i32, _> = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(pool)
            .await;
        db.close().await;
        assert!(answered.is_ok(), "{answered:?}");
        assert_ne!(new_pid.unwrap(), pid);
    }
}
