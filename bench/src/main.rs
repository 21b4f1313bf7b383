//! `mxauth-bench`: starts `mxauth server` on SQLite and/or PostgreSQL (with
//! a stub homeserver), sets up a client and sessions over HTTP, and loads
//! discovery, introspection, refresh and the legacy login API with N
//! keep-alive connections; prints a table per database and writes a JSON
//! summary. See bench/README.md.

mod args;
mod burst;
mod compat;
mod database;
mod error;
mod form;
mod homeserver;
mod http;
mod jobs;
mod load;
mod procfs;
mod report;
mod sampling;
mod scenarios;
mod server;
mod setup;
mod summary;
mod targets;

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
    time::{Duration, Instant, SystemTime},
};

use args::Args;
use database::{BenchDatabase, DbKind};
use error::{Context, Result};
use homeserver::StubHomeserver;
use procfs::memory;
use report::RunReport;
use scenarios::Plan;
use server::Server;

fn main() -> ExitCode {
    let args = match args::parse(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            print!("{}", args::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(async {
        tokio::select! {
            code = run_all(&args) => code,
            _ = tokio::signal::ctrl_c() => {
                eprintln!("\ninterrupted: stopping the server and dropping the database");
                ExitCode::from(130)
            }
        }
    });
    // Workers still running after an interrupt are simply dropped.
    runtime.shutdown_timeout(Duration::from_secs(1));
    code
}

async fn run_all(args: &Args) -> ExitCode {
    let started = SystemTime::now();
    let mut reports = Vec::new();
    let mut failed = false;
    for &kind in &args.databases {
        match run_database(kind, args, started).await {
            Ok(Some(report)) => {
                println!("{}", report::table(&report, args));
                reports.push(report);
            }
            Ok(None) => {}
            Err(e) => {
                eprintln!("error: the {kind} run failed: {e}");
                failed = true;
            }
        }
    }
    if !reports.is_empty() {
        match summary::write_json(&reports, args, started) {
            Ok(path) => println!("JSON summary: {}", path.display()),
            Err(e) => {
                eprintln!("error: {e}");
                failed = true;
            }
        }
    }
    if failed || reports.is_empty() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

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

/// One database: `None` when it is skipped. The run directory is kept
/// when asked, and when something failed (it holds the server log).
async fn run_database(kind: DbKind, args: &Args, started: SystemTime) -> Result<Option<RunReport>> {
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
    let outcome = run_on(database, args, &dir.path).await;
    let failed = match &outcome {
        Ok(report) => report.results.iter().any(|r| r.measured.errors.count > 0),
        Err(_) => true,
    };
    if failed {
        dir.keep = true;
    }
    outcome.map(Some)
}

async fn run_on(mut database: BenchDatabase, args: &Args, dir: &Path) -> Result<RunReport> {
    let kind = database.kind;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    eprintln!("[{kind}] preparing: database migrate, register-user");
    let homeserver = StubHomeserver::start()?;
    let port = server::free_port()?;
    let configs = server::write_config(dir, port, &database.uri, &homeserver.url())?;
    server::prepare(&args.mxauth, &configs)?;

    let load_before = procfs::load_average();
    let log = dir.join("server.log");
    let mut server = Server::start(&args.mxauth, &configs, port, log, args.rust_log.as_deref())
        .await
        .context("starting mxauth server")?;
    let startup = server.startup;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle = memory(server.pid())?;
    eprintln!(
        "[{kind}] server up in {:.0} ms on {}; setting up {} sessions",
        startup.as_secs_f64() * 1000.0,
        server.base_url(),
        args.connections
    );

    let setup_started = Instant::now();
    let setup = setup::run(server.addr, args.connections)
        .await
        .context("setup over HTTP")?;
    let setup_time = setup_started.elapsed();
    let after_setup = memory(server.pid())?;

    let plan = Plan {
        addr: server.addr,
        pid: server.pid(),
        connections: args.connections,
        login_connections: args.login_connections,
        burst: args.burst,
        warmup: Duration::from_secs(args.warmup),
        duration: Duration::from_secs(args.seconds),
        timeout: Duration::from_secs(args.timeout),
    };
    let mut results = Vec::new();
    for &scenario in &args.scenarios {
        if scenario == scenarios::Scenario::LoginBurst {
            eprintln!(
                "[{kind}] {}: {} logins at once",
                scenario.name(),
                args.burst
            );
        } else {
            eprintln!(
                "[{kind}] {}: {} connections, {} s warm-up + {} s",
                scenario.name(),
                plan.connections_for(scenario),
                args.warmup,
                args.seconds
            );
        }
        let result = scenarios::run(scenario, &plan, &setup)
            .await
            .with_context(|| format!("scenario {}", scenario.name()))?;
        results.push(result);
    }
    server.stop();
    if results.iter().any(|r| r.measured.errors.count > 0) {
        eprintln!(
            "[{kind}] some requests failed; the last lines of {}:\n{}",
            server.log.display(),
            server::tail(&server.log)
        );
    }
    drop(server);
    database.drop_now();
    Ok(RunReport {
        homeserver_calls: homeserver.calls(),
        database: kind,
        load_before,
        startup,
        idle,
        setup_time,
        after_setup,
        results,
    })
}
