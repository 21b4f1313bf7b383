//! The real OpenID provider peer: panva's `oidc-provider` (npm, pinned in
//! tests/peers/setup_op.sh) running tests/peers/op.mjs, for the tests of
//! upstream providers. It signs its user in and consents by itself, ends its
//! session without a confirmation click, and can send OpenID Connect
//! Back-Channel Logout 1.0 tokens to mxauth.

use std::{
    path::{Path, PathBuf},
    process::Child,
    time::Duration,
};

use serde_json::Value;

use crate::support::{free_port, skip_notice, temp_dir};

/// How the OP's one static client (mxauth) is registered there.
pub struct OpOptions {
    pub port: u16,
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uris: Vec<String>,
    /// The client's `token_endpoint_auth_method`.
    pub auth_method: String,
    /// Its `token_endpoint_auth_signing_alg`, for the two JWT methods.
    pub auth_alg: Option<String>,
    /// Its `jwks_uri`, which `private_key_jwt` needs.
    pub client_jwks_uri: Option<String>,
    /// Its `backchannel_logout_uri`; also turns the feature on.
    pub backchannel_uri: Option<String>,
    /// The account signed in automatically (a `login_hint` overrides it).
    pub user: String,
}

impl Default for OpOptions {
    fn default() -> Self {
        OpOptions {
            port: free_port(),
            client_id: "mas".into(),
            client_secret: "mas-secret".into(),
            redirect_uris: Vec::new(),
            auth_method: "client_secret_basic".into(),
            auth_alg: None,
            client_jwks_uri: None,
            backchannel_uri: None,
            user: "alice".into(),
        }
    }
}

/// Where tests/peers/setup_op.sh installed oidc-provider: `$MXAUTH_OP_DIR`,
/// by default `~/.cache/mxauth-peers/op`.
fn install_dir() -> PathBuf {
    std::env::var_os("MXAUTH_OP_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/mxauth-peers/op")
        })
}

/// `None` (with the reason on standard error) outside CI when node or the
/// installed oidc-provider is missing; a panic under `CI=true`.
fn installed() -> Option<PathBuf> {
    let dir = install_dir();
    let node = std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let missing = if !node {
        "node is not on PATH".to_owned()
    } else if !dir.join("node_modules/oidc-provider/package.json").exists() {
        format!("oidc-provider is not installed in {}", dir.display())
    } else {
        return Some(dir);
    };
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true but {missing}: .ci/run installs it with tests/peers/setup_op.sh");
    }
    skip_notice(&format!(
        "{missing}: skipping the upstream provider test (install it with `OP_DIR={0} bash tests/peers/setup_op.sh`, as .ci/run does, or set MXAUTH_OP_DIR)",
        dir.display()
    ));
    None
}

/// Puts this checkout's op.mjs beside node_modules (Node resolves an ES
/// module's imports from its own folder), so edits take effect without
/// re-running setup_op.sh. Renamed into place: tests start OPs in parallel.
fn install_script(dir: &Path) -> PathBuf {
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/peers/op.mjs");
    let script = dir.join("op.mjs");
    let partial = dir.join(format!(".op.mjs.{}", ulid::Ulid::new()));
    std::fs::copy(&source, &partial).unwrap();
    std::fs::rename(&partial, &script).unwrap();
    script
}

/// A running OP, killed when dropped. Its output goes to a log file whose
/// tail is printed when the test fails.
pub struct OpenIdProvider {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl OpenIdProvider {
    pub async fn start(options: OpOptions) -> Option<OpenIdProvider> {
        let dir = installed()?;
        let script = install_script(&dir);
        let log = temp_dir("op").join("op.log");
        let file = std::fs::File::create(&log).unwrap();
        let mut command = std::process::Command::new("node");
        command
            .arg(&script)
            .current_dir(&dir)
            .env("OP_PORT", options.port.to_string())
            .env("OP_CLIENT_ID", &options.client_id)
            .env("OP_CLIENT_SECRET", &options.client_secret)
            .env("OP_REDIRECT_URIS", options.redirect_uris.join(","))
            .env("OP_AUTH_METHOD", &options.auth_method)
            .env("OP_USER", &options.user)
            .stdout(file.try_clone().unwrap())
            .stderr(file);
        for (name, value) in [
            ("OP_AUTH_ALG", &options.auth_alg),
            ("OP_CLIENT_JWKS_URI", &options.client_jwks_uri),
            ("OP_BACKCHANNEL_URI", &options.backchannel_uri),
        ] {
            match value {
                Some(value) => command.env(name, value),
                None => command.env_remove(name),
            };
        }
        let child = command.spawn().expect("start node");
        let op = OpenIdProvider {
            child,
            port: options.port,
            log,
        };
        op.wait_for_discovery().await;
        Some(op)
    }

    async fn wait_for_discovery(&self) {
        let url = self.discovery_url();
        for _ in 0..100 {
            if reqwest::get(&url).await.is_ok_and(|r| r.status() == 200) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the OP did not answer {url} within 10 s");
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash (as it says in its
    /// discovery document and in its tokens' `iss`).
    pub fn issuer(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn discovery_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.issuer())
    }

    /// RP-initiated logout: a browser visiting it ends the OP session.
    pub fn end_session_url(&self) -> String {
        format!("{}/session/end", self.issuer())
    }

    /// The OP's discovery document.
    pub async fn discovery(&self) -> Value {
        let body = reqwest::get(self.discovery_url())
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        serde_json::from_str(&body).unwrap()
    }

    /// What the OP has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for OpenIdProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = self.log();
            let lines: Vec<&str> = log.lines().collect();
            let tail = lines[lines.len().saturating_sub(40)..].join("\n");
            eprintln!(
                "--- last lines of the OP's log ({}) ---\n{tail}",
                self.log.display()
            );
        }
    }
}
