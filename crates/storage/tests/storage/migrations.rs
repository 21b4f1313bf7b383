//! Migrations: both backends end with the same tables and columns, and
//! running them again changes nothing.

use std::collections::BTreeSet;

use mxauth_storage::{migrate, Database};
use sqlx::Row;

use crate::harness::TestDb;

/// (table, column, nullable) for every column of the schema.
async fn columns(db: &Database) -> BTreeSet<(String, String, bool)> {
    let rows = match db {
        Database::Postgres(pool, _) => sqlx::query(
            "SELECT table_name::text AS t, column_name::text AS c, is_nullable = 'YES' AS n
             FROM information_schema.columns WHERE table_schema = current_schema()",
        )
        .fetch_all(pool)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.get("t"), r.get("c"), r.get("n")))
        .collect::<Vec<_>>(),
        Database::Sqlite(pool, _) => sqlx::query(
            "SELECT m.name AS t, p.name AS c, (p.\"notnull\" = 0 AND p.pk = 0) AS n
             FROM sqlite_master m JOIN pragma_table_info(m.name) p
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'",
        )
        .fetch_all(pool)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.get("t"), r.get("c"), r.get("n")))
        .collect(),
    };
    rows.into_iter().collect()
}

#[tokio::test]
async fn both_backends_have_the_same_tables_and_columns() {
    let Some(pg) = TestDb::postgres().await else {
        return;
    };
    let sqlite = TestDb::sqlite().await;
    let (a, b) = (columns(&sqlite.db).await, columns(&pg.db).await);
    let only_sqlite: Vec<_> = a.difference(&b).collect();
    let only_pg: Vec<_> = b.difference(&a).collect();
    assert!(
        only_sqlite.is_empty() && only_pg.is_empty(),
        "schemas differ\nonly in SQLite: {only_sqlite:#?}\nonly in PostgreSQL: {only_pg:#?}"
    );
    assert!(a.iter().any(|(t, c, _)| t == "users" && c == "username"));
    sqlite.cleanup().await;
    pg.cleanup().await;
}

async fn migrating_twice_applies_nothing_the_second_time(db: &Database) {
    assert_eq!(migrate::run(db, |_| {}).await.unwrap(), 0);
    assert!(migrate::pending(db).await.unwrap().is_empty());
}
crate::both!(migrating_twice_applies_nothing_the_second_time);

async fn a_migration_changed_after_release_is_refused(db: &Database) {
    crate::harness::execute_raw(
        db,
        "UPDATE mxauth_migrations SET checksum = 'tampered' WHERE version = 1",
    )
    .await;
    let err = migrate::run(db, |_| {}).await.unwrap_err().to_string();
    assert!(err.contains("was changed after it was applied"), "{err}");
}
crate::both!(a_migration_changed_after_release_is_refused);

#[tokio::test]
async fn a_fresh_database_has_every_migration_pending_and_pending_writes_nothing() {
    let path = std::env::temp_dir().join(format!("mxauth-fresh-{}.db", ulid::Ulid::new()));
    let db = Database::connect(&mxauth_storage::DatabaseSettings::from_uri(format!(
        "sqlite://{}",
        path.display()
    )))
    .await
    .unwrap();
    assert_eq!(
        migrate::pending(&db).await.unwrap().len(),
        migrate::MIGRATIONS.len()
    );
    let Database::Sqlite(pool, _) = &db else {
        unreachable!()
    };
    let tables: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(tables, 0);
    db.close().await;
    let _ = std::fs::remove_file(path);
}

/// TLS to PostgreSQL: `require` encrypts; `verify-full` refuses a server
/// certificate no trusted CA signed (Debian's snakeoil certificate).
#[tokio::test]
async fn postgres_over_tls() {
    let Ok(url) = std::env::var("DATABASE_URL") else {
        return;
    };
    let mut settings = mxauth_storage::DatabaseSettings::from_uri(url.clone());
    settings.ssl_mode = Some(mxauth_storage::SslMode::Require);
    settings.max_connections = 1;
    let db = Database::connect(&settings).await.expect("TLS connection");
    let Database::Postgres(pool, _) = &db else {
        unreachable!()
    };
    let ssl: bool = sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(pool)
        .await
        .unwrap();
    assert!(ssl, "the connection is encrypted");
    db.close().await;

    let mut strict = mxauth_storage::DatabaseSettings::from_uri(url);
    strict.ssl_mode = Some(mxauth_storage::SslMode::VerifyFull);
    strict.connect_timeout = std::time::Duration::from_secs(5);
    let err = Database::connect(&strict).await.unwrap_err().to_string();
    assert!(
        err.starts_with("cannot connect to the database: PostgreSQL at"),
        "{err}"
    );
}
