//! Removing a static client (config sync, at start-up) deletes its
//! sessions and tokens through the referencing columns' indexes. Without
//! them (before migration 12) PostgreSQL read the whole refresh-token table
//! once per deleted token: 5,000 sessions among 105,000 tokens took 45 s.

use std::time::{Duration, Instant};

use rand::rngs::StdRng;

use crate::{
    harness::{execute_raw, rng, TestDb},
    oauth2::client,
};

/// A client called `name`, static or not, with `sessions` sessions, each
/// with an access and a refresh token, made in bulk with SQL.
async fn client_with_sessions(
    db: &mxauth_storage::Database,
    rng: &mut StdRng,
    name: &str,
    is_static: bool,
    sessions: u32,
) -> ulid::Ulid {
    let mut app = client(rng, None);
    app.client_name = Some(name.to_owned());
    app.is_static = is_static;
    let mut repo = db.begin().await.unwrap();
    repo.oauth2_clients().add(&app).await.unwrap();
    repo.commit().await.unwrap();
    let client =
        format!("(SELECT oauth2_client_id FROM oauth2_clients WHERE client_name = '{name}')");
    execute_raw(
        db,
        &format!(
            "INSERT INTO oauth2_sessions (oauth2_session_id, oauth2_client_id, scope_list, created_at)
             SELECT gen_random_uuid(), {client}, 'openid', now() FROM generate_series(1, {sessions})"
        ),
    )
    .await;
    execute_raw(
        db,
        &format!(
            "INSERT INTO oauth2_access_tokens
               (oauth2_access_token_id, oauth2_session_id, access_token_sha256, created_at)
             SELECT gen_random_uuid(), oauth2_session_id, md5(random()::text), now()
             FROM oauth2_sessions WHERE oauth2_client_id = {client}"
        ),
    )
    .await;
    execute_raw(
        db,
        &format!(
            "INSERT INTO oauth2_refresh_tokens
               (oauth2_refresh_token_id, oauth2_session_id, oauth2_access_token_id,
                refresh_token_sha256, created_at)
             SELECT gen_random_uuid(), a.oauth2_session_id, a.oauth2_access_token_id,
                    md5(random()::text), now()
             FROM oauth2_access_tokens a JOIN oauth2_sessions s USING (oauth2_session_id)
             WHERE s.oauth2_client_id = {client}"
        ),
    )
    .await;
    app.id
}

#[tokio::test]
async fn removing_a_static_client_with_many_sessions_is_quick_on_postgres() {
    let Some(t) = TestDb::postgres().await else {
        return;
    };
    let db = &t.db;
    let mut rng = rng();
    let gone = client_with_sessions(db, &mut rng, "gone", true, 3_000).await;
    client_with_sessions(db, &mut rng, "kept", false, 40_000).await;
    execute_raw(db, "ANALYZE").await;

    let started = Instant::now();
    let mut repo = db.begin().await.unwrap();
    repo.oauth2_clients().delete_static(gone).await.unwrap();
    repo.commit().await.unwrap();
    let took = started.elapsed();

    let mxauth_storage::Database::Postgres(pool, _) = db else {
        unreachable!()
    };
    let left: (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM oauth2_access_tokens), (SELECT COUNT(*) FROM oauth2_refresh_tokens)",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    t.cleanup().await;
    assert_eq!(
        left,
        (40_000, 40_000),
        "only the removed client's tokens go"
    );
    // About 0.1 s with the indexes; about 10 s without them here.
    assert!(took < Duration::from_secs(4), "{took:?}");
}
