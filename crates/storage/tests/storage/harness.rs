//! Fresh databases for tests, and the macro that runs a test on both backends.

use chrono::{DateTime, TimeZone, Utc};
use mxauth_storage::{migrate, Database, DatabaseSettings};
use rand::{rngs::StdRng, SeedableRng};
use ulid::Ulid;

/// A migrated database that is removed again by [`TestDb::cleanup`].
pub struct TestDb {
    pub db: Database,
    cleanup: Cleanup,
}

enum Cleanup {
    File(std::path::PathBuf),
    Schema { admin: Database, schema: String },
}

fn unique_name() -> String {
    format!("mxauth_test_{}", Ulid::new().to_string().to_lowercase())
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let path = std::env::temp_dir().join(format!("{}.db", unique_name()));
        let settings = DatabaseSettings::from_uri(format!("sqlite://{}", path.display()));
        let db = Database::connect(&settings).await.expect("open SQLite");
        migrate::run(&db, |_| {}).await.expect("migrate SQLite");
        TestDb {
            db,
            cleanup: Cleanup::File(path),
        }
    }

    /// `None` when PostgreSQL is not configured and we are not in CI.
    pub async fn postgres() -> Option<TestDb> {
        Self::postgres_with_pool_size(None).await
    }

    /// [`TestDb::postgres`] with at most `connections` in the pool (else
    /// the default): with one, every statement runs on the same server
    /// process, whose statistics the test can then read.
    pub async fn postgres_with_pool_size(connections: Option<u32>) -> Option<TestDb> {
        let url = match std::env::var("DATABASE_URL") {
            Ok(url) if !url.is_empty() => url,
            _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
                panic!("CI=true but DATABASE_URL is not set: the PostgreSQL suite must run in CI")
            }
            _ => {
                // Straight to the stderr handle: libtest captures `eprintln!`
                // of passing tests, and a developer must see the skip.
                let _ = std::io::Write::write_all(
                    &mut std::io::stderr(),
                    b"SKIPPED: DATABASE_URL is not set: the PostgreSQL half of this test\n",
                );
                return None;
            }
        };
        let mut admin_settings = DatabaseSettings::from_uri(url.clone());
        admin_settings.max_connections = 1;
        let admin = Database::connect(&admin_settings)
            .await
            .expect("connect to DATABASE_URL");
        let schema = unique_name();
        if let Database::Postgres(pool, _) = &admin {
            sqlx::raw_sql(&format!("CREATE SCHEMA {schema}"))
                .execute(pool)
                .await
                .expect("create schema");
        }
        let mut settings = DatabaseSettings::from_uri(url);
        settings.search_path = Some(schema.clone());
        if let Some(connections) = connections {
            settings.max_connections = connections;
        }
        let db = Database::connect(&settings).await.expect("connect");
        migrate::run(&db, |_| {}).await.expect("migrate PostgreSQL");
        Some(TestDb {
            db,
            cleanup: Cleanup::Schema { admin, schema },
        })
    }

    pub async fn cleanup(self) {
        self.db.close().await;
        match self.cleanup {
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::Schema { admin, schema } => {
                if let Database::Postgres(pool, _) = &admin {
                    let _ = sqlx::raw_sql(&format!("DROP SCHEMA {schema} CASCADE"))
                        .execute(pool)
                        .await;
                }
                admin.close().await;
            }
        }
    }
}

/// A fixed instant and a seeded RNG, so ids and times are reproducible.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap()
}

pub fn rng() -> StdRng {
    StdRng::seed_from_u64(42)
}

/// `both!(name)` turns `async fn name(db: &Database)` into two tests,
/// `name::sqlite` and `name::postgres`, so the log shows each backend.
#[macro_export]
macro_rules! both {
    ($name:ident) => {
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                let t = $crate::harness::TestDb::sqlite().await;
                super::$name(&t.db).await;
                t.cleanup().await;
            }

            #[tokio::test]
            async fn postgres() {
                if let Some(t) = $crate::harness::TestDb::postgres().await {
                    super::$name(&t.db).await;
                    t.cleanup().await;
                }
            }
        }
    };
}

/// Runs one statement directly on the pool, past the repository: for tests
/// that must put into the database what mxauth itself would never write.
pub async fn execute_raw(db: &Database, sql: &str) {
    match db {
        Database::Postgres(pool, _) => sqlx::query(sql).execute(pool).await.map(|_| ()),
        Database::Sqlite(pool, _) => sqlx::query(sql).execute(pool).await.map(|_| ()),
    }
    .unwrap();
}
