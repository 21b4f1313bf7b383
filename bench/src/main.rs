//! `mxauth-bench`: measures mxauth, or any MSC3861 server given by its URL
//! (`--target`), side by side: discovery, introspection, refresh and the
//! legacy login API with N keep-alive connections; prints a table per
//! target, writes a JSON summary and a PNG chart. Without `--target` it
//! starts `mxauth server` on SQLite and/or PostgreSQL itself (with a stub
//! homeserver). `mxauth-bench soak` drives mixed traffic against one
//! server for a long time and samples its memory. See bench/README.md.

mod args;
mod burst;
mod canvas;
mod chart;
mod compat;
mod database;
mod error;
mod form;
mod homeserver;
mod html;
mod http;
mod jobs;
mod load;
mod local;
mod measure;
mod prepare;
mod procfs;
mod report;
mod sampling;
mod scenarios;
mod server;
mod setup;
mod soak;
mod soak_chart;
mod summary;
mod target;
mod targets;

use std::{
    process::ExitCode,
    time::{Duration, SystemTime},
};

use args::{Args, Mode};
use error::{Context, Result};
use homeserver::StubHomeserver;
use local::LocalServer;
use target::Target;

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
            code = run(&args) => code,
            _ = tokio::signal::ctrl_c() => {
                eprintln!("\ninterrupted: stopping the servers and dropping their databases");
                ExitCode::from(130)
            }
        }
    });
    // Workers still running after an interrupt are simply dropped.
    runtime.shutdown_timeout(Duration::from_secs(1));
    code
}

async fn run(args: &Args) -> ExitCode {
    let started = SystemTime::now();
    let mut locals = Vec::new();
    let outcome = measure_all(args, started, &mut locals).await;
    let failed = match &outcome {
        Ok(ok) => !ok,
        Err(e) => {
            eprintln!("error: {e}");
            true
        }
    };
    for local in locals {
        local.finish(failed);
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Starts the servers of the bench's own (into `locals`, stopped by the
/// caller) or takes the `--target`s, then runs the mode. `Ok(false)` when
/// requests failed.
async fn measure_all(
    args: &Args,
    started: SystemTime,
    locals: &mut Vec<LocalServer>,
) -> Result<bool> {
    let mut targets = Vec::new();
    let mut startups = Vec::new();
    let shared_stub = match args.stub_homeserver {
        Some(addr) => {
            let stub = StubHomeserver::start_on(addr)?;
            eprintln!("stub homeserver on {}", stub.url());
            Some(stub)
        }
        None => None,
    };
    if args.targets.specs.is_empty() {
        for &kind in &args.databases {
            if let Some(local) = LocalServer::start(kind, args, started).await? {
                let target = local.target()?;
                startups.push((target.name.clone(), local.startup));
                targets.push(target);
                locals.push(local);
            }
        }
        if targets.is_empty() {
            return crate::fail!("no server to measure");
        }
    } else {
        for (name, base) in &args.targets.specs {
            targets.push(Target {
                name: name.clone(),
                base: base.clone(),
                pid: args.targets.pid(name)?,
                credentials: args.targets.credentials(name)?,
                database: None,
            });
        }
    }
    match args.mode {
        Mode::Soak => {
            let target = targets.pop().context("one server to soak")?;
            soak::run(target, args, started).await
        }
        Mode::Bench => {
            let mut reports = measure::run(targets, args, &startups).await?;
            for (report, local) in reports.iter_mut().zip(locals.iter()) {
                report.homeserver_calls = Some(local.homeserver_calls());
            }
            for report in &reports {
                println!("{}", report::table(report, args));
            }
            if reports.len() > 1 {
                println!("{}", report::side_by_side(&reports));
            }
            let shared_calls = shared_stub.as_ref().map(StubHomeserver::calls);
            if let Some(calls) = &shared_calls {
                println!("stub homeserver answered: {}", report::calls_line(calls));
            }
            let json = summary::write_json(&reports, args, started, shared_calls.as_ref())?;
            println!("JSON summary: {}", json.display());
            let png = json.with_extension("png");
            let names: Vec<&str> = reports.iter().map(|r| r.name.as_str()).collect();
            let title = format!(
                "mxauth-bench {} ({})",
                summary::timestamp(started),
                names.join(" vs ")
            );
            chart::write(&reports, &title, &png)?;
            println!("chart: {}", png.display());
            let errors = reports
                .iter()
                .flat_map(|r| &r.results)
                .any(|r| r.measured.errors.count > 0);
            Ok(!errors && !reports.iter().any(|r| r.setup_failed))
        }
    }
}
