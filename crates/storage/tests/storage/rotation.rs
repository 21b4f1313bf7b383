//! The refresh grant's lookup-and-rotate (one statement on PostgreSQL, one
//! transaction on SQLite): it rotates only when every condition holds,
//! writes nothing otherwise and hands back what it found; of concurrent
//! refreshes with one token, exactly one rotates; on PostgreSQL it finds
//! the token through its index, never by reading the whole table.

use mxauth_model::{
    oauth2::{Client, Session},
    Scope, User,
};
use mxauth_storage::{new_ulid, Database, RotationRequest, Successor};
use rand::rngs::StdRng;

use crate::harness::{now, rng, TestDb};
use crate::oauth2::{client, session, user};

/// A session of `app` for `alice` with two scopes, and its first refresh
/// token, stored under `digest`.
async fn with_refresh_token(
    db: &Database,
    rng: &mut StdRng,
    app: &Client,
    alice: &User,
    digest: &str,
) -> Session {
    let mut s = session(rng, app, Some(alice));
    s.scope = "openid urn:matrix:client:api:*".parse().unwrap();
    let mut repo = db.begin().await.unwrap();
    repo.oauth2_sessions().add(&s).await.unwrap();
    let at = repo
        .oauth2_access_tokens()
        .add(
            new_ulid(now(), rng),
            s.id,
            &format!("{digest}-at"),
            now(),
            None,
        )
        .await
        .unwrap();
    repo.oauth2_refresh_tokens()
        .add(new_ulid(now(), rng), s.id, at.id, digest, now())
        .await
        .unwrap();
    repo.commit().await.unwrap();
    s
}

fn successor(rng: &mut StdRng, name: &str) -> Successor {
    Successor {
        access_token_id: new_ulid(now(), rng),
        access_token_digest: format!("{name}-at"),
        access_token_expires_at: None,
        refresh_token_id: new_ulid(now(), rng),
        refresh_token_digest: name.to_owned(),
    }
}

/// Whether a refresh token with this digest exists.
async fn stored(db: &Database, digest: &str) -> bool {
    let mut repo = db.read().await.unwrap();
    let found = repo.oauth2_refresh_tokens().find_by_digest(digest).await;
    found.unwrap().is_some()
}

async fn rotates_only_when_every_condition_holds(db: &Database) {
    let mut rng = rng();
    let alice = user(db, &mut rng, "alice").await;
    let app = client(&mut rng, None);
    let other = client(&mut rng, None);
    let mut repo = db.begin().await.unwrap();
    repo.oauth2_clients().add(&app).await.unwrap();
    repo.oauth2_clients().add(&other).await.unwrap();
    repo.commit().await.unwrap();
    let s = with_refresh_token(db, &mut rng, &app, &alice, "rt-1").await;
    let mine = |scope| RotationRequest {
        client_id: app.id,
        scope,
    };

    let plain = mine(None);
    let unknown = successor(&mut rng, "never");
    let none = db.lookup_and_rotate("nope", &plain, &unknown, now());
    assert!(none.await.unwrap().is_none(), "no token has this digest");

    // Refused, nothing written, the rows found handed back: another
    // client; a scope wider than the session's.
    let theirs = RotationRequest {
        client_id: other.id,
        scope: None,
    };
    let wider: Scope = "openid email".parse().unwrap();
    for request in [theirs, mine(Some(&wider))] {
        let found = db
            .lookup_and_rotate("rt-1", &request, &unknown, now())
            .await
            .unwrap()
            .unwrap();
        assert!(!found.rotated, "{request:?}");
        assert_eq!(found.session.id, s.id);
        assert_eq!(found.user.as_ref().map(|u| u.id), Some(alice.id));
        assert!(found.refresh.consumed_at.is_none());
    }
    assert!(!stored(db, "never").await, "a refused rotation wrote");

    // A narrower scope: rotated, the successor stored and linked.
    let narrower: Scope = "openid".parse().unwrap();
    let next = successor(&mut rng, "rt-2");
    let found = db
        .lookup_and_rotate("rt-1", &mine(Some(&narrower)), &next, now())
        .await
        .unwrap()
        .unwrap();
    assert!(found.rotated);
    assert!(stored(db, "rt-2").await);
    let mut repo = db.read().await.unwrap();
    let consumed = repo.oauth2_refresh_tokens().find(found.refresh.id).await;
    let consumed = consumed.unwrap().unwrap();
    assert_eq!(consumed.next_refresh_token_id, Some(next.refresh_token_id));
    drop(repo);

    // The consumed token again: not rotated, seen as consumed (the caller's
    // replay handling takes it from there).
    let again = successor(&mut rng, "rt-again");
    let found = db.lookup_and_rotate("rt-1", &plain, &again, now());
    let found = found.await.unwrap().unwrap();
    assert!(!found.rotated && found.refresh.consumed_at.is_some());
    assert!(!stored(db, "rt-again").await);

    // A locked user's token is not rotated; unlocked, it is.
    let mut repo = db.begin().await.unwrap();
    let locked = repo.users().lock(alice.clone(), now()).await.unwrap();
    repo.commit().await.unwrap();
    let after_lock = successor(&mut rng, "rt-3");
    let found = db.lookup_and_rotate("rt-2", &plain, &after_lock, now());
    assert!(!found.await.unwrap().unwrap().rotated, "locked user");
    let mut repo = db.begin().await.unwrap();
    repo.users().unlock(locked).await.unwrap();
    repo.commit().await.unwrap();
    let found = db.lookup_and_rotate("rt-2", &plain, &after_lock, now());
    assert!(found.await.unwrap().unwrap().rotated, "unlocked user");

    // A finished session's token is not rotated.
    let mut repo = db.begin().await.unwrap();
    repo.oauth2_sessions().finish(s.id, now()).await.unwrap();
    repo.commit().await.unwrap();
    let last = successor(&mut rng, "rt-4");
    let found = db.lookup_and_rotate("rt-3", &plain, &last, now());
    assert!(!found.await.unwrap().unwrap().rotated, "finished session");
    assert!(!stored(db, "rt-4").await);
}
crate::both!(rotates_only_when_every_condition_holds);

/// A client with a session of alice's whose refresh token is stored under
/// `digest`; the request of that client for the session's whole scope.
async fn alices_refresh_token(
    db: &Database,
    rng: &mut StdRng,
    digest: &str,
) -> RotationRequest<'static> {
    let alice = user(db, rng, "alice").await;
    let app = client(rng, None);
    let mut repo = db.begin().await.unwrap();
    repo.oauth2_clients().add(&app).await.unwrap();
    repo.commit().await.unwrap();
    with_refresh_token(db, rng, &app, &alice, digest).await;
    RotationRequest {
        client_id: app.id,
        scope: None,
    }
}

async fn one_of_concurrent_refreshes_rotates(db: &Database) {
    let mut rng = rng();
    let request = alices_refresh_token(db, &mut rng, "shared").await;
    let attempts = (0..8).map(|i| {
        let next = successor(&mut rng, &format!("next-{i}"));
        let db = db.clone();
        tokio::spawn(async move {
            let found = db.lookup_and_rotate("shared", &request, &next, now());
            found.await.unwrap().unwrap().rotated
        })
    });
    let attempts: Vec<_> = attempts.collect();
    let mut rotated = 0;
    for attempt in attempts {
        rotated += usize::from(attempt.await.unwrap());
    }
    assert_eq!(rotated, 1, "exactly one concurrent refresh rotates");
    let mut stored_successors = 0;
    for i in 0..8 {
        stored_successors += usize::from(stored(db, &format!("next-{i}")).await);
    }
    assert_eq!(stored_successors, 1, "one successor pair stored");
}
crate::both!(one_of_concurrent_refreshes_rotates);

/// The rotation statement reads `oauth2_refresh_tokens` through its
/// indexes, also in the generic plan PostgreSQL switches to after five
/// runs of a prepared statement. With the `UPDATE` joined to the token only
/// through the `presented` CTE, every refresh scanned the whole table: a
/// refresh grew slower with every token ever issued (1.7k/s after seconds
/// of the bench's load, against 5.5k/s without the scan).
#[tokio::test]
async fn a_rotation_reads_no_whole_table_on_postgres() {
    // One connection: the statistics read are those of the process that
    // ran the rotations.
    let Some(t) = TestDb::postgres_with_pool_size(Some(1)).await else {
        return;
    };
    let db = &t.db;
    let mut rng = rng();
    let request = alices_refresh_token(db, &mut rng, "chain-0").await;
    let before = sequential_scans_of_refresh_tokens(db).await;
    for i in 1..=12 {
        let next = successor(&mut rng, &format!("chain-{i}"));
        let presented = format!("chain-{}", i - 1);
        let found = db.lookup_and_rotate(&presented, &request, &next, now());
        assert!(found.await.unwrap().unwrap().rotated, "rotation {i}");
    }
    let after = sequential_scans_of_refresh_tokens(db).await;
    assert_eq!(after, before, "a rotation scanned oauth2_refresh_tokens");
    t.cleanup().await;
}

/// `seq_scan` of `oauth2_refresh_tokens`, with this connection's pending
/// statistics flushed first (they are otherwise sent at most once a second).
async fn sequential_scans_of_refresh_tokens(db: &Database) -> i64 {
    let Database::Postgres(pool, _) = db else {
        unreachable!("PostgreSQL only")
    };
    sqlx::query("SELECT pg_stat_force_next_flush()")
        .execute(pool)
        .await
        .unwrap();
    sqlx::query_scalar(
        "SELECT seq_scan FROM pg_stat_user_tables
         WHERE schemaname = current_schema() AND relname = 'oauth2_refresh_tokens'",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}
