//! Reading Synapse's database, PostgreSQL or SQLite, without ever writing to
//! it: SQLite is opened read-only, and PostgreSQL reads run in read-only
//! transactions. Every statement is plain SQL both engines accept; users are
//! read in pages by name, and each page's devices, tokens and third-party ids
//! by the same name range, so memory stays bounded by the page size.
//! It also looks for signs that Synapse still runs: other sessions on its
//! PostgreSQL database, other processes holding its SQLite file (`/proc`).

use std::str::FromStr;

use sqlx::{
    postgres::{PgConnectOptions, PgPoolOptions},
    sqlite::{SqliteConnectOptions, SqlitePoolOptions},
    PgPool, SqlitePool,
};

use crate::{synapse_config::SynapseDatabase, Syn2masError};

type Result<T, E = Syn2masError> = std::result::Result<T, E>;

#[derive(Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to whichever engine Synapse uses.
macro_rules! on_pool {
    ($source:expr, |$pool:ident| $body:expr) => {
        match &$source.pool {
            Pool::Sqlite($pool) => $body,
            Pool::Postgres($pool) => $body,
        }
    };
}

/// Cheap to clone: the clones share the pool.
#[derive(Clone)]
pub struct SynapseSource {
    pool: Pool,
    /// `SQLite file …` or the URI without its password, for messages.
    pub description: String,
    /// SQLite: the database file, to look for other processes using it.
    pub sqlite_path: Option<std::path::PathBuf>,
}

#[derive(Debug, sqlx::FromRow)]
pub struct SynapseUser {
    pub name: String,
    pub password_hash: Option<String>,
    /// Seconds since the epoch.
    pub creation_ts: Option<i64>,
    pub admin: bool,
    pub deactivated: bool,
    pub locked: bool,
    pub is_guest: bool,
    pub appservice_id: Option<String>,
}

#[derive(Debug, sqlx::FromRow)]
pub struct SynapseThreepid {
    pub user_id: String,
    pub medium: String,
    pub address: String,
}

#[derive(Debug, sqlx::FromRow)]
pub struct SynapseExternalId {
    pub user_id: String,
    pub auth_provider: String,
    pub external_id: String,
}

#[derive(Debug, sqlx::FromRow)]
pub struct SynapseDevice {
    pub user_id: String,
    pub device_id: String,
    pub display_name: Option<String>,
    /// Milliseconds since the epoch.
    pub last_seen: Option<i64>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(Debug, sqlx::FromRow)]
pub struct SynapseAccessToken {
    pub user_id: String,
    pub device_id: Option<String>,
    pub token: String,
    pub valid_until_ms: Option<i64>,
    pub refresh_token: Option<String>,
    /// The paired refresh token was already exchanged for a newer pair.
    pub refresh_consumed: bool,
}

/// Row counts for progress and the plan.
#[derive(Debug, Default, Clone, Copy)]
pub struct SourceCounts {
    pub users: i64,
    pub devices: i64,
    pub access_tokens: i64,
    pub threepids: i64,
}

impl SynapseSource {
    pub async fn open(database: &SynapseDatabase, uri_override: Option<&str>) -> Result<Self> {
        let database = match uri_override {
            Some(uri) if uri.starts_with("postgres") => SynapseDatabase::Postgres(uri.to_owned()),
            Some(uri) => SynapseDatabase::Sqlite(
                uri.trim_start_matches("sqlite://")
                    .trim_start_matches("sqlite:")
                    .into(),
            ),
            None => database.clone(),
        };
        match database {
            SynapseDatabase::Sqlite(path) => {
                if !path.is_file() {
                    return Err(Syn2masError::SqliteMissing(path));
                }
                let options = SqliteConnectOptions::new()
                    .filename(&path)
                    .read_only(true)
                    .create_if_missing(false);
                let pool = match SqlitePoolOptions::new()
                    .max_connections(2)
                    .connect_with(options)
                    .await
                {
                    Ok(pool) => pool,
                    Err(source) => return Err(Syn2masError::SqliteOpen { path, source }),
                };
                Ok(Self {
                    pool: Pool::Sqlite(pool),
                    description: format!("SQLite file {}", path.display()),
                    sqlite_path: Some(path),
                })
            }
            SynapseDatabase::Postgres(uri) => {
                let mut shown = url::Url::parse(&uri).map_err(Syn2masError::PostgresUri)?;
                let _ = shown.set_password(None);
                let options = PgConnectOptions::from_str(&uri)?.application_name("mxauth-syn2mas");
                let pool = PgPoolOptions::new()
                    .max_connections(2)
                    // Belt and braces: this session can never write.
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            sqlx::query("SET default_transaction_read_only = on")
                                .execute(conn)
                                .await
                                .map(|_| ())
                        })
                    })
                    .connect_with(options)
                    .await
                    .map_err(|source| Syn2masError::PostgresConnect {
                        shown: shown.to_string(),
                        source,
                    })?;
                Ok(Self {
                    pool: Pool::Postgres(pool),
                    description: format!("PostgreSQL {shown}"),
                    sqlite_path: None,
                })
            }
        }
    }

    /// Other sessions on Synapse's PostgreSQL database (`application_name@address`),
    /// i.e. a Synapse or worker that is still running. Empty for SQLite.
    pub async fn other_connections(&self) -> Result<Vec<String>> {
        let Pool::Postgres(pool) = &self.pool else {
            return Ok(Vec::new());
        };
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT COALESCE(NULLIF(application_name, ''), 'a client') || ' from '
                    || COALESCE(host(client_addr), 'a local socket')
             FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid()
               AND application_name <> 'mxauth-syn2mas'",
        )
        .fetch_all(pool)
        .await?;
        Ok(rows.into_iter().map(|(r,)| r).collect())
    }

    /// Other processes that have the SQLite database open (`pid (command)`),
    /// found through `/proc/*/fd` on Linux. Synapse keeps its database open
    /// while it runs; processes of other users or containers are invisible.
    pub fn sqlite_users(&self) -> Vec<String> {
        let Some(path) = &self.sqlite_path else {
            return Vec::new();
        };
        let Ok(target) = std::fs::canonicalize(path) else {
            return Vec::new();
        };
        let wal = std::path::PathBuf::from(format!("{}-wal", target.display()));
        let own = std::process::id().to_string();
        let mut found = Vec::new();
        let Ok(processes) = std::fs::read_dir("/proc") else {
            return found;
        };
        for process in processes.flatten() {
            let pid = process.file_name().to_string_lossy().into_owned();
            if pid == own || !pid.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            let Ok(fds) = std::fs::read_dir(process.path().join("fd")) else {
                continue;
            };
            let uses = fds.flatten().any(|fd| {
                std::fs::read_link(fd.path()).is_ok_and(|link| link == target || link == wal)
            });
            if uses {
                let command = std::fs::read_to_string(process.path().join("comm"))
                    .unwrap_or_default()
                    .trim()
                    .to_owned();
                found.push(format!("{pid} ({command})"));
            }
        }
        found
    }

    pub async fn counts(&self) -> Result<SourceCounts> {
        async fn count(source: &SynapseSource, sql: &str) -> Result<i64> {
            let sql = sql.to_owned();
            Ok(on_pool!(source, |pool| {
                sqlx::query_scalar(&sql)
                .fetch_one(pool)
                .await
                .map_err(reading(format!(
                        "reading Synapse's database ({sql}); is this a Synapse database of a recent version?"
                    )))?
            }))
        }
        Ok(SourceCounts {
            users: count(self, "SELECT COUNT(*) FROM users WHERE name IS NOT NULL").await?,
            devices: count(self, "SELECT COUNT(*) FROM devices").await?,
            access_tokens: count(self, "SELECT COUNT(*) FROM access_tokens").await?,
            threepids: count(self, "SELECT COUNT(*) FROM user_threepids").await?,
        })
    }

    /// `(auth_provider, users)` of `user_external_ids`.
    pub async fn external_id_providers(&self) -> Result<Vec<(String, i64)>> {
        const SQL: &str = "SELECT auth_provider, COUNT(*) FROM user_external_ids
                           GROUP BY auth_provider ORDER BY auth_provider";
        Ok(on_pool!(self, |pool| sqlx::query_as(SQL)
            .fetch_all(pool)
            .await?))
    }

    /// `(medium, count)` of third-party ids other than email.
    pub async fn non_email_threepids(&self) -> Result<Vec<(String, i64)>> {
        const SQL: &str = "SELECT medium, COUNT(*) FROM user_threepids
                           WHERE medium <> 'email' GROUP BY medium ORDER BY medium";
        Ok(on_pool!(self, |pool| sqlx::query_as(SQL)
            .fetch_all(pool)
            .await?))
    }

    pub async fn guest_count(&self) -> Result<i64> {
        const SQL: &str = "SELECT COUNT(*) FROM users WHERE is_guest <> 0";
        Ok(on_pool!(self, |pool| sqlx::query_scalar(SQL)
            .fetch_one(pool)
            .await?))
    }

    /// Which of these full user ids exist in Synapse.
    pub async fn existing_user_ids(&self, user_ids: &[String]) -> Result<Vec<String>> {
        let mut found = Vec::new();
        for chunk in user_ids.chunks(1000) {
            let rows: Vec<(String,)> = on_pool!(self, |pool| {
                let mut query = sqlx::QueryBuilder::new("SELECT name FROM users WHERE name IN (");
                let mut list = query.separated(", ");
                for id in chunk {
                    list.push_bind(id.as_str());
                }
                query.push(")");
                query.build_query_as().fetch_all(pool).await?
            });
            found.extend(rows.into_iter().map(|(n,)| n));
        }
        Ok(found)
    }

    /// Up to `limit` users whose name sorts after `after`, in name order.
    pub async fn users_after(&self, after: &str, limit: i64) -> Result<Vec<SynapseUser>> {
        const SQL: &str = "SELECT name, password_hash, creation_ts, admin <> 0 AS admin,
                                  deactivated <> 0 AS deactivated, locked, is_guest <> 0 AS is_guest,
                                  appservice_id
                           FROM users WHERE name IS NOT NULL AND name > $1
                           ORDER BY name LIMIT $2";
        Ok(on_pool!(self, |pool| sqlx::query_as(SQL)
            .bind(after)
            .bind(limit)
            .fetch_all(pool)
            .await
            .map_err(reading("reading Synapse's users"))?))
    }

    pub async fn threepids(&self, first: &str, last: &str) -> Result<Vec<SynapseThreepid>> {
        const SQL: &str = "SELECT user_id, medium, address FROM user_threepids
                           WHERE user_id >= $1 AND user_id <= $2";
        self.in_user_range(SQL, first, last).await
    }

    pub async fn external_ids(&self, first: &str, last: &str) -> Result<Vec<SynapseExternalId>> {
        const SQL: &str = "SELECT user_id, auth_provider, external_id FROM user_external_ids
                           WHERE user_id >= $1 AND user_id <= $2";
        self.in_user_range(SQL, first, last).await
    }

    /// Devices a person can see (hidden ones are Synapse's internal
    /// bookkeeping, e.g. cross-signing keys).
    pub async fn devices(&self, first: &str, last: &str) -> Result<Vec<SynapseDevice>> {
        const SQL: &str = "SELECT user_id, device_id, display_name, last_seen, ip, user_agent
                           FROM devices
                           WHERE user_id >= $1 AND user_id <= $2
                             AND (hidden IS NULL OR hidden = FALSE)";
        self.in_user_range(SQL, first, last).await
    }

    /// Access tokens with their refresh token, if any; tokens that let an
    /// admin act as another user (`puppets_user_id`) are left out.
    ///
    /// The refresh token is looked up by primary key for each access
    /// token rather than joined: PostgreSQL planned the `LEFT JOIN` as a
    /// hash join over the whole of `refresh_tokens`, on every page (35 ms a
    /// page of 2,000 users on the 100,000-user bench, against 7 ms so; a
    /// third of the PostgreSQL → PostgreSQL run's reading).
    pub async fn access_tokens(&self, first: &str, last: &str) -> Result<Vec<SynapseAccessToken>> {
        const SQL: &str = "SELECT a.user_id, a.device_id, a.token, a.valid_until_ms,
                                  (SELECT r.token FROM refresh_tokens r
                                   WHERE r.id = a.refresh_token_id) AS refresh_token,
                                  COALESCE((SELECT r.next_token_id IS NOT NULL FROM refresh_tokens r
                                            WHERE r.id = a.refresh_token_id), FALSE)
                                    AS refresh_consumed
                           FROM access_tokens a
                           WHERE a.user_id >= $1 AND a.user_id <= $2
                             AND a.puppets_user_id IS NULL";
        self.in_user_range(SQL, first, last).await
    }

    /// Runs `sql`, whose `$1` and `$2` bound a range of user ids: the rows
    /// belonging to one page of users.
    async fn in_user_range<T>(&self, sql: &'static str, first: &str, last: &str) -> Result<Vec<T>>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
            + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
            + Send
            + Unpin,
    {
        Ok(on_pool!(self, |pool| sqlx::query_as(sql)
            .bind(first)
            .bind(last)
            .fetch_all(pool)
            .await
            .map_err(reading("reading Synapse's database"))?))
    }

    pub async fn close(&self) {
        on_pool!(self, |pool| pool.close().await)
    }
}

/// Names a failed read of Synapse's database.
fn reading(what: impl Into<String>) -> impl FnOnce(sqlx::Error) -> Syn2masError {
    let what = what.into();
    move |source| Syn2masError::SynapseRead { what, source }
}
