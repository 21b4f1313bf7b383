//! What is measured beside the requests: CPU time of the server, of this
//! load generator, of PostgreSQL and of everything else between two marks,
//! and the server's highest `VmRSS` sampled every 50 ms.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use crate::{
    error::{Context, Result},
    procfs::{cpu_delta, cpu_time, cpu_times_named, memory, system_busy, Memory},
};

#[derive(Debug, Clone, Copy)]
pub struct CpuUse {
    pub server: Duration,
    /// This process: the load workers and the stub homeserver.
    pub client: Duration,
    /// The PostgreSQL server's processes (zero on SQLite, unless another
    /// client keeps them busy).
    pub database: Duration,
    /// Every other process on the machine: other work competing for the
    /// same cores makes a run noisy.
    pub others: Duration,
    pub wall: Duration,
}

/// CPU counters at one moment.
pub struct CpuMark {
    server: Duration,
    client: Duration,
    busy: Duration,
    database: HashMap<u32, Duration>,
    at: Instant,
}

impl CpuMark {
    pub fn take(pid: u32) -> Option<Self> {
        Some(Self {
            server: cpu_time(Some(pid)).ok()?,
            client: cpu_time(None).ok()?,
            busy: system_busy().ok()?,
            database: cpu_times_named("postgres"),
            at: Instant::now(),
        })
    }

    /// CPU used from this mark until now.
    pub fn since(&self, pid: u32) -> Option<CpuUse> {
        let server = cpu_time(Some(pid)).ok()?.saturating_sub(self.server);
        let client = cpu_time(None).ok()?.saturating_sub(self.client);
        let busy = system_busy().ok()?.saturating_sub(self.busy);
        let database = cpu_delta(&self.database, &cpu_times_named("postgres"));
        Some(CpuUse {
            server,
            client,
            database,
            others: busy.saturating_sub(server + client + database),
            wall: self.at.elapsed(),
        })
    }
}

/// CPU use between `from` and `to`.
pub async fn cpu_window(pid: u32, from: Instant, to: Instant) -> Option<CpuUse> {
    tokio::time::sleep_until(from.into()).await;
    let mark = CpuMark::take(pid)?;
    tokio::time::sleep_until(to.into()).await;
    mark.since(pid)
}

/// Samples the server's `VmRSS` until stopped.
pub struct RssSampler {
    running: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<u64>,
}

impl RssSampler {
    pub fn start(pid: u32) -> Self {
        let running = Arc::new(AtomicBool::new(true));
        let task = tokio::spawn(sample_rss(pid, running.clone()));
        Self { running, task }
    }

    /// The highest `VmRSS` seen, in KiB.
    pub async fn stop(self) -> Result<u64> {
        self.running.store(false, Ordering::Relaxed);
        self.task.await.context("the memory sampler panicked")
    }
}

async fn sample_rss(pid: u32, running: Arc<AtomicBool>) -> u64 {
    let mut max = 0;
    while running.load(Ordering::Relaxed) {
        if let Ok(m) = memory(pid) {
            max = max.max(m.rss_kb);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    max
}

/// The server's memory and CPU over a scenario, when its PID is known.
#[derive(Debug, Clone, Copy)]
pub struct ServerUse {
    /// `VmRSS` and `VmHWM` when the scenario started (for a burst: just
    /// before it).
    pub before: Memory,
    /// Highest `VmRSS` sampled during the run (every 50 ms), in KiB.
    pub rss_max_kb: u64,
    /// `VmRSS` and `VmHWM` at the end of the run.
    pub after: Memory,
    /// CPU time over the recorded window (a burst: from its start to its
    /// last answer).
    pub cpu: Option<CpuUse>,
}

impl ServerUse {
    /// The server's peak RSS during the scenario, in KiB: `VmHWM` when it
    /// rose meanwhile (then it is exact), else the highest sampled `VmRSS`.
    pub fn peak_kb(&self) -> u64 {
        if self.after.hwm_kb > self.before.hwm_kb {
            self.after.hwm_kb
        } else {
            self.rss_max_kb
        }
    }
}

/// Watches a server's memory from the start of a scenario to its end.
pub struct Watch {
    pid: u32,
    before: Memory,
    sampler: RssSampler,
}

impl Watch {
    /// `None` without a PID: nothing to watch.
    pub fn start(pid: Option<u32>) -> Result<Option<Self>> {
        let Some(pid) = pid else { return Ok(None) };
        Ok(Some(Self {
            pid,
            before: memory(pid)?,
            sampler: RssSampler::start(pid),
        }))
    }

    pub async fn finish(self, cpu: Option<CpuUse>) -> Result<ServerUse> {
        let after = memory(self.pid)?;
        let rss_max_kb = self.sampler.stop().await?;
        Ok(ServerUse {
            before: self.before,
            rss_max_kb: rss_max_kb.max(after.rss_kb),
            after,
            cpu,
        })
    }
}
