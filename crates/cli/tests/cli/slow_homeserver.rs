//! A slow homeserver must slow down only the requests that need it: logins
//! wait for their device, but no write transaction waits with them, so a
//! client registration and `/health` still answer at once, on SQLite (one
//! writer at a time) and on PostgreSQL (a pool that must not run dry).

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use serde_json::json;
use tokio::{io::AsyncWriteExt, net::TcpListener};

use crate::support::*;

/// Eight logins against a pool of three connections: a login holding a
/// connection across the homeserver call would leave none for the rest.
/// A stand-in homeserver answering `200 {}` to everything after `delay`
/// milliseconds.
async fn stub_homeserver(delay: Arc<AtomicU64>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let delay = delay.clone();
            tokio::spawn(async move {
                read_request(&mut socket).await;
                tokio::time::sleep(Duration::from_millis(delay.load(Ordering::SeqCst))).await;
                let answer = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}";
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    port
}

async fn timed<F: std::future::Future>(f: F) -> (F::Output, Duration) {
    let start = Instant::now();
    let output = f.await;
    (output, start.elapsed())
}

async fn logins_do_not_block_other_writes(db: TestDatabase) {
    let delay = Arc::new(AtomicU64::new(0));
    let hs_port = stub_homeserver(delay.clone()).await;
    let extra = format!(
        "matrix:\n  homeserver: example.com\n  endpoint: \"http://127.0.0.1:{hs_port}/\"\n  secret: stub-secret\n\
         rate_limiting:\n  login:\n    per_ip: {{burst: 100, per_second: 1}}\n    per_account: {{burst: 100, per_second: 1}}\n\
         database:\n  max_connections: 3\n"
    );
    let (files, port) = server_config("slow-homeserver", &db, &extra);
    let with_compat = std::fs::read_to_string(&files[1])
        .unwrap()
        .replace("{name: health}]", "{name: health}, {name: compat}]");
    std::fs::write(&files[1], with_compat).unwrap();
    migrate_and_register(&files, "alice", "wonderland", &[]);
    let server = start_server(files, port);
    let base = server.base();
    let http = reqwest::Client::new();

    delay.store(6_000, Ordering::SeqCst);
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
