//! A server the bench starts itself (without `--target`): a run directory,
//! a database (an SQLite file or a fresh PostgreSQL database), a stub
//! homeserver of its own, `database migrate`, `register-user`, then
//! `mxauth server`. It becomes a target like any other, with its PID and
//! credentials known.

use std::{
    path::PathBuf,
    time::{Duration, SystemTime},
};

use crate::{
    args::Args,
    database::{BenchDatabase, DbKind},
    error::{Context, Result},
    homeserver::{Calls, StubHomeserver},
    server::{self, Server, MATRIX_SECRET, PASSWORD, USERNAME},
    summary,
    target::{BaseUrl, Credentials, Target},
};

/// A run directory under the system temp dir, removed on drop unless kept.
struct RunDir {
    path: PathBuf,
    keep: bool,
}

impl Drop for RunDir {
    fn drop(&mut self) {
        if self.keep {
            eprintln!("kept the run directory {}", self.path.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// A running server of the bench's own. Fields drop in order: the server
/// stops before its database is dropped and its directory removed.
pub struct LocalServer {
    server: Server,
    homeserver: StubHomeserver,
    database: BenchDatabase,
    dir: RunDir,
    pub kind: DbKind,
    /// From spawn to the first 200 on `/health`.
    pub startup: Duration,
}

impl LocalServer {
    /// `None` when the database is skipped (PostgreSQL without
    /// `DATABASE_URL`).
    pub async fn start(kind: DbKind, args: &Args, started: SystemTime) -> Result<Option<Self>> {
        let stamp = summary::timestamp(started).replace(':', "-");
        let mut dir = RunDir {
            path: std::env::temp_dir().join(format!(
                "mxauth-bench-{stamp}-{}-{kind}",
                std::process::id()
            )),
            keep: args.keep,
        };
        let database = match kind {
            DbKind::Sqlite => BenchDatabase::sqlite(&dir.path),
            DbKind::Postgres => match std::env::var("DATABASE_URL") {
                Ok(url) if !url.is_empty() => {
                    let name = format!(
                        "mxauth_bench_{}_{}",
                        stamp.to_lowercase().replace(['-', 't', 'z'], ""),
                        std::process::id()
                    );
                    BenchDatabase::postgres(&url, &name)?
                }
                _ => {
                    eprintln!("DATABASE_URL is not set: skipping the PostgreSQL run (e.g. DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test)");
                    return Ok(None);
                }
            },
        };
        std::fs::create_dir_all(&dir.path)
            .with_context(|| format!("creating {}", dir.path.display()))?;
        eprintln!("[{kind}] preparing: database migrate, register-user");
        let homeserver = StubHomeserver::start()?;
        let port = server::free_port()?;
        let configs = server::write_config(&dir.path, port, &database.uri, &homeserver.url())?;
        // Keep the directory (and its server.log) when anything fails.
        dir.keep = true;
        server::prepare(&args.mxauth, &configs)?;
        let log = dir.path.join("server.log");
        let server = Server::start(&args.mxauth, &configs, port, log, args.rust_log.as_deref())
            .await
            .with_context(|| format!("starting mxauth server on {kind}"))?;
        dir.keep = args.keep;
        let startup = server.startup;
        eprintln!(
            "[{kind}] server up in {:.0} ms on {}",
            startup.as_secs_f64() * 1000.0,
            server.base_url()
        );
        Ok(Some(Self {
            server,
            homeserver,
            database,
            dir,
            kind,
            startup,
        }))
    }

    /// The server as a target: its address, PID and the credentials the
    /// bench configured.
    pub fn target(&self) -> Result<Target> {
        Ok(Target {
            name: self.kind.name().to_owned(),
            base: BaseUrl::parse(&self.server.base_url())?,
            pid: Some(self.server.pid()),
            credentials: Credentials {
                homeserver_secret: Some(MATRIX_SECRET.to_owned()),
                client: None,
                user: Some((USERNAME.to_owned(), PASSWORD.to_owned())),
            },
            database: Some(self.kind),
        })
    }

    pub fn homeserver_calls(&self) -> Calls {
        self.homeserver.calls()
    }

    /// Stops the server and drops the database; `failed` keeps the run
    /// directory and prints the end of the server's log.
    pub fn finish(mut self, failed: bool) {
        self.server.stop();
        if failed {
            self.dir.keep = true;
            eprintln!(
                "[{}] some requests failed; the last lines of {}:\n{}",
                self.kind,
                self.server.log.display(),
                server::tail(&self.server.log)
            );
        }
        self.database.drop_now();
    }
}
