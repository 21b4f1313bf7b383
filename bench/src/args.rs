//! Command-line options (`--name value` or `--name=value`).

use std::path::PathBuf;

use crate::{
    database::DbKind,
    error::{Context, Error, Result},
    scenarios::Scenario,
};

pub const USAGE: &str = "\
mxauth-bench: load benchmark for mxauth (discovery, introspection, refresh,
compat login)

usage: mxauth-bench [options]

  --mxauth PATH        the mxauth binary [default: `mxauth` next to this binary]
  --database KIND      sqlite, postgres or both [default: both]; postgres uses
                       $DATABASE_URL (a fresh database is created and dropped)
                       and is skipped when it is unset
  --connections N      concurrent keep-alive connections [default: 32]
  --login-connections N  connections of compat-login [default: 8]
  --burst N            simultaneous logins of login-burst [default: 200]
  --seconds S          measured seconds per scenario [default: 20]
  --warmup S           unrecorded seconds before each scenario [default: 2]
  --timeout S          per-request timeout, counted as an error [default: 10]
  --scenarios LIST     comma-separated, from discovery, health, introspection,
                       compat-introspection, refresh, compat-login, login-burst
                       [default: all but health]; they always run in that order
  --results DIR        where the JSON summary goes [default: bench/results]
  --rust-log FILTER    RUST_LOG for the server [default: the server's own, info]
  --keep               keep the run directory (configs, SQLite file, server log)
  -h, --help           this text
";

pub struct Args {
    pub mxauth: PathBuf,
    pub databases: Vec<DbKind>,
    pub connections: usize,
    pub login_connections: usize,
    pub burst: usize,
    pub seconds: u64,
    pub warmup: u64,
    pub timeout: u64,
    pub scenarios: Vec<Scenario>,
    pub results: PathBuf,
    pub rust_log: Option<String>,
    pub keep: bool,
}

/// `None` for `--help`.
pub fn parse(mut argv: impl Iterator<Item = String>) -> Result<Option<Args>> {
    let mut args = Args {
        mxauth: default_mxauth(),
        databases: vec![DbKind::Sqlite, DbKind::Postgres],
        connections: 32,
        login_connections: 8,
        burst: 200,
        seconds: 20,
        warmup: 2,
        timeout: 10,
        scenarios: Scenario::DEFAULT.to_vec(),
        results: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("results"),
        rust_log: None,
        keep: false,
    };
    while let Some(arg) = argv.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| argv.next())
                .with_context(|| format!("{name} needs a value"))
        };
        match name.as_str() {
            "-h" | "--help" => return Ok(None),
            "--keep" => args.keep = true,
            "--mxauth" => args.mxauth = PathBuf::from(value()?),
            "--database" => {
                args.databases = match value()?.as_str() {
                    "sqlite" => vec![DbKind::Sqlite],
                    "postgres" | "postgresql" => vec![DbKind::Postgres],
                    "both" => vec![DbKind::Sqlite, DbKind::Postgres],
                    other => {
                        return crate::fail!("--database {other}: use sqlite, postgres or both")
                    }
                }
            }
            "--connections" => args.connections = number(&name, &value()?)?,
            "--login-connections" => args.login_connections = number(&name, &value()?)?,
            "--burst" => args.burst = number(&name, &value()?)?,
            "--seconds" => args.seconds = number(&name, &value()?)?,
            "--warmup" => args.warmup = number(&name, &value()?)?,
            "--timeout" => args.timeout = number(&name, &value()?)?,
            "--scenarios" => args.scenarios = scenarios(&value()?)?,
            "--results" => args.results = PathBuf::from(value()?),
            "--rust-log" => args.rust_log = Some(value()?),
            other => return crate::fail!("unknown argument {other:?}\n\n{USAGE}"),
        }
    }
    let counts = [args.connections, args.login_connections, args.burst];
    if counts.contains(&0) || args.seconds == 0 || args.timeout == 0 {
        return crate::fail!(
            "--connections, --login-connections, --burst, --seconds and --timeout must be at least 1"
        );
    }
    if !args.mxauth.is_file() {
        return crate::fail!(
            "no mxauth binary at {}: build it with `cargo build --release -p mxauth` or pass --mxauth",
            args.mxauth.display()
        );
    }
    Ok(Some(args))
}

fn number<T: std::str::FromStr>(name: &str, value: &str) -> Result<T> {
    value
        .parse()
        .map_err(|_| Error::msg(format!("{name} {value:?} is not a number")))
}

/// Known names, deduplicated, in the canonical order.
fn scenarios(list: &str) -> Result<Vec<Scenario>> {
    let mut chosen = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let scenario = Scenario::parse(name).with_context(|| {
            let known: Vec<&str> = Scenario::ALL.iter().map(|s| s.name()).collect();
            format!("unknown scenario {name:?}; known: {}", known.join(", "))
        })?;
        chosen.push(scenario);
    }
    if chosen.is_empty() {
        return crate::fail!("--scenarios is empty");
    }
    Ok(Scenario::ALL
        .into_iter()
        .filter(|s| chosen.contains(s))
        .collect())
}

/// `mxauth` in the directory of this binary (both are built into the same
/// target directory), else `target/release/mxauth`.
fn default_mxauth() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("mxauth")))
        .filter(|path| path.is_file())
        .unwrap_or_else(|| PathBuf::from("target/release/mxauth"))
}
