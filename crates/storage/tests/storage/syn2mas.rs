//! syn2mas's bulk writes: what a batch writes reads back the same through
//! the repository (PostgreSQL writes through `UNNEST`, SQLite through
//! multi-row INSERTs), and the suspension of indexes and keys for the bulk
//! load of an empty target is undone exactly, uniqueness included.

use mxauth_storage::{
    new_ulid, Database, ImportAccessToken, ImportBatch, ImportRefreshToken, ImportSession,
    ImportUser,
};

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
}
crate::both!(suspended_indexes_and_keys_come_back_exactly);
