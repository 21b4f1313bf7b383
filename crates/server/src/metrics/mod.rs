//! Prometheus metrics (`telemetry.metrics.exporter: prometheus`), served as
//! `GET /metrics` on listeners with the `prometheus` resource.
//!
//! A small registry of atomics rather than a metrics crate: the set of
//! metrics is fixed, every label set is bounded (routes are the router's
//! path templates, methods outside the usual few are `other`, login
//! methods and results are enums), and recording on the hot path is an
//! atomic add. A lookup of the route's series takes a read lock on a map
//! that is written only the first time a route/method/status is seen.
//! Gauges that describe the present (database connections, queued jobs,
//! hashes in flight) are read when scraped, not kept up to date.

mod endpoint;
mod exposition;
mod family;
pub mod histogram;

use std::{
    sync::{
        atomic::{AtomicU64, Ordering::Relaxed},
        RwLock,
    },
    time::Duration,
};

use axum::http::Method;

pub use endpoint::router;
use family::Family;
use histogram::Histogram;

/// How someone logged in (`method` label of `mxauth_logins_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginMethod {
    /// The login page's password form.
    Password,
    /// `m.login.password` on the Matrix client API `/login`.
    CompatPassword,
    /// `m.login.token` on `/login`: the end of the legacy SSO redirect.
    CompatSso,
    /// Sign-in through an upstream OpenID provider.
    Upstream,
}

impl LoginMethod {
    const ALL: [Self; 4] = [
        Self::Password,
        Self::CompatPassword,
        Self::CompatSso,
        Self::Upstream,
    ];

    fn label(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::CompatPassword => "compat_password",
            Self::CompatSso => "compat_sso",
            Self::Upstream => "upstream",
        }
    }
}

/// How a login ended (`result` label of `mxauth_logins_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginResult {
    Success,
    /// Refused: wrong or unknown credentials, a locked or deactivated
    /// account, a refused upstream answer, too many attempts.
    Failure,
    /// Our side failed (database, homeserver): the person did nothing wrong.
    Error,
}

impl LoginResult {
    const ALL: [Self; 3] = [Self::Success, Self::Failure, Self::Error];

    fn label(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Error => "error",
        }
    }

    /// A refusal with a client error status is a failure, a server error
    /// status an error.
    pub fn from_status(status: u16) -> Self {
        if status >= 500 {
            Self::Error
        } else {
            Self::Failure
        }
    }
}

/// Every metric recorded while the process runs. One per [`AppState`]
/// (tests get their own); the server shares it with its homeserver client
/// and its job worker.
///
/// [`AppState`]: crate::state::AppState
#[derive(Debug, Default)]
pub struct Metrics {
    /// Per route: the duration histogram and counts per method and status.
    http: Family<RouteMetrics>,
    logins: [[AtomicU64; LoginResult::ALL.len()]; LoginMethod::ALL.len()],
    /// Per `/_synapse/mas/*` call.
    homeserver: Family<CallMetrics>,
    /// Failed job attempts per queue.
    jobs_failed: Family<AtomicU64>,
}

#[derive(Debug, Default)]
struct RouteMetrics {
    duration: Histogram,
    responses: ResponseCounts,
}

#[derive(Debug, Default)]
struct CallMetrics {
    duration: Histogram,
    errors: AtomicU64,
}

/// The route of a request no route matched: one series for all of them.
pub const UNMATCHED_ROUTE: &str = "unmatched";

impl Metrics {
    /// One answered request. `route` is the matched path template.
    pub fn record_request(&self, route: &str, method: &Method, status: u16, elapsed: Duration) {
        let series = self.http.get_or_insert(route);
        series.duration.observe(elapsed);
        series.responses.increment(method_label(method), status);
    }

    pub fn record_login(&self, method: LoginMethod, result: LoginResult) {
        self.logins[method as usize][result as usize].fetch_add(1, Relaxed);
    }

    /// The count of logins so far (tests and the scrape).
    pub fn logins(&self, method: LoginMethod, result: LoginResult) -> u64 {
        self.logins[method as usize][result as usize].load(Relaxed)
    }

    /// One call to the homeserver, answered or not.
    pub fn record_homeserver_call(&self, endpoint: &str, elapsed: Duration, failed: bool) {
        let series = self.homeserver.get_or_insert(endpoint);
        series.duration.observe(elapsed);
        if failed {
            series.errors.fetch_add(1, Relaxed);
        }
    }

    /// One job attempt that failed (to be retried or for good).
    pub fn record_job_failure(&self, queue: &str) {
        self.jobs_failed.get_or_insert(queue).fetch_add(1, Relaxed);
    }
}

/// Methods beyond these are one `other` series: a client can send any
/// token as a method, and each must not make a new series.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Answers of one route counted by method and status. A route sees a few
/// pairs, so a short list scanned under a read lock does; it is written
/// only when a new pair appears.
#[derive(Debug, Default)]
struct ResponseCounts(RwLock<Vec<(&'static str, u16, AtomicU64)>>);

impl ResponseCounts {
    fn increment(&self, method: &'static str, status: u16) {
        let find = |list: &[(&'static str, u16, AtomicU64)]| {
            list.iter()
                .position(|(m, s, _)| *m == method && *s == status)
        };
        {
            let list = self.0.read().unwrap_or_else(|e| e.into_inner());
            if let Some(i) = find(&list) {
                list[i].2.fetch_add(1, Relaxed);
                return;
            }
        }
        let mut list = self.0.write().unwrap_or_else(|e| e.into_inner());
        match find(&list) {
            Some(i) => list[i].2.fetch_add(1, Relaxed),
            None => {
                list.push((method, status, AtomicU64::new(1)));
                0
            }
        };
    }

    /// `(method, status, count)`, sorted.
    fn snapshot(&self) -> Vec<(&'static str, u16, u64)> {
        let list = self.0.read().unwrap_or_else(|e| e.into_inner());
        let mut counts: Vec<_> = list
            .iter()
            .map(|(m, s, c)| (*m, *s, c.load(Relaxed)))
            .collect();
        counts.sort_unstable();
        counts
    }
}

#[cfg(test)]
pub(crate) mod promtool;
#[cfg(test)]
mod tests;
