//! Connecting to SQLite or PostgreSQL, and opening transactions.

use std::{
    path::PathBuf,
    str::FromStr,
    sync::{Arc, OnceLock},
    time::Duration,
};

use sqlx::{
    postgres::{PgConnectOptions, PgPoolOptions, PgSslMode},
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
    PgPool, SqlitePool,
};

use crate::{
    availability,
    repository::{ReadHandle, Repository},
    token_cache::{self, TokenCache},
    StorageError,
};

/// Which kind of database is behind a [`Database`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// PostgreSQL `sslmode`, as in libpq.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

/// Where the database is and how to pool connections: the `database` section
/// of the configuration, with `*_file` values already read.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// `sqlite://path`, `sqlite::memory:` or `postgresql://…`. When `None`,
    /// PostgreSQL is reached through the individual fields below.
    pub uri: Option<String>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub socket: Option<PathBuf>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub database: Option<String>,
    pub ssl_mode: Option<SslMode>,
    /// PEM documents: the CA to trust, and a client certificate and key.
    pub ssl_ca: Option<Vec<u8>>,
    pub ssl_certificate: Option<Vec<u8>>,
    pub ssl_key: Option<Vec<u8>>,
    pub max_connections: u32,
    pub min_connections: u32,
    pub connect_timeout: Duration,
    pub idle_timeout: Option<Duration>,
    pub max_lifetime: Option<Duration>,
    /// PostgreSQL only: the schema to work in (`search_path`). Tests use a
    /// fresh schema each; production leaves it unset.
    pub search_path: Option<String>,
}

impl DatabaseSettings {
    /// Settings for a URI with MAS's pool defaults.
    pub fn from_uri(uri: impl Into<String>) -> Self {
        Self {
            uri: Some(uri.into()),
            host: None,
            port: None,
            socket: None,
            username: None,
            password: None,
            database: None,
            ssl_mode: None,
            ssl_ca: None,
            ssl_certificate: None,
            ssl_key: None,
            max_connections: 10,
            min_connections: 0,
            connect_timeout: Duration::from_secs(30),
            idle_timeout: Some(Duration::from_secs(600)),
            max_lifetime: Some(Duration::from_secs(1800)),
            search_path: None,
        }
    }

    pub fn backend(&self) -> Backend {
        match &self.uri {
            Some(uri) if uri.starts_with("sqlite:") => Backend::Sqlite,
            _ => Backend::Postgres,
        }
    }
}

/// A pool of connections to one database.
#[derive(Debug, Clone)]
pub enum Database {
    Sqlite(SqlitePool, SqliteWriteLock),
    Postgres(PgPool, TokenCacheSlot),
}

/// The token cache of a PostgreSQL database, once a server turned it on
/// (see `token_cache`); shared by every clone of the [`Database`].
#[derive(Debug, Clone, Default)]
pub struct TokenCacheSlot(Arc<OnceLock<Arc<TokenCache>>>);

/// SQLite has one writer at a time. Writers of this process queue here, in
/// order, instead of in SQLite's busy handler, which sleeps and retries and
/// turns a burst of writes into long tail latencies. (Other processes, such
/// as the CLI, still meet the busy timeout.)
#[derive(Debug, Clone, Default)]
pub struct SqliteWriteLock(Arc<tokio::sync::Mutex<()>>);

impl Database {
    /// Opens a pool. SQLite files are created when missing.
    pub async fn connect(settings: &DatabaseSettings) -> Result<Self, StorageError> {
        match settings.backend() {
            Backend::Sqlite => connect_sqlite(settings).await,
            Backend::Postgres => connect_postgres(settings).await,
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Database::Sqlite(..) => Backend::Sqlite,
            Database::Postgres(..) => Backend::Postgres,
        }
    }

    /// Starts a transaction. On SQLite it is `BEGIN IMMEDIATE`: it takes the
    /// write lock at once, so two writers queue on `busy_timeout` instead of
    /// one failing with `SQLITE_BUSY` when it upgrades a read lock. A
    /// PostgreSQL that refuses connections fails within about two seconds
    /// with [`StorageError::Unavailable`], one that stays silent within
    /// about twelve (see `availability`).
    pub async fn begin(&self) -> Result<Repository, StorageError> {
        let _waiting = crate::pool_stats::Waiting::start();
        Ok(match self {
            Database::Sqlite(pool, lock) => {
                let guard = lock.0.clone().lock_owned().await;
                Repository::sqlite(pool.begin_with("BEGIN IMMEDIATE").await?, guard)
            }
            Database::Postgres(pool, cache) => Repository::postgres(
                availability::within_reach(pool, begin_to_the_end(pool)).await?,
                cache.0.get().cloned(),
            ),
        })
    }

    /// A handle for reads outside any transaction: each statement sees the
    /// latest committed data. For lookups on hot paths; anything that writes
    /// more than one row uses [`Database::begin`]. The handle has no write
    /// methods: every write goes through a transaction.
    pub async fn read(&self) -> Result<ReadHandle, StorageError> {
        let _waiting = crate::pool_stats::Waiting::start();
        Ok(match self {
            Database::Sqlite(pool, _) => ReadHandle::sqlite_conn(pool.acquire().await?),
            Database::Postgres(pool, _) => {
                ReadHandle::postgres_conn(availability::within_reach(pool, pool.acquire()).await?)
            }
        })
    }

    /// Runs a trivial query: the database answers.
    pub async fn ping(&self) -> Result<(), StorageError> {
        let mut repo = self.read().await?;
        repo.probe_read().await
    }

    /// Commits a write that changes nothing but still goes to disk: the
    /// health check, which must fail while the database cannot take writes
    /// (disk full, read-only, unreachable).
    pub async fn check_writable(&self) -> Result<(), StorageError> {
        let mut repo = self.begin().await?;
        repo.probe_write().await?;
        repo.commit().await
    }

    /// Turns the token cache on (PostgreSQL only; `None` on SQLite) and
    /// starts its `LISTEN` task; calling it again returns the same cache.
    /// For `mxauth server`: one-shot commands have no use for it (their
    /// writes still announce what they change).
    pub fn enable_token_cache(&self) -> Option<Arc<TokenCache>> {
        let Database::Postgres(pool, slot) = self else {
            return None;
        };
        let cache = slot.0.get_or_init(|| {
            let cache = Arc::new(TokenCache::default());
            token_cache::listener::spawn(pool.clone(), cache.clone());
            cache
        });
        Some(cache.clone())
    }

    /// The token cache, when turned on.
    pub fn token_cache(&self) -> Option<&Arc<TokenCache>> {
        match self {
            Database::Postgres(_, slot) => slot.0.get(),
            Database::Sqlite(..) => None,
        }
    }

    pub async fn close(&self) {
        match self {
            Database::Sqlite(pool, _) => pool.close().await,
            Database::Postgres(pool, _) => pool.close().await,
        }
    }
}

async fn connect_sqlite(settings: &DatabaseSettings) -> Result<Database, StorageError> {
    let uri = settings.uri.as_deref().unwrap_or_default();
    let options = SqliteConnectOptions::from_str(uri)
        .map_err(|e| StorageError::Connect(format!("invalid SQLite URI {uri:?}: {e}")))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(settings.max_connections.max(1))
        .min_connections(settings.min_connections)
        .acquire_timeout(settings.connect_timeout)
        .idle_timeout(settings.idle_timeout)
        .max_lifetime(settings.max_lifetime)
        .after_release(availability::sqlite_release_check)
        .connect_with(options)
        .await
        .map_err(|e| StorageError::Connect(format!("SQLite database {uri:?}: {e}")))?;
    Ok(Database::Sqlite(pool, SqliteWriteLock::default()))
}

pub(crate) fn postgres_options(
    settings: &DatabaseSettings,
) -> Result<PgConnectOptions, StorageError> {
    // Like libpq, anything not given comes from PG* environment variables.
    let mut options = match &settings.uri {
        Some(uri) => PgConnectOptions::from_str(uri)
            .map_err(|e| StorageError::Connect(format!("invalid PostgreSQL URI: {e}")))?,
        None => PgConnectOptions::new(),
    };
    if let Some(host) = &settings.host {
        options = options.host(host);
    }
    if let Some(socket) = &settings.socket {
        options = options.socket(socket);
    }
    if let Some(port) = settings.port {
        options = options.port(port);
    }
    if let Some(username) = &settings.username {
        options = options.username(username);
    }
    if let Some(password) = &settings.password {
        options = options.password(password);
    }
    if let Some(database) = &settings.database {
        options = options.database(database);
    }
    if let Some(mode) = settings.ssl_mode {
        options = options.ssl_mode(match mode {
            SslMode::Disable => PgSslMode::Disable,
            SslMode::Prefer => PgSslMode::Prefer,
            SslMode::Require => PgSslMode::Require,
            SslMode::VerifyCa => PgSslMode::VerifyCa,
            SslMode::VerifyFull => PgSslMode::VerifyFull,
        });
    }
    if let Some(ca) = &settings.ssl_ca {
        options = options.ssl_root_cert_from_pem(ca.clone());
    }
    if let Some(cert) = &settings.ssl_certificate {
        options = options.ssl_client_cert_from_pem(cert);
    }
    if let Some(key) = &settings.ssl_key {
        options = options.ssl_client_key_from_pem(key);
    }
    if let Some(schema) = &settings.search_path {
        options = options.options([("search_path", schema.as_str())]);
    }
    Ok(options)
}

/// `pool.begin()` whose `BEGIN` is carried to its end even when the caller
/// stops waiting (a client that hangs up, a deadline). sqlx 0.8 counts the
/// transaction only once `BEGIN` is answered, so a `begin` dropped in
/// between returned the connection to the pool inside a transaction nobody
/// would end (sqlx issue 4393): the next user's statements ran in it, and
/// a write made outside a transaction was answered and never committed.
/// The connection is acquired here, where giving up leaves nothing behind
/// (a waiter that went away must not take a connection later); the
/// `BEGIN` runs in a task of its own, and a transaction nobody takes is
/// dropped there, which rolls it back.
async fn begin_to_the_end(
    pool: &PgPool,
) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
    use tracing::Instrument;
    let connection = pool.acquire().await?;
    // In the caller's span, so that sqlx's log lines keep the request's.
    let begin = sqlx::Transaction::begin(connection, None).in_current_span();
    match tokio::spawn(begin).await {
        Ok(begun) => begun,
        Err(failed) if failed.is_panic() => std::panic::resume_unwind(failed.into_panic()),
        // Cancelled: only when the runtime shuts down.
        Err(_) => Err(sqlx::Error::PoolClosed),
    }
}

/// How long a pooled PostgreSQL connection may sit idle before it is pinged
/// when handed out again.
const PING_IF_IDLE_FOR: Duration = Duration::from_secs(1);

async fn connect_postgres(settings: &DatabaseSettings) -> Result<Database, StorageError> {
    let options = postgres_options(settings)?;
    let failed = |e: sqlx::Error| {
        StorageError::Connect(format!(
            "PostgreSQL at {}:{} database {:?}: {e}",
            options.get_host(),
            options.get_port(),
            options.get_database().unwrap_or("(default)")
        ))
    };
    // The pool would retry a refused connection until `connect_timeout` and
    // then report only "pool timed out"; one direct attempt says why now.
    availability::connect_once(&options, settings.connect_timeout)
        .await
        .map_err(failed)?;
    let pool = PgPoolOptions::new()
        .max_connections(settings.max_connections.max(1))
        .min_connections(settings.min_connections)
        .acquire_timeout(settings.connect_timeout)
        .idle_timeout(settings.idle_timeout)
        .max_lifetime(settings.max_lifetime)
        // sqlx pings every connection it hands out, a round trip more for
        // each of the one or two statements of a hot path (the refresh
        // grant made three pings for three queries). A connection back in
        // the pool within the last second was just used successfully;
        // only one idle for longer (which PostgreSQL may have dropped
        // since, e.g. across a restart) is pinged, and closed if it fails.
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > PING_IF_IDLE_FOR {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
        .connect_with(options.clone())
        .await
        .map_err(failed)?;
    Ok(Database::Postgres(pool, TokenCacheSlot::default()))
}
