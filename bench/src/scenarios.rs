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

use std::time::{Duration, Instant};

use crate::{
    burst,
    compat::{login_job, login_tokens},
    error::{Context, Result},
    jobs::{Fixed, Refresh},
    load::{summarize, worker, Job, Measured, Window, WorkerResult},
    prepare::Prepared,
    sampling::{cpu_window, ServerUse, Watch},
    setup::DISCOVERY_PATH,
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

/// A scenario's numbers and, when the server's PID is known, its memory
/// and CPU meanwhile.
#[derive(Debug, Clone)]
pub struct ScenarioResult {
    pub scenario: Scenario,
    pub connections: usize,
    pub measured: Measured,
    pub server: Option<ServerUse>,
}

/// How every scenario is loaded (the same for every target).
pub struct Plan {
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

/// The job of connection `i` of a looped scenario on `target`
/// (`compat_tokens`: one per connection for `compat-introspection`).
pub fn job(
    scenario: Scenario,
    target: &Prepared,
    i: usize,
    compat_tokens: &[String],
) -> Result<Box<dyn Job>> {
    let base = &target.target.base;
    let host = &base.host;
    let auth = || {
        target
            .introspection_auth
            .as_deref()
            .context("no introspection credentials")
    };
    let setup = || {
        target
            .setup
            .as_ref()
            .map_err(|e| crate::error::Error::msg(e.clone()))
    };
    let introspect = &target.endpoints.introspection;
    Ok(match scenario {
        Scenario::Discovery => Box::new(Fixed::get(host, &base.path(DISCOVERY_PATH))),
        Scenario::Health => Box::new(Fixed::get(host, &base.path("/health"))),
        Scenario::Introspection => {
            let tokens = setup()?
                .sessions
                .get(i)
                .context("a session per connection")?;
            Box::new(Fixed::introspection(
                host,
                introspect,
                auth()?,
                &tokens.access,
            ))
        }
        Scenario::CompatIntrospection => {
            let token = compat_tokens
                .get(i)
                .context("a compat token per connection")?;
            Box::new(Fixed::introspection(host, introspect, auth()?, token))
        }
        Scenario::Refresh => {
            let setup = setup()?;
            let tokens = setup.sessions.get(i).context("a session per connection")?;
            Box::new(Refresh::new(
                host.clone(),
                target.endpoints.token.clone(),
                setup.client_id.clone(),
                &tokens.refresh,
            ))
        }
        Scenario::CompatLogin => Box::new(login_job(base, target.user().context("no user")?)),
        Scenario::LoginBurst => return crate::fail!("login-burst is not a looped scenario"),
    })
}

/// Runs one scenario on one target. The target's setup must hold a
/// session per connection. Refresh moves each session's token chain on
/// (and may end its older access tokens), so it runs once and after
/// introspection: `Scenario::ALL` keeps that order.
pub async fn run(scenario: Scenario, plan: &Plan, target: &Prepared) -> Result<ScenarioResult> {
    if scenario == Scenario::LoginBurst {
        return burst::run(plan, target).await;
    }
    let connections = plan.connections_for(scenario);
    let compat_tokens = if scenario == Scenario::CompatIntrospection {
        let user = target.user().context("no user")?;
        login_tokens(
            &target.target.base,
            user,
            connections,
            plan.timeout.max(LOGIN_TIMEOUT),
        )
        .await
        .context("one compat login per connection")?
    } else {
        Vec::new()
    };
    let pid = target.target.pid;
    let watch = Watch::start(pid)?;
    let start = Instant::now();
    let window = Window {
        record_from: start + plan.warmup,
        stop_at: start + plan.warmup + plan.duration,
        timeout: plan.timeout,
    };
    let cpu = pid.map(|pid| tokio::spawn(cpu_window(pid, window.record_from, window.stop_at)));
    let addr = target.target.base.addr;
    let mut handles = Vec::with_capacity(connections);
    for i in 0..connections {
        let job = job(scenario, target, i, &compat_tokens)?;
        handles.push(tokio::spawn(worker(addr, job, window)));
    }
    let mut results: Vec<WorkerResult> = Vec::with_capacity(handles.len());
    for handle in handles {
        results.push(handle.await.context("a load worker panicked")?);
    }
    let measured = summarize(results, window.record_from);
    let cpu = match cpu {
        Some(task) => task.await.context("the CPU sampler panicked")?,
        None => None,
    };
    let server = match watch {
        Some(watch) => Some(watch.finish(cpu).await?),
        None => None,
    };
    Ok(ScenarioResult {
        scenario,
        connections,
        measured,
        server,
    })
}
