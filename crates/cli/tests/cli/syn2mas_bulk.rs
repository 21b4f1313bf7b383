//! `mxauth syn2mas` into an empty target, where it drops the secondary
//! indexes and foreign keys of the tables it fills and builds them again at
//! the end, on both target databases, from a Synapse SQLite database made by
//! bench/syn2mas/generate_synapse_db.py:
//! - a dry run writes nothing and suspends nothing;
//! - a run stopped after a few batches (several writers in flight; on
//!   SQLite without fsync, as in every bulk load) leaves whole batches and
//!   the record of what it dropped (on SQLite, the token digests' unique
//!   indexes included);
//! - the next run rebuilds first, skips what is there and completes: every
//!   row the dry run announced is there once, and the schema's indexes and
//!   keys are exactly those of a freshly migrated database;
//! - a device name or user agent with NUL characters (SQLite keeps them,
//!   PostgreSQL refuses them) is imported without them.

use mxauth_storage::Database;

use crate::{
    support::*,
    syn2mas::{generate_synapse, syn2mas},
    synapse_peer::venv,
};

const MAPPING: &str = "oidc-test:01HFVBY12TMNTYTBV8W921M5FA";

/// The target's configuration: Synapse's password scheme and the upstream
/// provider of [`MAPPING`].
const OVERRIDES: &str = "matrix:\n  homeserver: bench.example\npasswords:\n  minimum_complexity: 0\n  schemes:\n    - {version: 1, algorithm: bcrypt, unicode_normalization: true}\n    - {version: 2, algorithm: argon2id}\nupstream_oauth2:\n  providers:\n    - {id: 01HFVBY12TMNTYTBV8W921M5FA, issuer: \"https://id.example.com/\", client_id: mxauth, token_endpoint_auth_method: none}\n";

/// The tables syn2mas fills, as counted after each run.
const TABLES: &[&str] = &[
    "users",
    "syn2mas_imported_users",
    "user_passwords",
    "user_emails",
    "upstream_oauth_links",
    "compat_sessions",
    "compat_access_tokens",
    "compat_refresh_tokens",
];

/// Every index and foreign key of the schema, as sorted text.
async fn schema(db: &TestDatabase) -> Vec<String> {
    let database = db.open().await;
    let mut lines: Vec<String> = match &database {
        Database::Postgres(pool, _) => {
            let mut lines: Vec<String> = sqlx::query_scalar(
                "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema()",
            )
            .fetch_all(pool)
            .await
            .unwrap();
            let keys: Vec<String> = sqlx::query_scalar(
                "SELECT conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
                 FROM pg_constraint WHERE contype = 'f' AND connamespace = current_schema()::regnamespace",
            )
            .fetch_all(pool)
            .await
            .unwrap();
            lines.extend(keys);
            lines
        }
        Database::Sqlite(pool, _) => sqlx::query_scalar(
            "SELECT name || ' ' || COALESCE(sql, '') FROM sqlite_master WHERE type = 'index'",
        )
        .fetch_all(pool)
        .await
        .unwrap(),
    };
    database.close().await;
    lines.sort();
    lines
}

/// `(table, rows)` for [`TABLES`], and whether the record of suspended
/// indexes exists.
async fn contents(db: &TestDatabase) -> (Vec<(String, i64)>, bool) {
    let database = db.open().await;
    let mut counts = Vec::new();
    for table in TABLES {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        let count: i64 = match &database {
            Database::Postgres(pool, _) => sqlx::query_scalar(&sql).fetch_one(pool).await,
            Database::Sqlite(pool, _) => sqlx::query_scalar(&sql).fetch_one(pool).await,
        }
        .unwrap();
        counts.push(((*table).to_owned(), count));
    }
    let record: bool = match &database {
        Database::Postgres(pool, _) => {
            sqlx::query_scalar("SELECT to_regclass('syn2mas_suspended_indexes') IS NOT NULL")
                .fetch_one(pool)
                .await
        }
        Database::Sqlite(pool, _) => sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'syn2mas_suspended_indexes')",
        )
        .fetch_one(pool)
        .await,
    }
    .unwrap();
    database.close().await;
    (counts, record)
}

/// `users:                 300` → 300, from the summary of a run.
fn summary_count(stderr: &str, label: &str) -> i64 {
    let line = stderr
        .lines()
        .find(|l| l.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("no {label:?} in {stderr}"));
    line.split_whitespace()
        .nth(label.split_whitespace().count())
        .unwrap()
        .parse()
        .unwrap()
}

async fn stopped_bulk_import_resumes_and_rebuilds(name: &str, db: TestDatabase) {
    let dir = temp_dir(name);
    let Some(venv) = venv() else { return };
    let database = dir.join("synapse.db");
    let database = database.to_str().unwrap();
    let synapse = generate_synapse(
        &venv,
        &dir,
        &[
            "--sqlite",
            database,
            "--users",
            "320",
            "--emails",
            "120",
            "--bcrypt-rounds",
            "4",
        ],
    );
    let device = put_nul_in_a_device(database).await;
    let (files, _) = server_config(name, &db, OVERRIDES);
    run(with_configs(&mut mxauth(), &files).args(["database", "migrate"])).succeeded();
    let migrated = schema(&db).await;
    let migrate = [
        "migrate",
        "--accept-warnings",
        "--upstream-provider-mapping",
        MAPPING,
    ];

    let mut dry_args = migrate.to_vec();
    dry_args.push("--dry-run");
    let dry = syn2mas(&files, &synapse, &dry_args);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    let (counts, record) = contents(&db).await;
    assert!(
        counts.iter().all(|(_, n)| *n == 0),
        "dry run wrote {counts:?}"
    );
    assert!(!record);
    assert_eq!(
        schema(&db).await,
        migrated,
        "the dry run changed the schema"
    );
    let expected = [
        ("users", summary_count(&dry.stderr, "users:")),
        (
            "syn2mas_imported_users",
            summary_count(&dry.stderr, "users:"),
        ),
        ("user_passwords", summary_count(&dry.stderr, "passwords:")),
        ("user_emails", summary_count(&dry.stderr, "emails:")),
        (
            "upstream_oauth_links",
            summary_count(&dry.stderr, "upstream links:"),
        ),
        (
            "compat_sessions",
            summary_count(&dry.stderr, "sessions (devices):"),
        ),
        (
            "compat_access_tokens",
            summary_count(&dry.stderr, "access tokens:"),
        ),
        (
            "compat_refresh_tokens",
            summary_count(&dry.stderr, "refresh tokens:"),
        ),
    ]
    .map(|(t, n)| (t.to_owned(), n))
    .to_vec();
    assert_eq!(expected[0].1, 320, "{}", dry.stderr);

    let stopped = run(with_configs(&mut mxauth(), &files)
        .args(["syn2mas", "--synapse-config"])
        .arg(&synapse)
        .args(migrate)
        .args(["--writers", "3"])
        .env("MXAUTH_SYN2MAS_BATCH_USERS", "40")
        .env("MXAUTH_SYN2MAS_TEST_CRASH_AFTER_BATCHES", "2"));
    assert_eq!(stopped.code, 70, "{}", stopped.stderr);
    let (counts, record) = contents(&db).await;
    let users = counts[0].1;
    assert!((60..320).contains(&users), "{counts:?}");
    assert!(record, "the stopped run must leave its record");
    let suspended = schema(&db).await;
    assert_ne!(suspended, migrated, "nothing was suspended");
    // The token digests' unique indexes are suspended too; the other
    // unique indexes stay.
    for index in [
        "compat_access_tokens_digest_unique",
        "compat_refresh_tokens_digest_unique",
    ] {
        let kept = suspended.iter().any(|line| line.contains(index));
        assert!(!kept, "{index} in {suspended:#?}");
    }
    for index in ["users_username_unique", "user_emails_user_email_unique"] {
        let kept = suspended.iter().any(|line| line.contains(index));
        assert!(kept, "{index} in {suspended:#?}");
    }

    let resumed = syn2mas(&files, &synapse, &migrate);
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert!(
        resumed.stderr.contains("rebuild indexes+keys"),
        "{}",
        resumed.stderr
    );
    assert_eq!(contents(&db).await, (expected, false));
    assert_eq!(schema(&db).await, migrated);
    assert_eq!(
        device_texts(&db, &device).await,
        (
            Some("Phone of Alice".to_owned()),
            Some("Element/1.0".to_owned())
        ),
        "the NUL characters of the device's name and user agent are dropped"
    );
    db.drop_database().await;
}

/// Gives one device of the Synapse SQLite database a name and a user agent
/// of a user who is imported (no guest, deactivated or application service
/// user) with NUL characters, which SQLite stores and PostgreSQL refuses; returns
/// `(localpart, device id)`.
async fn put_nul_in_a_device(database: &str) -> (String, String) {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite:{database}"))
        .await
        .unwrap();
    let (user_id, device_id): (String, String) = sqlx::query_as(
        "SELECT d.user_id, d.device_id FROM devices d JOIN users u ON u.name = d.user_id
         WHERE u.is_guest = 0 AND u.deactivated = 0 AND u.appservice_id IS NULL
           AND NOT d.hidden
         ORDER BY d.user_id, d.device_id LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    sqlx::query(
        "UPDATE devices SET display_name = 'Phone of' || char(0) || ' Alice',
                            user_agent = 'Element/1.0' || char(0)
         WHERE user_id = $1 AND device_id = $2",
    )
    .bind(&user_id)
    .bind(&device_id)
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    let localpart = user_id.trim_start_matches('@').split(':').next().unwrap();
    (localpart.to_owned(), device_id)
}

/// The imported name and user agent of `(localpart, device id)`.
async fn device_texts(
    db: &TestDatabase,
    device: &(String, String),
) -> (Option<String>, Option<String>) {
    const SQL: &str = "SELECT s.human_name, s.user_agent FROM compat_sessions s
                       JOIN users u ON u.user_id = s.user_id
                       WHERE u.username = $1 AND s.device_id = $2";
    let database = db.open().await;
    let texts = match &database {
        Database::Postgres(pool, _) => {
            sqlx::query_as(SQL)
                .bind(&device.0)
                .bind(&device.1)
                .fetch_one(pool)
                .await
        }
        Database::Sqlite(pool, _) => {
            sqlx::query_as(SQL)
                .bind(&device.0)
                .bind(&device.1)
                .fetch_one(pool)
                .await
        }
    }
    .unwrap();
    database.close().await;
    texts
}

#[tokio::test]
async fn stopped_bulk_import_into_sqlite_resumes_and_rebuilds() {
    let db = TestDatabase::sqlite(&temp_dir("syn2mas-bulk-sqlite-target"));
    stopped_bulk_import_resumes_and_rebuilds("syn2mas-bulk-sqlite", db).await;
}

#[tokio::test]
async fn stopped_bulk_import_into_postgres_resumes_and_rebuilds() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    stopped_bulk_import_resumes_and_rebuilds("syn2mas-bulk-pg", db).await;
}
