//! Two `mxauth server` processes on one PostgreSQL, as a deployment behind
//! a round-robin proxy runs them: started at the same moment (migrations
//! and the config sync take advisory locks), each answering for the
//! other's tokens; a logout, a revocation or a lock made on one of them,
//! or by the CLI (a third process), is refused by both at once although
//! each keeps a token cache; so is a client secret replaced by `config
//! sync`, although each caches the client too; every queued job runs
//! exactly once.

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, Mutex},
};

use serde_json::{json, Value};
use tokio::{io::AsyncWriteExt, net::TcpListener};

use crate::support::*;

const SECRET: &str = "two-instances-homeserver-secret";
const CLIENT_ID: &str = "01J8TW01N5TANCE50000000000";
const CLIENT_SECRET: &str = "two-instances-client-secret";

/// A homeserver stand-in answering `200 {}` to everything and recording
/// each request as `path body`.
async fn recording_homeserver() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let calls = Arc::new(Mutex::new(Vec::new()));
    let recorded = calls.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let recorded = recorded.clone();
            tokio::spawn(async move {
                let request = read_request(&mut socket).await;
                recorded.lock().unwrap().push(request);
                let answer = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}";
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    (port, calls)
}

/// Starts `mxauth server` on `files` without waiting.
fn spawn_server(files: &[PathBuf], port: u16) -> RunningServer {
    let child = with_configs(&mut mxauth(), files)
        .arg("server")
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    RunningServer { child, port }
}

/// The JSON body of an answer.
async fn json_of(answer: reqwest::Response) -> Value {
    serde_json::from_str(&answer.text().await.unwrap()).unwrap()
}

async fn introspect(http: &reqwest::Client, port: u16, token: &str) -> bool {
    let answer: Value = http
        .post(format!("http://127.0.0.1:{port}/oauth2/introspect"))
        .bearer_auth(SECRET)
        .form(&[("token", token)])
        .send()
        .await
        .map(json_of)
        .unwrap()
        .await;
    answer["active"].as_bool().unwrap()
}

/// Introspects on both instances, several times, so both caches hold it.
async fn active_on(http: &reqwest::Client, ports: [u16; 2], token: &str) -> [bool; 2] {
    let mut seen = [true, true];
    for _ in 0..3 {
        for (i, port) in ports.iter().enumerate() {
            seen[i] &= introspect(http, *port, token).await;
        }
    }
    seen
}

/// A `client_credentials` grant for the static client with `secret`.
async fn client_credentials(http: &reqwest::Client, port: u16, secret: &str) -> reqwest::Response {
    http.post(format!("http://127.0.0.1:{port}/oauth2/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT_ID),
            ("client_secret", secret),
        ])
        .send()
        .await
        .unwrap()
}

async fn compat_login(http: &reqwest::Client, port: u16, device: &str) -> String {
    let body = json!({"type": "m.login.password", "password": "wonderland", "device_id": device,
        "identifier": {"type": "m.id.user", "user": "alice"}});
    let answer: Value = http
        .post(format!("http://127.0.0.1:{port}/_matrix/client/v3/login"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .map(json_of)
        .unwrap()
        .await;
    answer["access_token"]
        .as_str()
        .expect("a compat token")
        .to_owned()
}

fn cli(files: &[PathBuf], args: &[&str]) {
    let out = run(with_configs(&mut mxauth(), files).args(args));
    assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_postgres_agree_at_once() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    let (hs_port, calls) = recording_homeserver().await;
    let extra = format!(
        "matrix:\n  homeserver: example.com\n  endpoint: \"http://127.0.0.1:{hs_port}/\"\n  secret: {SECRET}\n\
         clients:\n  - client_id: {CLIENT_ID}\n    client_auth_method: client_secret_post\n    client_secret: {CLIENT_SECRET}\n"
    );
    let (files_a, port_a) = server_config("instances", &db, &extra);
    serve_compat(&files_a);
    // Instance B: the same configuration (secrets, public base) bound to
    // another port, as a second replica behind the same proxy.
    let port_b = free_port();
    let dir_b = temp_dir("instances-b");
    let listener_b = std::fs::read_to_string(&files_a[1]).unwrap().replace(
        &format!("address: \"127.0.0.1:{port_a}\""),
        &format!("address: \"127.0.0.1:{port_b}\""),
    );
    std::fs::write(dir_b.join("override.yaml"), listener_b).unwrap();
    let files_b = vec![
        files_a[0].clone(),
        dir_b.join("override.yaml"),
        files_a[2].clone(),
    ];

    // Started together on an empty database: both migrate and sync the
    // static client at the same moment.
    let server_a = spawn_server(&files_a, port_a);
    let server_b = spawn_server(&files_b, port_b);
    assert_eq!(wait_for(port_a, "/health").0, 200);
    assert_eq!(wait_for(port_b, "/health").0, 200);
    let ports = [port_a, port_b];
    cli(
        &files_a,
        &["manage", "register-user", "alice", "-p", "wonderland", "-y"],
    );
    let http = reqwest::Client::new();

    // A compat token from A works on both; A's logout is refused by B at once.
    let token = compat_login(&http, port_a, "DEVICEA").await;
    assert_eq!(active_on(&http, ports, &token).await, [true, true]);
    let logout = http
        .post(format!(
            "http://127.0.0.1:{port_a}/_matrix/client/v3/logout"
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 200);
    assert!(
        !introspect(&http, port_b, &token).await,
        "B still accepts a token logged out on A"
    );
    assert!(!introspect(&http, port_a, &token).await);

    // A lock from the CLI (a third process) reaches both caches; so does
    // the unlock.
    let token = compat_login(&http, port_b, "DEVICEB").await;
    assert_eq!(active_on(&http, ports, &token).await, [true, true]);
    cli(&files_a, &["manage", "lock-user", "alice"]);
    assert_eq!(
        [
            introspect(&http, port_a, &token).await,
            introspect(&http, port_b, &token).await
        ],
        [false, false],
        "a locked user's token still works somewhere"
    );
    cli(&files_a, &["manage", "unlock-user", "alice"]);
    assert_eq!(active_on(&http, ports, &token).await, [true, true]);

    // An OAuth access token revoked on B is refused by A at once.
    let issued = client_credentials(&http, port_a, CLIENT_SECRET).await;
    let oauth_token = json_of(issued).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(active_on(&http, ports, &oauth_token).await, [true, true]);
    let revoked = http
        .post(format!("http://127.0.0.1:{port_b}/oauth2/revoke"))
        .form(&[
            ("token", oauth_token.as_str()),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    assert!(
        !introspect(&http, port_a, &oauth_token).await,
        "A still accepts a token revoked on B"
    );

    // The client's secret replaced by `config sync` from the CLI: both
    // instances, whose caches hold the client after a few requests, refuse
    // the old secret at once and take the new one.
    for port in ports {
        for _ in 0..3 {
            let answer = client_credentials(&http, port, CLIENT_SECRET).await;
            assert_eq!(answer.status(), 200);
        }
    }
    let new_secret = "two-instances-rotated-secret";
    let mut rotated = files_a.clone();
    rotated[2] = dir_b.join("rotated.yaml");
    let extra_rotated = extra.replace(CLIENT_SECRET, new_secret);
    std::fs::write(&rotated[2], extra_rotated).unwrap();
    cli(&rotated, &["config", "sync"]);
    for port in ports {
        let old = client_credentials(&http, port, CLIENT_SECRET).await;
        assert_eq!(old.status(), 401, "port {port} still takes the old secret");
        let new = client_credentials(&http, port, new_secret).await;
        assert_eq!(new.status(), 200, "port {port} refuses the new secret");
    }

    // Jobs: twenty users registered while both workers run; each is
    // provisioned exactly once.
    for i in 0..20 {
        let name = format!("user{i}");
        cli(
            &files_a,
            &["manage", "register-user", &name, "-p", "pw", "-y"],
        );
    }
    let provisioned = || {
        let calls = calls.lock().unwrap();
        let mut count: HashMap<String, usize> = HashMap::new();
        for call in calls
            .iter()
            .filter(|c| c.starts_with("/_synapse/mas/provision_user"))
        {
            let body: Value = serde_json::from_str(call.split_once(' ').unwrap().1).unwrap();
            *count
                .entry(body["localpart"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
        count
    };
    for _ in 0..300 {
        if (0..20).all(|i| provisioned().contains_key(&format!("user{i}"))) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // A moment more, in case a second worker were to run one again.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let count = provisioned();
    for i in 0..20 {
        assert_eq!(
            count.get(&format!("user{i}")),
            Some(&1),
            "user{i}: {count:?}"
        );
    }

    drop((server_a, server_b));
    db.drop_database().await;
}
