//! The scenarios: what each connection sends, how answers are checked, and
//! one run of a scenario with the server's memory sampled alongside.
//!
//! - `discovery`: `GET /.well-known/openid-configuration`, no database (the
//!   ceiling of this machine, server and client together);
//! - `health`: `GET /health`, one `SELECT`;
//! - `introspection`: `POST /oauth2/introspect` as the homeserver, one
//!   access token per connection, every answer must be `"active":true`;
//! - `refresh`: `POST /oauth2/token` with `grant_type=refresh_token`, each
//!   connection rotating its own refresh token.

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use serde_json::Value;

use crate::{
    error::{Context, Result},
    http::{request, Response},
    load::{summarize, worker, Job, Measured, Window},
    procfs::{cpu_delta, cpu_time, cpu_times_named, memory, system_busy, Memory},
    server::MATRIX_SECRET,
    setup::{introspect_body, refresh_body, Setup},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    Discovery,
    Health,
    Introspection,
    Refresh,
}

impl Scenario {
    pub const ALL: [Scenario; 4] = [
        Self::Discovery,
        Self::Health,
        Self::Introspection,
        Self::Refresh,
    ];
    pub const DEFAULT: [Scenario; 3] = [Self::Discovery, Self::Introspection, Self::Refresh];

    pub fn name(self) -> &'static str {
        match self {
            Self::Discovery => "discovery",
            Self::Health => "health",
            Self::Introspection => "introspection",
            Self::Refresh => "refresh",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }
}

const FORM: &str = "application/x-www-form-urlencoded";

/// The same request every time, answered 200, optionally containing a
/// marker.
struct Fixed {
    bytes: Vec<u8>,
    must_contain: Option<&'static [u8]>,
}

impl Job for Fixed {
    fn request(&mut self) -> &[u8] {
        &self.bytes
    }

    fn check(&mut self, response: &Response) -> Result<(), String> {
        if response.status != 200 {
            return Err(format!("status {}", response.status));
        }
        match self.must_contain {
            Some(marker) if !response.body.windows(marker.len()).any(|w| w == marker) => {
                Err("unexpected body".to_owned())
            }
            _ => Ok(()),
        }
    }
}

/// A refresh-token chain: each answer's refresh token is the next one sent.
struct Refresh {
    host: String,
    client_id: String,
    bytes: Vec<u8>,
}

impl Refresh {
    fn new(host: String, client_id: String, token: &str) -> Self {
        let mut job = Self {
            host,
            client_id,
            bytes: Vec::new(),
        };
        job.set_token(token);
        job
    }

    fn set_token(&mut self, token: &str) {
        let body = refresh_body(&self.client_id, token);
        self.bytes = request(
            "POST",
            "/oauth2/token",
            &self.host,
            &[("Accept", "application/json")],
            Some((FORM, body.as_bytes())),
        );
    }
}

impl Job for Refresh {
    fn request(&mut self) -> &[u8] {
        &self.bytes
    }

    fn check(&mut self, response: &Response) -> Result<(), String> {
        if response.status != 200 {
            return Err(format!("status {}", response.status));
        }
        let answer: Value =
            serde_json::from_slice(&response.body).map_err(|_| "body is not JSON".to_owned())?;
        let next = answer["refresh_token"]
            .as_str()
            .ok_or_else(|| "no refresh_token in the answer".to_owned())?;
        self.set_token(next);
        Ok(())
    }
}

/// A scenario's numbers and the server's memory meanwhile.
#[derive(Debug, Clone)]
pub struct ScenarioResult {
    pub scenario: Scenario,
    pub measured: Measured,
    /// Highest `VmRSS` sampled during the run (every 50 ms).
    pub rss_max_kb: u64,
    /// `VmRSS` and `VmHWM` at the end of the run.
    pub after: Memory,
    /// CPU time of the server and of this load generator over the recorded
    /// window.
    pub cpu: Option<CpuUse>,
}

#[derive(Debug, Clone, Copy)]
pub struct CpuUse {
    pub server: Duration,
    pub client: Duration,
    /// The PostgreSQL server's processes (zero on SQLite, unless another
    /// client keeps them busy).
    pub database: Duration,
    /// Every other process on the machine: other work competing for the
    /// same cores makes a run noisy.
    pub others: Duration,
    pub wall: Duration,
}

pub struct Plan {
    pub addr: SocketAddr,
    pub pid: u32,
    pub connections: usize,
    pub warmup: Duration,
    pub duration: Duration,
    pub timeout: Duration,
}

/// Runs one scenario. `setup` must hold a session per connection. Refresh
/// moves each session's token chain on (and may end its older access
/// tokens), so it runs once and last: the arguments keep that order.
pub async fn run(scenario: Scenario, plan: &Plan, setup: &Setup) -> Result<ScenarioResult> {
    let host = plan.addr.to_string();
    let start = Instant::now();
    let window = Window {
        record_from: start + plan.warmup,
        stop_at: start + plan.warmup + plan.duration,
        timeout: plan.timeout,
    };
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = tokio::spawn(sample_rss(plan.pid, sampling.clone()));
    let cpu = tokio::spawn(cpu_window(plan.pid, window.record_from, window.stop_at));

    let mut handles = Vec::with_capacity(plan.connections);
    for i in 0..plan.connections {
        let handle = match scenario {
            Scenario::Discovery | Scenario::Health => {
                let path = match scenario {
                    Scenario::Health => "/health",
                    _ => "/.well-known/openid-configuration",
                };
                let job = Fixed {
                    bytes: request("GET", path, &host, &[("Accept", "application/json")], None),
                    must_contain: None,
                };
                tokio::spawn(worker(plan.addr, job, window))
            }
            Scenario::Introspection => {
                let tokens = setup.sessions.get(i).context("a session per connection")?;
                let body = introspect_body(&tokens.access);
                let authorization = format!("Bearer {MATRIX_SECRET}");
                let job = Fixed {
                    bytes: request(
                        "POST",
                        "/oauth2/introspect",
                        &host,
                        &[
                            ("Authorization", &authorization),
                            ("X-MAS-Supports-Device-Id", "1"),
                            ("Accept", "application/json"),
                        ],
                        Some((FORM, body.as_bytes())),
                    ),
                    must_contain: Some(b"\"active\":true"),
                };
                tokio::spawn(worker(plan.addr, job, window))
            }
            Scenario::Refresh => {
                let tokens = setup.sessions.get(i).context("a session per connection")?;
                let job = Refresh::new(host.clone(), setup.client_id.clone(), &tokens.refresh);
                tokio::spawn(worker(plan.addr, job, window))
            }
        };
        handles.push(handle);
    }
    let mut results = Vec::with_capacity(handles.len());
    for handle in handles {
        results.push(handle.await.context("a load worker panicked")?);
    }
    let measured = summarize(results, window.record_from);
    sampling.store(false, Ordering::Relaxed);
    let rss_max_kb = sampler.await.context("the memory sampler panicked")?;
    let after = memory(plan.pid)?;
    let cpu = cpu.await.context("the CPU sampler panicked")?;
    Ok(ScenarioResult {
        scenario,
        measured,
        rss_max_kb: rss_max_kb.max(after.rss_kb),
        after,
        cpu,
    })
}

/// CPU time used by the server, by us, by PostgreSQL and by everything else between
/// `from` and `to`.
async fn cpu_window(pid: u32, from: Instant, to: Instant) -> Option<CpuUse> {
    tokio::time::sleep_until(from.into()).await;
    let server = cpu_time(Some(pid)).ok()?;
    let client = cpu_time(None).ok()?;
    let busy = system_busy().ok()?;
    let database = cpu_times_named("postgres");
    let start = Instant::now();
    tokio::time::sleep_until(to.into()).await;
    let server = cpu_time(Some(pid)).ok()?.saturating_sub(server);
    let client = cpu_time(None).ok()?.saturating_sub(client);
    let busy = system_busy().ok()?.saturating_sub(busy);
    let database = cpu_delta(&database, &cpu_times_named("postgres"));
    Some(CpuUse {
        server,
        client,
        database,
        others: busy.saturating_sub(server + client + database),
        wall: start.elapsed(),
    })
}

/// The highest `VmRSS` seen while `running` holds.
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
