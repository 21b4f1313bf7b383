//! syn2mas's bulk writes: what a batch writes reads back the same through
//! the repository (PostgreSQL writes through `UNNEST`, SQLite through
//! multi-row INSERTs), and the suspension of indexes and keys for the bulk
//! load of an empty target is undone exactly, uniqueness included; the
//! import's own SQLite connection keeps its settings to itself.

use mxauth_storage::{
    new_ulid, Database, ImportAccessToken, ImportBatch, ImportRefreshToken, ImportSession,
    ImportUser, ImportWriter,
};
use rand::{rngs::StdRng, SeedableRng};

use crate::harness::{now, rng};

/// Every index and foreign key, as sorted text.
async fn schema(db: &Database) -> Vec<String> {
    let mut lines: Vec<String> =
        match db {
            Database::Postgres(pool, _) => {
                sqlx::query_scalar(
                    "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema()
             UNION ALL
             SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint
             WHERE contype = 'f' AND connamespace = current_schema()::regnamespace",
                )
                .fetch_all(pool)
                .await
            }
            Database::Sqlite(pool, _) => sqlx::query_scalar(
                "SELECT name || ' ' || COALESCE(sql, '') FROM sqlite_master WHERE type = 'index'",
            )
            .fetch_all(pool)
            .await,
        }
        .unwrap();
    lines.sort();
    lines
}

async fn suspended(db: &Database) -> Vec<(String, String)> {
    let mut read = db.read().await.unwrap();
    read.syn2mas().suspended_indexes().await.unwrap()
}

fn batch(name: &str) -> ImportBatch {
    let mut rng = rng();
    let user = new_ulid(now(), &mut rng);
    let session = new_ulid(now(), &mut rng);
    let access = new_ulid(now(), &mut rng);
    ImportBatch {
        users: vec![ImportUser {
            id: user,
            username: name.to_owned(),
            created_at: now() - chrono::Duration::days(400),
            locked: true,
            deactivated: false,
            can_request_admin: true,
        }],
        passwords: vec![(user, "$2b$12$hash".into(), 1)],
        emails: vec![(user, format!("{name}@example.org"))],
        sessions: vec![ImportSession {
            id: session,
            user_id: user,
            device_id: Some("PHONE".into()),
            is_synapse_admin: true,
            human_name: None,
            user_agent: None,
            last_active_at: None,
            last_active_ip: None,
        }],
        access_tokens: vec![ImportAccessToken {
            id: access,
            session_id: session,
            digest: format!("{name}-access"),
            expires_at: None,
        }],
        refresh_tokens: vec![ImportRefreshToken {
            id: new_ulid(now(), &mut rng),
            session_id: session,
            access_token_id: Some(access),
            digest: format!("{name}-refresh"),
        }],
        ..ImportBatch::default()
    }
}

async fn a_batch_reads_back_and_is_found_by_a_second_run(db: &Database) {
    let written = batch("alice");
    let mut repo = db.begin().await.unwrap();
    let mut tables = Vec::new();
    repo.syn2mas()
        .write_timed(&written, now(), &mut |table, rows, _| {
            tables.push((table, rows))
        })
        .await
        .unwrap();
    repo.commit().await.unwrap();
    assert!(tables.contains(&("users", 1)) && tables.contains(&("compat_refresh_tokens", 1)));

    let mut repo = db.begin().await.unwrap();
    let alice = repo
        .users()
        .find_by_username("alice")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(alice.id, written.users[0].id);
    assert_eq!(alice.created_at, written.users[0].created_at);
    assert_eq!(alice.locked_at, Some(now()));
    assert_eq!(
        (alice.deactivated_at, alice.can_request_admin),
        (None, true)
    );
    let existing = repo
        .syn2mas()
        .existing_users(&["alice".into()])
        .await
        .unwrap();
    assert!(existing["alice"].imported);
    let devices = repo.syn2mas().existing_devices(&[alice.id]).await.unwrap();
    assert_eq!(
        devices[&(alice.id, "PHONE".to_owned())],
        written.sessions[0].id
    );
    let found = repo
        .syn2mas()
        .existing_token_digests(&["alice-refresh".into(), "other".into()], true)
        .await
        .unwrap();
    assert_eq!(found.into_iter().collect::<Vec<_>>(), ["alice-refresh"]);
    repo.rollback().await.unwrap();
}
crate::both!(a_batch_reads_back_and_is_found_by_a_second_run);

async fn suspended_indexes_and_keys_come_back_exactly(db: &Database) {
    let migrated = schema(db).await;
    let mut repo = db.begin().await.unwrap();
    assert!(repo.syn2mas().target_is_empty().await.unwrap());
    let dropped = repo.syn2mas().suspend_indexes().await.unwrap();
    repo.commit().await.unwrap();
    assert!(dropped > 0);
    assert_ne!(schema(db).await, migrated);

    let mut repo = db.begin().await.unwrap();
    repo.syn2mas().write(&batch("bob"), now()).await.unwrap();
    repo.commit().await.unwrap();

    // What a later run finds: the record, in rebuild order.
    let left = suspended(db).await;
    assert_eq!(left.len(), dropped);
    for (name, statement) in &left {
        let mut repo = db.begin().await.unwrap();
        repo.syn2mas().restore_index(name, statement).await.unwrap();
        repo.commit().await.unwrap();
    }
    let mut repo = db.begin().await.unwrap();
    assert!(!repo.syn2mas().target_is_empty().await.unwrap());
    repo.syn2mas().finish_restoring().await.unwrap();
    repo.commit().await.unwrap();
    assert!(suspended(db).await.is_empty());
    assert_eq!(schema(db).await, migrated);

    // Usernames are unique again.
    let mut twin = batch("bob");
    // A later id than `batch` gives, from the same seeded generator.
    let mut ids = rng();
    new_ulid(now(), &mut ids);
    twin.users[0].id = new_ulid(now(), &mut ids);
    twin.passwords.clear();
    twin.emails.clear();
    twin.sessions.clear();
    twin.access_tokens.clear();
    twin.refresh_tokens.clear();
    let mut repo = db.begin().await.unwrap();
    assert!(repo.syn2mas().write(&twin, now()).await.is_err());
    drop(repo);

    // So are token digests (suspended too): a new user whose
    // token has a digest of bob's is refused, with a fresh digest it is not.
    for (access, refresh, refused) in [
        ("bob-access", "eve-refresh", true),
        ("eve-access", "bob-refresh", true),
        ("eve-access", "eve-refresh", false),
    ] {
        let mut repo = db.begin().await.unwrap();
        let written = repo
            .syn2mas()
            .write(&other_user(access, refresh), now())
            .await;
        assert_eq!(written.is_err(), refused, "{access} {refresh}: {written:?}");
        repo.rollback().await.unwrap();
    }
}
crate::both!(suspended_indexes_and_keys_come_back_exactly);

/// User `eve` with ids of her own, a session and a token pair with these
/// digests.
fn other_user(access: &str, refresh: &str) -> ImportBatch {
    let mut ids = StdRng::seed_from_u64(7);
    let mut eve = batch("eve");
    let (user, session) = (new_ulid(now(), &mut ids), new_ulid(now(), &mut ids));
    eve.users[0].id = user;
    eve.passwords.clear();
    eve.emails.clear();
    eve.sessions[0].id = session;
    eve.sessions[0].user_id = user;
    let token = &mut eve.access_tokens[0];
    (token.id, token.session_id, token.digest) =
        (new_ulid(now(), &mut ids), session, access.to_owned());
    let access_id = token.id;
    let token = &mut eve.refresh_tokens[0];
    (
        token.id,
        token.session_id,
        token.access_token_id,
        token.digest,
    ) = (
        new_ulid(now(), &mut ids),
        session,
        Some(access_id),
        refresh.to_owned(),
    );
    eve
}

/// `(synchronous, temp_store, cache_size, wal_autocheckpoint)` of a
/// connection of `db`'s pool; `None` on PostgreSQL.
async fn sqlite_settings(db: &Database) -> Option<[i64; 4]> {
    let Database::Sqlite(pool, _) = db else {
        return None;
    };
    let mut conn = pool.acquire().await.unwrap();
    let mut values = [0; 4];
    for (value, pragma) in values.iter_mut().zip([
        "synchronous",
        "temp_store",
        "cache_size",
        "wal_autocheckpoint",
    ]) {
        *value = sqlx::query_scalar(&format!("PRAGMA {pragma}"))
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    }
    Some(values)
}

/// The import's writer (syn2mas writes every batch through it): on SQLite
/// its one connection has the bulk settings, and no fsync only for the bulk
/// load; the ordinary pool never has them; after `finish_import` the writer
/// is closed, what it wrote is in the database and the WAL is empty.
async fn the_import_writer_keeps_its_settings_to_itself(db: &Database) {
    let sqlite = matches!(db, Database::Sqlite(..));
    let ordinary = sqlite_settings(db).await;
    if sqlite {
        // NORMAL, file, SQLite's 2 MB, 1,000 pages.
        assert_eq!(ordinary, Some([1, 0, -2000, 1000]));
    }
    let safe = db.import_writer(ImportWriter::Safe).await.unwrap();
    let bulk = db.import_writer(ImportWriter::Bulk).await.unwrap();
    if sqlite {
        // NORMAL or OFF, memory, 16 MiB, 16,384 pages.
        assert_eq!(sqlite_settings(&safe).await, Some([1, 2, -16384, 16384]));
        assert_eq!(sqlite_settings(&bulk).await, Some([0, 2, -16384, 16384]));
    }
    db.finish_import(safe).await.unwrap();

    let mut repo = bulk.begin().await.unwrap();
    repo.syn2mas().write(&batch("carol"), now()).await.unwrap();
    repo.commit().await.unwrap();
    assert_eq!(sqlite_settings(db).await, ordinary);
    db.finish_import(bulk.clone()).await.unwrap();
    if let Database::Sqlite(pool, _) = &bulk {
        assert!(pool.is_closed());
        let file = pool.connect_options().get_filename().to_owned();
        let wal = std::fs::metadata(format!("{}-wal", file.display())).unwrap();
        assert_eq!(wal.len(), 0, "the WAL is checkpointed and truncated");
    }
    assert_eq!(sqlite_settings(db).await, ordinary);
    let mut read = db.read().await.unwrap();
    let found = read
        .syn2mas()
        .existing_users(&["carol".into()])
        .await
        .unwrap();
    assert!(found["carol"].imported);
}
crate::both!(the_import_writer_keeps_its_settings_to_itself);
