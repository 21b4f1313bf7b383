//! `login-burst`: N connections are opened first; then each sends one
//! password login at the same moment. Measured: the wall time until the
//! last answer, every login's latency, and (with the server's PID) its
//! memory just before, sampled during, and after the burst (argon2id
//! takes 19 MiB per hash; the server bounds how many run at once).

use std::{sync::Arc, time::Instant};

use tokio::sync::Barrier;

use crate::{
    compat::login_job,
    error::{Context, Result},
    http::Conn,
    load::{exchange, summarize, WorkerResult},
    prepare::Prepared,
    sampling::{CpuMark, Watch},
    scenarios::{Plan, Scenario, ScenarioResult, LOGIN_TIMEOUT},
};

pub async fn run(plan: &Plan, target: &Prepared) -> Result<ScenarioResult> {
    let count = plan.burst;
    let timeout = plan.timeout.max(LOGIN_TIMEOUT);
    let base = &target.target.base;
    let user = target.user().context("no user")?;
    // Everyone connected, then everyone sends.
    let connected = Arc::new(Barrier::new(count + 1));
    let go = Arc::new(Barrier::new(count + 1));
    let mut handles = Vec::with_capacity(count);
    for _ in 0..count {
        let (connected, go) = (connected.clone(), go.clone());
        let mut job = login_job(base, user);
        let addr = base.addr;
        handles.push(tokio::spawn(async move {
            let mut conn = Conn::new(addr);
            // A failed connect is tried again by the send, and counted there.
            let _ = tokio::time::timeout(timeout, conn.connect()).await;
            connected.wait().await;
            go.wait().await;
            let started = Instant::now();
            let (done, failure) = exchange(&mut conn, &mut job, timeout).await;
            WorkerResult::single(started, done, failure)
        }));
    }
    connected.wait().await;

    let pid = target.target.pid;
    let watch = Watch::start(pid)?;
    let cpu = pid.and_then(CpuMark::take);
    let released = Instant::now();
    go.wait().await;
    let mut results = Vec::with_capacity(count);
    for handle in handles {
        results.push(handle.await.context("a burst connection panicked")?);
    }
    let cpu = pid.and_then(|pid| cpu.and_then(|mark| mark.since(pid)));
    let server = match watch {
        Some(watch) => Some(watch.finish(cpu).await?),
        None => None,
    };
    Ok(ScenarioResult {
        scenario: Scenario::LoginBurst,
        connections: count,
        measured: summarize(results, released),
        server,
    })
}
