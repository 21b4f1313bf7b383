//! A private PostgreSQL cluster for tests that stop and restart the
//! database server: `initdb` into a temporary directory, `pg_ctl` to start
//! and stop it, removed when dropped. The shared server at 127.0.0.1:5432
//! serves every other test and is never touched. Needs the server binaries
//! of Debian's `postgresql` package (`/usr/lib/postgresql/*/bin`).

use std::{
    path::PathBuf,
    process::{Command, Stdio},
};

use crate::support::{free_port, skip_notice, temp_dir, TestDatabase};

pub struct PrivatePostgres {
    bin: PathBuf,
    dir: PathBuf,
    pub port: u16,
    /// `initdb` and `postgres` refuse to run as root: as root, the cluster
    /// runs as the `postgres` user.
    as_postgres_user: bool,
}

impl PrivatePostgres {
    /// An initialised, running cluster; `None` (with a notice) without the
    /// server binaries, a panic instead under `CI=true`.
    pub fn start() -> Option<Self> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .map(|version| version.path().join("bin"))
            .filter(|bin| bin.join("initdb").exists() && bin.join("pg_ctl").exists())
            .max();
        let Some(bin) = bin else {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("CI=true but PostgreSQL's server binaries (/usr/lib/postgresql/*/bin) are missing");
            }
            skip_notice("no /usr/lib/postgresql/*/bin/initdb (Debian's postgresql package): skipping a test that restarts PostgreSQL");
            return None;
        };
        let uid = Command::new("id").arg("-u").output().unwrap().stdout;
        let cluster = Self {
            bin,
            dir: temp_dir("pg-cluster"),
            port: free_port(),
            as_postgres_user: String::from_utf8_lossy(&uid).trim() == "0",
        };
        if cluster.as_postgres_user {
            let owned = Command::new("chown")
                .args(["postgres:"])
                .arg(&cluster.dir)
                .status()
                .unwrap();
            assert!(owned.success(), "chown of the cluster directory failed");
        }
        let data = cluster.dir.join("data");
        cluster.pg(cluster
            .tool("initdb")
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
            .arg(&data));
        cluster.start_again();
        Some(cluster)
    }

    fn tool(&self, name: &str) -> Command {
        let program = self.bin.join(name);
        if self.as_postgres_user {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }

    #[track_caller]
    fn pg(&self, command: &mut Command) {
        let out = command.stdout(Stdio::null()).output().unwrap();
        assert!(
            out.status.success(),
            "{command:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `pg_ctl` on this cluster with `args`, waiting for it to finish.
    fn pg_ctl(&self, args: &[&str]) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.dir.display()
        );
        self.pg(self
            .tool("pg_ctl")
            .arg("-D")
            .arg(self.dir.join("data"))
            .arg("-l")
            .arg(self.dir.join("log"))
            .args(["-o", &options, "-w", "-t", "30"])
            .args(args));
    }

    /// Starts the server; returns once it accepts connections.
    pub fn start_again(&self) {
        self.pg_ctl(&["start"]);
    }

    /// Stops the server in fast mode (clients are disconnected, open
    /// transactions roll back, a checkpoint is written); returns once it
    /// is down.
    pub fn stop_fast(&self) {
        self.pg_ctl(&["-m", "fast", "stop"]);
    }

    /// The cluster's own `postgres` database, for mxauth. It goes away
    /// with the cluster: do not call `drop_database` on it.
    pub fn database(&self) -> TestDatabase {
        let uri = format!("postgresql://postgres@127.0.0.1:{}/postgres", self.port);
        TestDatabase::Postgres {
            admin: uri.clone(),
            uri,
            name: "postgres".into(),
        }
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = self
            .tool("pg_ctl")
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
