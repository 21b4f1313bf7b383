//! The real Synapse peer (from PyPI, pinned in tests/peers) for the tests
//! that need one: starting it configured to delegate authentication to
//! mxauth, a small reverse proxy that routes the legacy login API to mxauth
//! as a deployment's proxy would, and calls through both.

use std::{path::PathBuf, process::Child, time::Duration};

use serde_json::Value;

use crate::support::*;

pub const SECRET: &str = "tEOnqFpkKHf98TU4O5yPm9qWJTk1kv2X"; // the sample config's matrix.secret

pub fn venv() -> Option<PathBuf> {
    let path = std::env::var_os("MXAUTH_SYNAPSE_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default())
                .join(".cache/mxauth-peers/synapse-venv")
        });
    if path.join("bin/python").exists() {
        return Some(path);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "CI=true but no Synapse virtualenv at {}: .ci/run creates it",
            path.display()
        );
    }
    skip_notice(&format!(
        "no Synapse virtualenv at {0}: skipping (make one with `VENV={0} bash tests/peers/setup_synapse.sh venv`, as .ci/run does, or set MXAUTH_SYNAPSE_VENV to one)",
        path.display()
    ));
    None
}

pub struct Synapse {
    venv: PathBuf,
    pub dir: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl Synapse {
    pub fn configure(venv: PathBuf, port: u16, mxauth_port: u16, public_port: u16) -> Self {
        let dir = temp_dir("synapse");
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/peers/setup_synapse.sh");
        let status = std::process::Command::new("bash")
            .arg(script)
            .args(["mas", dir.to_str().unwrap(), &port.to_string()])
            .env("VENV", &venv)
            .env("PEERS", dir.join("peers"))
            .env("MAS_SECRET", SECRET)
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "setup_synapse.sh failed");
        let path = dir.join("homeserver.yaml");
        let config = std::fs::read_to_string(&path)
            .unwrap()
            .replace(
                "endpoint: http://127.0.0.1:8080/",
                &format!("endpoint: http://127.0.0.1:{mxauth_port}/"),
            )
            .replace(
                "server_name: localhost",
                &format!("server_name: 127.0.0.1:{public_port}"),
            )
            .replace(
                &format!("public_baseurl: http://127.0.0.1:{port}/"),
                &format!("public_baseurl: http://127.0.0.1:{public_port}/"),
            );
        std::fs::write(&path, config).unwrap();
        Synapse {
            venv,
            dir,
            port,
            child: None,
        }
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.join("homeserver.yaml")
    }

    /// Synapse on its own, as before a migration: the
    /// `matrix_authentication_service` section goes. Returns the delegating
    /// configuration, to write back at the switch to mxauth.
    pub fn stand_alone(&self) -> String {
        let path = self.config_path();
        let delegated = std::fs::read_to_string(&path).unwrap();
        let (before, after) = delegated
            .split_once("matrix_authentication_service:")
            .unwrap();
        let rest = after
            .lines()
            .skip_while(|l| l.starts_with("  ") || l.is_empty())
            .collect::<Vec<_>>()
            .join("\n");
        std::fs::write(&path, format!("{before}{rest}\n")).unwrap();
        delegated
    }

    /// Adds top-level keys (YAML) to the configuration; they must not be
    /// there yet.
    pub fn add_config(&self, yaml: &str) {
        let path = self.config_path();
        let mut config = std::fs::read_to_string(&path).unwrap();
        config.push_str(yaml);
        std::fs::write(&path, config).unwrap();
    }

    pub async fn start(&mut self) {
        let log = std::fs::File::create(self.dir.join("stdout.log")).unwrap();
        let child = std::process::Command::new(self.venv.join("bin/python"))
            .args(["-m", "synapse.app.homeserver", "-c", "homeserver.yaml"])
            .current_dir(&self.dir)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        let url = format!("http://127.0.0.1:{}/_matrix/client/versions", self.port);
        for _ in 0..120 {
            if reqwest::get(&url).await.is_ok_and(|r| r.status() == 200) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        panic!(
            "Synapse did not start; see {}",
            self.dir.join("homeserver.log").display()
        );
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }
}

impl Drop for Synapse {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The reverse proxy of the homeserver's public domain: the legacy login
/// API to mxauth, everything else to Synapse.
pub async fn start_proxy(port: u16, synapse: u16, mxauth: u16) {
    use axum::{body::Body, extract::Request, response::Response};
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let app = axum::Router::new().fallback(move |request: Request| {
        let http = http.clone();
        async move {
            let path = request
                .uri()
                .path_and_query()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_default();
            let segments: Vec<&str> = path.split('?').next().unwrap_or("").split('/').collect();
            let compat = segments.len() >= 5
                && segments[1] == "_matrix"
                && segments[2] == "client"
                && matches!(segments[4], "login" | "logout" | "refresh");
            let upstream = if compat { mxauth } else { synapse };
            let method = request.method().clone();
            let headers = request.headers().clone();
            let body = axum::body::to_bytes(request.into_body(), 1 << 24)
                .await
                .unwrap_or_default();
            let mut forwarded = http
                .request(method, format!("http://127.0.0.1:{upstream}{path}"))
                .body(body);
            let hop_by_hop = |name: &str| {
                matches!(
                    name,
                    "host" | "content-length" | "transfer-encoding" | "connection" | "keep-alive"
                )
            };
            for (name, value) in &headers {
                if !hop_by_hop(name.as_str()) {
                    forwarded = forwarded.header(name, value);
                }
            }
            match forwarded.send().await {
                Ok(answer) => {
                    let mut response = Response::builder().status(answer.status().as_u16());
                    for (name, value) in answer.headers() {
                        if !hop_by_hop(name.as_str()) {
                            response = response.header(name, value);
                        }
                    }
                    response
                        .body(Body::from(answer.bytes().await.unwrap_or_default()))
                        .unwrap()
                }
                Err(_) => Response::builder().status(502).body(Body::empty()).unwrap(),
            }
        }
    });
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
}

pub async fn call(
    http: &reqwest::Client,
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = match method {
        "GET" => http.get(url),
        "PUT" => http.put(url),
        _ => http.post(url),
    };
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Whether Synapse knows `localpart` within 20 s (provisioning is a job).
pub async fn provisioned(http: &reqwest::Client, synapse_port: u16, localpart: &str) -> bool {
    let query =
        format!("http://127.0.0.1:{synapse_port}/_synapse/mas/query_user?localpart={localpart}");
    eventually(20, async || {
        call(http, "GET", &query, Some(SECRET), None).await.0 == 200
    })
    .await
}

/// mxauth's answer to `token` when asked as Synapse asks (shared secret,
/// device ids supported).
pub async fn introspect_as_synapse(mxauth_base: &str, token: &str) -> Value {
    let answer = reqwest::Client::new()
        .post(format!("{mxauth_base}/oauth2/introspect"))
        .bearer_auth(SECRET)
        .header("X-MAS-Supports-Device-Id", "1")
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    serde_json::from_str(&answer.text().await.unwrap()).unwrap()
}

/// Polls `check` for up to `seconds`.
pub async fn eventually(seconds: u64, mut check: impl AsyncFnMut() -> bool) -> bool {
    for _ in 0..seconds * 4 {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    false
}
