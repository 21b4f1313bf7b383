//! The scenarios and one run of a scenario, with the server's memory and
//! CPU measured alongside:
//!
//! - `discovery`: `GET /.well-known/openid-configuration`, no database (the
//!   ceiling of this machine, server and client together);
//! - `health`: `GET /health`, one `SELECT`;
//! - `introspection`: `POST /oauth2/introspect` as the homeserver, one
//!   access token per connection, every answer must be `"active":true`;
//! - `compat-introspection`: the same with a compat access token (`mct_…`)
//!   per connection, from one password login each before the clock starts;
//! - `refresh`: `POST /oauth2/token` with `grant_type=refresh_token`, each
//!   connection rotating its own refresh token;
//! - `compat-login`: `POST /_matrix/client/v3/login` with a password, over
//!   and over (argon2id on the server);
//! - `login-burst`: that login sent once by many connections at the same
//!   moment (`burst.rs`).

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use crate::{
    burst,
    compat::{login_job, login_tokens},
    error::{Context, Result},
    jobs::{Fixed, Refresh},
    load::{summarize, worker, Job, Measured, Window, WorkerResult},
    procfs::{memory, Memory},
    sampling::{cpu_window, CpuUse, RssSampler},
    setup::Setup,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    Discovery,
    Health,
    Introspection,
    CompatIntrospection,
    Refresh,
    CompatLogin,
    LoginBurst,
}

impl Scenario {
    /// Every scenario, in the order they run.
    pub const ALL: [Scenario; 7] = [
        Self::Discovery,
        Self::Health,
        Self::Introspection,
        Self::CompatIntrospection,
        Self::Refresh,
        Self::CompatLogin,
        Self::LoginBurst,
    ];
    pub const DEFAULT: [Scenario; 6] = [
        Self::Discovery,
        Self::Introspection,
        Self::CompatIntrospection,
        Self::Refresh,
        Self::CompatLogin,
        Self::LoginBurst,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Discovery => "discovery",
            Self::Health => "health",
            Self::Introspection => "introspection",
            Self::CompatIntrospection => "compat-introspection",
            Self::Refresh => "refresh",
            Self::CompatLogin => "compat-login",
            Self::LoginBurst => "login-burst",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// A scenario's numbers and the server's memory meanwhile.
#[derive(Debug, Clone)]
pub struct ScenarioResult {
    pub scenario: Scenario,
    pub connections: usize,
    pub measured: Measured,
    /// `VmRSS` and `VmHWM` when the scenario started (for a burst: just
    /// before it).
    pub before: Memory,
    /// Highest `VmRSS` sampled during the run (every 50 ms).
    pub rss_max_kb: u64,
    /// `VmRSS` and `VmHWM` at the end of the run.
    pub after: Memory,
    /// CPU time over the recorded window (a burst: from its start to its
    /// last answer).
    pub cpu: Option<CpuUse>,
}

impl ScenarioResult {
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

pub struct Plan {
    pub addr: SocketAddr,
    pub pid: u32,
    pub connections: usize,
    /// Connections of `compat-login`.
    pub login_connections: usize,
    /// Simultaneous logins of `login-burst`.
    pub burst: usize,
    pub warmup: Duration,
    pub duration: Duration,
    pub timeout: Duration,
}

/// A request that waits for a queue of argon2 hashes gets at least this
/// long (the logins before `compat-introspection`, the burst).
pub const LOGIN_TIMEOUT: Duration = Duration::from_secs(60);

impl Plan {
    pub fn connections_for(&self, scenario: Scenario) -> usize {
        match scenario {
            Scenario::CompatLogin => self.login_connections,
            Scenario::LoginBurst => self.burst,
            _ => self.connections,
        }
    }
}

/// Runs one scenario. `setup` must hold a session per connection. Refresh
/// moves each session's token chain on (and may end its older access
/// tokens), so it runs once and after introspection: the arguments keep
/// that order.
pub async fn run(scenario: Scenario, plan: &Plan, setup: &Setup) -> Result<ScenarioResult> {
    if scenario == Scenario::LoginBurst {
        return burst::run(plan).await;
    }
    let host = plan.addr.to_string();
    let connections = plan.connections_for(scenario);
    let compat_tokens = if scenario == Scenario::CompatIntrospection {
        login_tokens(plan.addr, connections, plan.timeout.max(LOGIN_TIMEOUT))
            .await
            .context("one compat login per connection")?
    } else {
        Vec::new()
    };
    let before = memory(plan.pid)?;
    let start = Instant::now();
    let window = Window {
        record_from: start + plan.warmup,
        stop_at: start + plan.warmup + plan.duration,
        timeout: plan.timeout,
    };
    let sampler = RssSampler::start(plan.pid);
    let cpu = tokio::spawn(cpu_window(plan.pid, window.record_from, window.stop_at));

    let spawn = |job: Box<dyn Job>| tokio::spawn(worker(plan.addr, job, window));
    let mut handles = Vec::with_capacity(connections);
    for i in 0..connections {
        let job: Box<dyn Job> = match scenario {
            Scenario::Discovery => Box::new(Fixed::get(&host, "/.well-known/openid-configuration")),
            Scenario::Health => Box::new(Fixed::get(&host, "/health")),
            Scenario::Introspection => {
                let tokens = setup.sessions.get(i).context("a session per connection")?;
                Box::new(Fixed::introspection(&host, &tokens.access))
            }
            Scenario::CompatIntrospection => {
                let token = compat_tokens
                    .get(i)
                    .context("a compat token per connection")?;
                Box::new(Fixed::introspection(&host, token))
            }
            Scenario::Refresh => {
                let tokens = setup.sessions.get(i).context("a session per connection")?;
                Box::new(Refresh::new(
                    host.clone(),
                    setup.client_id.clone(),
                    &tokens.refresh,
                ))
            }
            Scenario::CompatLogin => Box::new(login_job(&host)),
            Scenario::LoginBurst => return crate::fail!("login-burst is not a looped scenario"),
        };
        handles.push(spawn(job));
    }
    let mut results: Vec<WorkerResult> = Vec::with_capacity(handles.len());
    for handle in handles {
        results.push(handle.await.context("a load worker panicked")?);
    }
    let measured = summarize(results, window.record_from);
    let rss_max_kb = sampler.stop().await?;
    let after = memory(plan.pid)?;
    let cpu = cpu.await.context("the CPU sampler panicked")?;
    Ok(ScenarioResult {
        scenario,
        connections,
        measured,
        before,
        rss_max_kb: rss_max_kb.max(after.rss_kb),
        after,
        cpu,
    })
}
