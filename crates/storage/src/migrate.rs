//! Schema migrations for both backends.
//!
//! Each migration exists twice, `migrations/postgres/NNNN_name.sql` and
//! `migrations/sqlite/NNNN_name.sql`, with the same number and name; a parity
//! test checks that both create the same tables and columns. Applied
//! migrations are recorded in `mxauth_migrations` with a checksum, so a file
//! changed after release is noticed instead of silently diverging. On
//! PostgreSQL an advisory lock keeps two instances from migrating at once.

use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::{Database, StorageError};

/// One schema change, in both dialects.
#[derive(Debug)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    postgres: &'static str,
    sqlite: &'static str,
}

macro_rules! migration {
    ($version:literal, $name:literal, $file:literal) => {
        Migration {
            version: $version,
            name: $name,
            postgres: include_str!(concat!("../migrations/postgres/", $file)),
            sqlite: include_str!(concat!("../migrations/sqlite/", $file)),
        }
    };
}

/// Every migration, oldest first.
pub const MIGRATIONS: &[Migration] = &[
    migration!(1, "init", "0001_init.sql"),
    migration!(2, "syn2mas", "0002_syn2mas.sql"),
    migration!(
        3,
        "grant_redirect_uri_sent",
        "0003_grant_redirect_uri_sent.sql"
    ),
    migration!(4, "upstream_providers", "0004_upstream_providers.sql"),
    migration!(5, "upstream_sessions", "0005_upstream_sessions.sql"),
    migration!(6, "email_authentications", "0006_email_authentications.sql"),
    migration!(7, "registration_recovery", "0007_registration_recovery.sql"),
    migration!(8, "personal_sessions", "0008_personal_sessions.sql"),
    migration!(9, "admin_audit", "0009_admin_audit.sql"),
    migration!(10, "job_heartbeat", "0010_job_heartbeat.sql"),
    migration!(11, "policy_data", "0011_policy_data.sql"),
    migration!(12, "foreign_key_indexes", "0012_foreign_key_indexes.sql"),
];

/// Key of the PostgreSQL advisory lock held while migrating ("mxauth" in ASCII).
const LOCK_KEY: i64 = 0x6d78_6175_7468;

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS mxauth_migrations (
    version BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at TEXT NOT NULL
)";

impl Migration {
    fn checksum(sql: &str) -> String {
        let digest = Sha256::digest(sql.as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Applies every pending migration, calling `on_apply` before each one, and
/// returns how many were applied.
pub async fn run(
    db: &Database,
    mut on_apply: impl FnMut(&Migration),
) -> Result<usize, StorageError> {
    // The same steps on both backends; only the connection type and the SQL
    // text differ, so the steps are written once in a macro.
    macro_rules! migrate_on {
        ($conn:expr, $dialect:ident) => {{
            let conn = $conn;
            sqlx::raw_sql(CREATE_TABLE).execute(&mut *conn).await?;
            let rows = sqlx::query("SELECT version, checksum FROM mxauth_migrations")
                .fetch_all(&mut *conn)
                .await?;
            let mut applied = Vec::new();
            for row in rows {
                let version: i64 = row.try_get("version")?;
                let checksum: String = row.try_get("checksum")?;
                let Some(known) = MIGRATIONS.iter().find(|m| m.version == version) else {
                    return Err(StorageError::UnknownMigration(version));
                };
                if Migration::checksum(known.$dialect) != checksum {
                    return Err(StorageError::ChangedMigration {
                        version,
                        name: known.name,
                    });
                }
                applied.push(version);
            }
            let mut count = 0;
            for migration in MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)) {
                on_apply(migration);
                let fail = |source| StorageError::Migration {
                    version: migration.version,
                    name: migration.name,
                    source,
                };
                sqlx::raw_sql("BEGIN")
                    .execute(&mut *conn)
                    .await
                    .map_err(fail)?;
                let result = async {
                    sqlx::raw_sql(migration.$dialect)
                        .execute(&mut *conn)
                        .await?;
                    sqlx::query(
                        "INSERT INTO mxauth_migrations (version, name, checksum, applied_at)
                         VALUES ($1, $2, $3, $4)",
                    )
                    .bind(migration.version)
                    .bind(migration.name)
                    .bind(Migration::checksum(migration.$dialect))
                    // Migrations run before any server state exists: the
                    // wall clock is the only clock there is.
                    .bind({
                        #[allow(clippy::disallowed_methods)]
                        chrono::Utc::now().to_rfc3339()
                    })
                    .execute(&mut *conn)
                    .await?;
                    sqlx::raw_sql("COMMIT").execute(&mut *conn).await
                }
                .await;
                if let Err(source) = result {
                    // Leave the database as it was before this migration.
                    let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
                    return Err(fail(source));
                }
                count += 1;
            }
            Ok::<usize, StorageError>(count)
        }};
    }

    match db {
        Database::Postgres(pool, _) => {
            let mut conn = pool.acquire().await?;
            sqlx::query("SELECT pg_advisory_lock($1)")
                .bind(LOCK_KEY)
                .execute(&mut *conn)
                .await?;
            let result = migrate_on!(&mut *conn, postgres);
            sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(LOCK_KEY)
                .execute(&mut *conn)
                .await?;
            result
        }
        Database::Sqlite(pool, _) => {
            let mut conn = pool.acquire().await?;
            migrate_on!(&mut *conn, sqlite)
        }
    }
}

/// The migrations not applied yet, oldest first. Reads only: a database
/// that was never migrated has every migration pending.
pub async fn pending(db: &Database) -> Result<Vec<&'static Migration>, StorageError> {
    let query = "SELECT version FROM mxauth_migrations";
    let versions: Vec<i64> = match db {
        Database::Postgres(pool, _) => {
            let exists: bool =
                sqlx::query_scalar("SELECT to_regclass('mxauth_migrations') IS NOT NULL")
                    .fetch_one(pool)
                    .await?;
            if exists {
                sqlx::query_scalar(query).fetch_all(pool).await?
            } else {
                Vec::new()
            }
        }
        Database::Sqlite(pool, _) => {
            let exists: bool = sqlx::query_scalar(
                "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'mxauth_migrations'",
            )
            .fetch_one(pool)
            .await?;
            if exists {
                sqlx::query_scalar(query).fetch_all(pool).await?
            } else {
                Vec::new()
            }
        }
    };
    Ok(MIGRATIONS
        .iter()
        .filter(|m| !versions.contains(&m.version))
        .collect())
}
