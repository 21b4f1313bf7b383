//! Command-line options (`--name value` or `--name=value`), and the `soak`
//! subcommand. Options that name what to authenticate with on a target
//! (`--homeserver-secret`, `--client-id`, …, `--target-pid`) take `VALUE`
//! for every target or `NAME=VALUE` for the target called NAME.

use std::{net::SocketAddr, path::PathBuf};

use crate::{
    database::DbKind,
    error::{Context, Error, Result},
    scenarios::Scenario,
    target::{parse_spec, BaseUrl, Credentials},
};

pub const USAGE: &str = "\
mxauth-bench: load benchmark for mxauth or any MSC3861 server (discovery,
introspection, refresh, compat login)

usage: mxauth-bench [options]          the scenarios, a table, JSON and a PNG chart
       mxauth-bench soak [options]     mixed traffic for --minutes against one server

Servers (without --target, the bench starts mxauth itself):
  --mxauth PATH        the mxauth binary [default: `mxauth` next to this binary]
  --database KIND      sqlite, postgres or both [default: both; soak: sqlite];
                       postgres uses $DATABASE_URL (a fresh database is created
                       and dropped) and is skipped when it is unset
  --target [NAME=]URL  a running server's public base URL (http://), repeatable:
                       several are measured side by side, scenario by scenario
  --target-pid [NAME=]PID      its process on this machine: memory and CPU columns
  --homeserver-secret [NAME=]S its matrix.secret: bearer for /oauth2/introspect
  --client-id [NAME=]ID, --client-secret [NAME=]S
                       a confidential client to introspect with (client_secret_basic)
  --username [NAME=]U, --password [NAME=]P
                       an existing user: compat logins and the authorization flow
  --stub-homeserver ADDR  start the stub homeserver on ADDR (e.g. 127.0.0.1:8008)
                       for targets whose matrix.endpoint points there

Load:
  --connections N      concurrent keep-alive connections [default: 32; soak: 16]
  --login-connections N  connections of compat-login [default: 8]
  --burst N            simultaneous logins of login-burst [default: 200]
  --seconds S          measured seconds per scenario [default: 20]
  --warmup S           unrecorded seconds before each scenario [default: 2]
  --timeout S          per-request timeout, counted as an error [default: 10]
  --scenarios LIST     comma-separated, from discovery, health, introspection,
                       compat-introspection, refresh, compat-login, login-burst
                       [default: all but health]; they always run in that order
  --minutes M          soak: how long [default: 30]
  --sample-seconds S   soak: sampling period [default: 10]

Output:
  --results DIR        JSON, CSV and PNG files [default: bench/results]
  --rust-log FILTER    RUST_LOG for a server the bench starts [default: its own]
  --keep               keep the run directory (configs, SQLite file, server log)
  -h, --help           this text
";

/// `VALUE` for every target, or `NAME=VALUE` for one.
#[derive(Debug, Clone, Default)]
pub struct PerTarget {
    raw: Vec<String>,
}

impl PerTarget {
    /// The value for `target`: the last `NAME=VALUE` naming it, else the
    /// last value that names no known target.
    pub fn get(&self, target: &str, names: &[String]) -> Option<String> {
        let named = self.raw.iter().rev().find_map(|raw| {
            let (name, value) = raw.split_once('=')?;
            (name == target).then(|| value.to_owned())
        });
        named.or_else(|| {
            self.raw
                .iter()
                .rev()
                .find(|raw| {
                    raw.split_once('=')
                        .is_none_or(|(name, _)| !names.iter().any(|n| n == name))
                })
                .cloned()
        })
    }
}

/// The target options as given.
#[derive(Debug, Clone, Default)]
pub struct TargetArgs {
    pub specs: Vec<(String, BaseUrl)>,
    pub pid: PerTarget,
    pub homeserver_secret: PerTarget,
    pub client_id: PerTarget,
    pub client_secret: PerTarget,
    pub username: PerTarget,
    pub password: PerTarget,
}

impl TargetArgs {
    fn names(&self) -> Vec<String> {
        self.specs.iter().map(|(name, _)| name.clone()).collect()
    }

    /// The credentials of the target called `name`.
    pub fn credentials(&self, name: &str) -> Result<Credentials> {
        let names = self.names();
        let get = |option: &PerTarget| option.get(name, &names);
        let pair = |a: Option<String>, b: Option<String>, what: &str| match (a, b) {
            (Some(a), Some(b)) => Ok(Some((a, b))),
            (None, None) => Ok(None),
            _ => crate::fail!("target {name}: {what} go together"),
        };
        Ok(Credentials {
            homeserver_secret: get(&self.homeserver_secret),
            client: pair(
                get(&self.client_id),
                get(&self.client_secret),
                "--client-id and --client-secret",
            )?,
            user: pair(
                get(&self.username),
                get(&self.password),
                "--username and --password",
            )?,
        })
    }

    pub fn pid(&self, name: &str) -> Result<Option<u32>> {
        self.pid
            .get(name, &self.names())
            .map(|pid| number("--target-pid", &pid))
            .transpose()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Bench,
    Soak,
}

pub struct Args {
    pub mode: Mode,
    pub mxauth: PathBuf,
    pub databases: Vec<DbKind>,
    pub targets: TargetArgs,
    pub stub_homeserver: Option<SocketAddr>,
    pub connections: usize,
    pub login_connections: usize,
    pub burst: usize,
    pub seconds: u64,
    pub warmup: u64,
    pub timeout: u64,
    pub scenarios: Vec<Scenario>,
    pub minutes: f64,
    pub sample_seconds: u64,
    pub results: PathBuf,
    pub rust_log: Option<String>,
    pub keep: bool,
}

/// `None` for `--help`.
pub fn parse(argv: impl Iterator<Item = String>) -> Result<Option<Args>> {
    let mut argv = argv.peekable();
    let mode = if argv.peek().is_some_and(|a| a == "soak") {
        argv.next();
        Mode::Soak
    } else {
        Mode::Bench
    };
    let soak = mode == Mode::Soak;
    let mut args = Args {
        mode,
        mxauth: default_mxauth(),
        databases: if soak {
            vec![DbKind::Sqlite]
        } else {
            vec![DbKind::Sqlite, DbKind::Postgres]
        },
        targets: TargetArgs::default(),
        stub_homeserver: None,
        connections: if soak { 16 } else { 32 },
        login_connections: 8,
        burst: 200,
        seconds: 20,
        warmup: 2,
        timeout: 10,
        scenarios: Scenario::DEFAULT.to_vec(),
        minutes: 30.0,
        sample_seconds: 10,
        results: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("results"),
        rust_log: None,
        keep: false,
    };
    let mut database_given = false;
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
        let t = &mut args.targets;
        match name.as_str() {
            "-h" | "--help" => return Ok(None),
            "--keep" => args.keep = true,
            "--mxauth" => args.mxauth = PathBuf::from(value()?),
            "--database" => {
                database_given = true;
                args.databases = databases(&value()?)?;
            }
            "--target" => t.specs.push(parse_spec(&value()?)?),
            "--target-pid" => t.pid.raw.push(value()?),
            "--homeserver-secret" => t.homeserver_secret.raw.push(value()?),
            "--client-id" => t.client_id.raw.push(value()?),
            "--client-secret" => t.client_secret.raw.push(value()?),
            "--username" => t.username.raw.push(value()?),
            "--password" => t.password.raw.push(value()?),
            "--stub-homeserver" => {
                let addr = value()?;
                args.stub_homeserver = Some(
                    addr.parse()
                        .with_context(|| format!("--stub-homeserver {addr}: expected IP:PORT"))?,
                );
            }
            "--connections" => args.connections = number(&name, &value()?)?,
            "--login-connections" => args.login_connections = number(&name, &value()?)?,
            "--burst" => args.burst = number(&name, &value()?)?,
            "--seconds" => args.seconds = number(&name, &value()?)?,
            "--warmup" => args.warmup = number(&name, &value()?)?,
            "--timeout" => args.timeout = number(&name, &value()?)?,
            "--scenarios" => args.scenarios = scenarios(&value()?)?,
            "--minutes" => args.minutes = number(&name, &value()?)?,
            "--sample-seconds" => args.sample_seconds = number(&name, &value()?)?,
            "--results" => args.results = PathBuf::from(value()?),
            "--rust-log" => args.rust_log = Some(value()?),
            other => return crate::fail!("unknown argument {other:?}\n\n{USAGE}"),
        }
    }
    check(&args, database_given)?;
    Ok(Some(args))
}

fn check(args: &Args, database_given: bool) -> Result<()> {
    let counts = [args.connections, args.login_connections, args.burst];
    if counts.contains(&0) || args.seconds == 0 || args.timeout == 0 || args.sample_seconds == 0 {
        return crate::fail!(
            "--connections, --login-connections, --burst, --seconds, --timeout and --sample-seconds must be at least 1"
        );
    }
    if !(args.minutes > 0.0 && args.minutes.is_finite()) {
        return crate::fail!("--minutes must be more than 0");
    }
    let names = args.targets.names();
    for (i, name) in names.iter().enumerate() {
        if names[..i].contains(name) {
            return crate::fail!("two targets are called {name}: name them with --target NAME=URL");
        }
        args.targets.credentials(name)?;
        args.targets.pid(name)?;
    }
    if args.mode == Mode::Soak && (names.len() > 1 || args.databases.len() > 1) {
        return crate::fail!("soak runs against one server: one --target, or one --database");
    }
    if names.is_empty() {
        if args.stub_homeserver.is_some() {
            return crate::fail!("--stub-homeserver is for --target servers; the bench gives the servers it starts a stub of their own");
        }
        if !args.mxauth.is_file() {
            return crate::fail!(
                "no mxauth binary at {}: build it with `cargo build --release -p mxauth` or pass --mxauth (or measure a running server with --target)",
                args.mxauth.display()
            );
        }
    } else if database_given {
        return crate::fail!(
            "--database starts servers of the bench's own; it does not go with --target"
        );
    }
    Ok(())
}

fn databases(value: &str) -> Result<Vec<DbKind>> {
    Ok(match value {
        "sqlite" => vec![DbKind::Sqlite],
        "postgres" | "postgresql" => vec![DbKind::Postgres],
        "both" => vec![DbKind::Sqlite, DbKind::Postgres],
        other => return crate::fail!("--database {other}: use sqlite, postgres or both"),
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_args(list: &[&str]) -> Result<Option<Args>> {
        parse(list.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn targets_get_their_own_or_the_common_values() {
        let args = parse_args(&[
            "--target",
            "a=http://127.0.0.1:1/",
            "--target=b=http://127.0.0.1:2/",
            "--homeserver-secret",
            "common=with=equals",
            "--homeserver-secret",
            "b=only-b",
            "--username",
            "alice",
            "--password",
            "pw",
            "--target-pid",
            "a=42",
        ])
        .unwrap()
        .unwrap();
        let t = &args.targets;
        let a = t.credentials("a").unwrap();
        assert_eq!(a.homeserver_secret.as_deref(), Some("common=with=equals"));
        assert_eq!(a.user, Some(("alice".to_owned(), "pw".to_owned())));
        let b = t.credentials("b").unwrap();
        assert_eq!(b.homeserver_secret.as_deref(), Some("only-b"));
        assert_eq!(b.client, None);
        assert_eq!(t.pid("a").unwrap(), Some(42));
        assert_eq!(t.pid("b").unwrap(), None);
    }

    #[test]
    fn refuses_what_does_not_fit() {
        let two = [
            "--target",
            "http://127.0.0.1:1/",
            "--target",
            "http://127.0.0.1:1/",
        ];
        assert!(parse_args(&two).is_err(), "two targets with one name");
        let half = ["--target", "http://127.0.0.1:1/", "--client-id", "x"];
        assert!(parse_args(&half).is_err(), "a client id without its secret");
        let pid = ["--target", "http://127.0.0.1:1/", "--target-pid", "me"];
        assert!(parse_args(&pid).is_err(), "a PID that is not a number");
        let both = ["--target", "http://127.0.0.1:1/", "--database", "sqlite"];
        assert!(parse_args(&both).is_err(), "--database with --target");
        let soak = [
            "soak",
            "--target",
            "a=http://127.0.0.1:1/",
            "--target",
            "b=http://127.0.0.1:2/",
        ];
        assert!(parse_args(&soak).is_err(), "a soak of two servers");
        let ok = [
            "soak",
            "--target",
            "http://127.0.0.1:1/",
            "--minutes",
            "2.5",
        ];
        let args = parse_args(&ok).unwrap().unwrap();
        assert_eq!(args.mode, Mode::Soak);
        assert!((args.minutes - 2.5).abs() < 1e-9);
        assert_eq!(args.connections, 16);
    }
}
