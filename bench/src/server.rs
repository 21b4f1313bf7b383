//! The mxauth process under test: its config files (MAS's sample plus an
//! override, as the CLI tests write them), `database migrate` and
//! `manage register-user`, then `mxauth server` started, timed to its first
//! 200 on `/health`, and stopped with SIGTERM.

use std::{
    fs::File,
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use crate::{
    error::{Context, Result},
    http::{request, Conn},
};

/// MAS 1.22's generated sample config, shared with the CLI tests.
const SAMPLE: &str = include_str!("../../crates/cli/tests/fixtures/mas-config-sample.yaml");

/// The homeserver's shared secret, set in the override (introspection uses it).
pub const MATRIX_SECRET: &str = "bench-homeserver-secret-0123456789";
pub const USERNAME: &str = "alice";
pub const PASSWORD: &str = "correct horse battery staple";

/// A port that was free a moment ago.
pub fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// Writes `base.yaml` (the sample) and `override.yaml` into `dir`; the
/// homeserver API is at `homeserver_url` (the stub), login rate limits are
/// out of the way of the load.
pub fn write_config(
    dir: &Path,
    port: u16,
    database_uri: &str,
    homeserver_url: &str,
) -> Result<Vec<PathBuf>> {
    let base = dir.join("base.yaml");
    std::fs::write(&base, SAMPLE).with_context(|| format!("writing {}", base.display()))?;
    let over = dir.join("override.yaml");
    let text = format!(
        "http:
  public_base: \"http://127.0.0.1:{port}/\"
  issuer: \"http://127.0.0.1:{port}/\"
  listeners:
    - name: web
      resources: [{{name: discovery}}, {{name: human}}, {{name: oauth}}, {{name: compat}}, {{name: health}}]
      binds: [{{address: \"127.0.0.1:{port}\"}}]
database:
  uri: \"{database_uri}\"
matrix:
  homeserver: example.com
  secret: \"{MATRIX_SECRET}\"
  endpoint: \"{homeserver_url}\"
rate_limiting:
  login:
    per_ip: {{burst: 1000000, per_second: 1000000}}
    per_account: {{burst: 1000000, per_second: 1000000}}
passwords:
  minimum_complexity: 0
experimental:
  access_token_ttl: 3600
"
    );
    std::fs::write(&over, text).with_context(|| format!("writing {}", over.display()))?;
    Ok(vec![base, over])
}

fn mxauth(binary: &Path, configs: &[PathBuf]) -> Command {
    let mut command = Command::new(binary);
    command.env_remove("MXAUTH_CONFIG").env_remove("MAS_CONFIG");
    for file in configs {
        command.arg("-c").arg(file);
    }
    command
}

/// Runs one `mxauth` command to completion; fails with its stderr.
fn run(binary: &Path, configs: &[PathBuf], args: &[&str]) -> Result<()> {
    let output = mxauth(binary, configs)
        .args(args)
        .output()
        .with_context(|| format!("running {}", binary.display()))?;
    if output.status.success() {
        Ok(())
    } else {
        crate::fail!(
            "`mxauth {}` failed ({}):\n{}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )
    }
}

/// Migrates the database and creates the user the logins use.
pub fn prepare(binary: &Path, configs: &[PathBuf]) -> Result<()> {
    run(binary, configs, &["database", "migrate"])?;
    run(
        binary,
        configs,
        &["manage", "register-user", USERNAME, "-p", PASSWORD, "-y"],
    )
}

/// A running `mxauth server`, stopped when dropped.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    /// From spawn to the first 200 on `/health`.
    pub startup: Duration,
    pub log: PathBuf,
}

impl Server {
    /// Starts the server with its stderr in `log` and waits (at most 30 s)
    /// for `/health` to answer 200. `rust_log` overrides the server's
    /// default log filter.
    pub async fn start(
        binary: &Path,
        configs: &[PathBuf],
        port: u16,
        log: PathBuf,
        rust_log: Option<&str>,
    ) -> Result<Self> {
        let log_file = File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let mut command = mxauth(binary, configs);
        command
            .arg("server")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file);
        match rust_log {
            Some(filter) => command.env("RUST_LOG", filter),
            None => command.env_remove("RUST_LOG"),
        };
        let started = Instant::now();
        let child = command
            .spawn()
            .with_context(|| format!("starting {} server", binary.display()))?;
        let mut server = Self {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            startup: Duration::ZERO,
            log,
        };
        let health = request("GET", "/health", &server.host(), &[], None);
        loop {
            let mut conn = Conn::new(server.addr);
            if let Ok(response) = conn.send(&health).await {
                if response.status == 200 {
                    server.startup = started.elapsed();
                    return Ok(server);
                }
            }
            if let Some(status) = server.child.try_wait()? {
                return crate::fail!(
                    "mxauth server exited ({status}) before answering; see {}:\n{}",
                    server.log.display(),
                    tail(&server.log)
                );
            }
            if started.elapsed() > Duration::from_secs(30) {
                return crate::fail!(
                    "mxauth server did not answer 200 on /health within 30 s; see {}",
                    server.log.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The `Host` header value.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    pub fn base_url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// SIGTERM, then SIGKILL after 10 s.
    pub fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!("warning: mxauth did not stop within 10 s of SIGTERM; killing it");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The last lines of a log, for error messages.
pub fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}
