//! A target made ready for the scenarios: its endpoints from discovery,
//! the OAuth sessions of the setup (when it has a user), and for every
//! scenario it cannot run, why: a scenario that needs something the
//! target lacks is skipped with a reason, not failed.

use std::time::{Duration, Instant};

use crate::{
    error::Result,
    procfs::{memory, Memory},
    scenarios::Scenario,
    setup::{self, Endpoints, Setup},
    target::Target,
};

pub struct Prepared {
    pub target: Target,
    pub endpoints: Endpoints,
    /// `Authorization` of introspection requests.
    pub introspection_auth: Option<String>,
    /// The sessions; `Err` holds why there are none.
    pub setup: Result<Setup, String>,
    /// Whether the setup was tried and failed (rather than impossible).
    pub setup_failed: bool,
    pub setup_time: Option<Duration>,
    /// Memory before and after the setup, when the PID is known.
    pub idle: Option<Memory>,
    pub after_setup: Option<Memory>,
}

impl Prepared {
    /// Discovers the endpoints and, when the target has a user, registers a
    /// client and authorizes `sessions` sessions.
    pub async fn new(target: Target, sessions: usize) -> Result<Self> {
        let idle = target.pid.map(memory).transpose()?;
        let endpoints = Endpoints::discover(&target.base).await;
        let introspection_auth = target.credentials.introspection_auth();
        let started = Instant::now();
        let (setup, setup_failed) = match &target.credentials.user {
            None => (Err("no user: --username and --password".to_owned()), false),
            Some((name, password)) => {
                match setup::run(&target.base, &endpoints, sessions, (name, password)).await {
                    Ok(setup) => (Ok(setup), false),
                    Err(e) => (Err(format!("the setup over HTTP failed: {e}")), true),
                }
            }
        };
        let setup_time = target.credentials.user.is_some().then(|| started.elapsed());
        let after_setup = target.pid.map(memory).transpose()?;
        Ok(Self {
            target,
            endpoints,
            introspection_auth,
            setup,
            setup_failed,
            setup_time,
            idle,
            after_setup,
        })
    }

    pub fn user(&self) -> Option<(&str, &str)> {
        let (name, password) = self.target.credentials.user.as_ref()?;
        Some((name.as_str(), password.as_str()))
    }

    /// Why `scenario` cannot run on this target, if it cannot.
    pub fn skip_reason(&self, scenario: Scenario) -> Option<String> {
        let no_auth = || {
            self.introspection_auth.is_none().then(|| {
                "nothing to introspect with: --homeserver-secret or --client-id/--client-secret"
                    .to_owned()
            })
        };
        let no_user = || {
            self.user()
                .is_none()
                .then(|| "no user: --username and --password".to_owned())
        };
        let no_sessions = || self.setup.as_ref().err().cloned();
        match scenario {
            Scenario::Discovery | Scenario::Health => None,
            Scenario::Introspection => no_auth().or_else(no_sessions),
            Scenario::CompatIntrospection => no_auth().or_else(no_user),
            Scenario::Refresh => no_sessions(),
            Scenario::CompatLogin | Scenario::LoginBurst => no_user(),
        }
    }
}
