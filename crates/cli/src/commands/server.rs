//! `mxauth server`: lock an SQLite database against a second server,
//! migrate, bind every listener, serve until SIGTERM or SIGINT, then let
//! in-flight requests finish (at most 60 s, or until a second signal).

use std::{process::ExitCode, time::Duration};

use anyhow::{bail, Result};
use mxauth_server::{
    http::{bind_listeners, is_built, listener_router, resource_paths, serve_listeners},
    jobs::{run_worker, JobContext},
};
use mxauth_storage::{migrate, Database};
use tokio::signal::unix::{signal, SignalKind};

use super::{database, state, Context};
use crate::{args::ServerArgs, resolve, sqlite_lock};

pub async fn run(ctx: &Context, args: &ServerArgs) -> Result<ExitCode> {
    let started = std::time::Instant::now();
    let config = &ctx.config;
    let resolved = resolve::resolve(config)?;
    if !ctx.dev_mode {
        for issue in config.advice().into_iter().chain(config.unbuilt()) {
            tracing::warn!("{issue}");
        }
    }

    // Before anything touches the database: a second server on the same
    // SQLite file stops here.
    let _lock = sqlite_lock::lock(&resolved.database)?;
    let db = Database::connect(&resolved.database).await?;
    if args.no_migrate {
        if !migrate::pending(&db).await?.is_empty() {
            bail!("the database schema is not up to date and --no-migrate was given: run `mxauth database migrate`");
        }
    } else {
        database::apply(&db).await?;
    }

    if !args.no_sync {
        let synced = state::sync(config, &resolved, &db, false, false).await?;
        if !synced.clients.upserted.is_empty() || !synced.providers.upserted.is_empty() {
            tracing::info!(
                "synced {} static client(s) and {} upstream provider(s) from the configuration",
                synced.clients.upserted.len(),
                synced.providers.upserted.len()
            );
        }
    }
    // Introspection without a database round trip per request, on
    // PostgreSQL; revocations reach it through LISTEN/NOTIFY.
    if db.enable_token_cache().is_some() {
        tracing::info!("token cache on: invalidations arrive through PostgreSQL LISTEN/NOTIFY");
    }
    let state = state::build(config, resolved, db.clone())?;
    let (stop_worker, worker_stopped) = tokio::sync::watch::channel(false);
    let activity_stopped = worker_stopped.clone();
    let policy_stopped = worker_stopped.clone();
    let worker = (!args.no_worker).then(|| {
        let ctx = JobContext::from_state(&state);
        tokio::spawn(run_worker(ctx, worker_name(), worker_stopped))
    });
    // Session activity is written in batches, once a minute and at the end.
    let activity = {
        let (tracker, db) = (state.activity.clone(), db.clone());
        tokio::spawn(async move { tracker.run(db, activity_stopped).await })
    };
    // The admin-set policy data: read before serving (a version that no
    // longer fits the configuration is reported and left out), then once a
    // minute, as other instances may have stored a newer one.
    if let Err(e) = state.policy.refresh(&db).await {
        tracing::warn!("policy data: {e}");
    }
    let policy = tokio::spawn(
        state
            .policy
            .clone()
            .refresh_continuously(db.clone(), policy_stopped),
    );
    let listeners = &config.http.listeners;
    let bound = bind_listeners(listeners).await?;
    for socket in &bound {
        let listener = &listeners[socket.listener_index()];
        let prefix = listener.normalized_prefix();
        for resource in &listener.resources {
            if !is_built(resource.name) {
                continue;
            }
            for path in resource_paths(resource.name) {
                tracing::info!("serving {}{prefix}{path}", socket.display_base());
            }
        }
    }
    let routers = listeners
        .iter()
        .map(|listener| listener_router(listener, state.clone()))
        .collect();

    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!(
            "shutting down: finishing requests in flight (a second signal stops at once)"
        );
        let _ = stop.send(true);
        tokio::select! {
            () = wait_for_signal() => {}
            () = tokio::time::sleep(Duration::from_secs(60)) => {}
        }
        tracing::warn!("stopping without waiting for the remaining requests");
        std::process::exit(1);
    });
    tracing::info!(
        "mxauth {} ready in {} ms",
        env!("CARGO_PKG_VERSION"),
        started.elapsed().as_millis()
    );
    serve_listeners(bound, routers, &config.http.limits, stopped).await?;
    let _ = stop_worker.send(true);
    if let Some(worker) = worker {
        let _ = worker.await;
    }
    let _ = activity.await;
    let _ = policy.await;
    db.close().await;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// A name for this worker in the job table: host and process.
fn worker_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    format!("{}-{}", host.trim(), std::process::id())
}

/// `mxauth worker`: the job worker alone, until SIGTERM or SIGINT.
pub async fn worker(ctx: &Context) -> Result<ExitCode> {
    let resolved = resolve::resolve(&ctx.config)?;
    let _lock = sqlite_lock::lock(&resolved.database)?;
    let db = ctx.database().await?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let job_context = state::job_context(&ctx.config, resolved, db.clone())?;
    let worker = tokio::spawn(run_worker(job_context, worker_name(), stopped));
    wait_for_signal().await;
    tracing::info!("stopping the worker after the jobs in hand");
    let _ = stop.send(true);
    let _ = worker.await;
    db.close().await;
    Ok(ExitCode::SUCCESS)
}

async fn wait_for_signal() {
    let mut term = match signal(SignalKind::terminate()) {
        Ok(term) => term,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
