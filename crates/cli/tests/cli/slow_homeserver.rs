//! A slow homeserver must slow down only the requests that need it: logins
//! wait for their device, but no write transaction waits with them, so a
//! client registration and `/health` still answer at once, on SQLite (one
//! writer at a time) and on PostgreSQL (a pool that must not run dry).

use std::time::{Duration, Instant};

use serde_json::json;

use crate::{homeserver_stub::StubHomeserver, support::*};

async fn timed<F: std::future::Future>(f: F) -> (F::Output, Duration) {
    let start = Instant::now();
    let output = f.await;
    (output, start.elapsed())
}

/// Eight logins against a pool of three connections: a login holding a
/// connection across the homeserver call would leave none for the rest.
async fn logins_do_not_block_other_writes(db: TestDatabase) {
    let homeserver = StubHomeserver::start().await;
    let extra = format!(
        "matrix:\n  homeserver: example.com\n  endpoint: \"{}\"\n  secret: stub-secret\n\
         rate_limiting:\n  login:\n    per_ip: {{burst: 100, per_second: 1}}\n    per_account: {{burst: 100, per_second: 1}}\n\
         database:\n  max_connections: 3\n",
        homeserver.endpoint()
    );
    let (files, port) = server_config("slow-homeserver", &db, &extra);
    serve_compat(&files);
    migrate_and_register(&files, "alice", "wonderland", &[]);
    let server = start_server(files, port);
    let base = server.base();
    let http = reqwest::Client::new();

    homeserver.set_delay(Duration::from_secs(6));
    let mut logins = Vec::new();
    for i in 0..8 {
        let http = http.clone();
        let url = format!("{base}_matrix/client/v3/login");
        logins.push(tokio::spawn(async move {
            let body = json!({"type": "m.login.password", "password": "wonderland",
                "identifier": {"type": "m.id.user", "user": "alice"}, "device_id": format!("SLOW{i}")});
            http.post(url)
                .header("content-type", "application/json")
                .body(body.to_string())
                .send()
                .await
                .map(|r| r.status().as_u16())
        }));
    }
    // Let the logins reach the homeserver call.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let metadata = json!({"client_uri": "https://app.example.com/",
        "redirect_uris": ["https://app.example.com/cb"]});
    let (registered, took) = timed(
        http.post(format!("{base}oauth2/registration"))
            .header("content-type", "application/json")
            .body(metadata.to_string())
            .send(),
    )
    .await;
    assert_eq!(registered.unwrap().status(), 201);
    assert!(
        took < Duration::from_secs(1),
        "a registration waited {took:?} behind logins"
    );
    let (health, took) = timed(http.get(format!("{base}health")).send()).await;
    assert_eq!(health.unwrap().status(), 200);
    assert!(
        took < Duration::from_secs(1),
        "/health waited {took:?} behind logins"
    );

    for login in logins {
        assert_eq!(login.await.unwrap().unwrap(), 200);
    }
    drop(server);
    db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_homeserver_does_not_hold_writes_on_sqlite() {
    let dir = temp_dir("slow-homeserver-sqlite");
    logins_do_not_block_other_writes(TestDatabase::sqlite(&dir)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_homeserver_does_not_hold_writes_on_postgres() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    logins_do_not_block_other_writes(db).await;
}
