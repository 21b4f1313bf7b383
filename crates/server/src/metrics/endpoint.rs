//! `GET /metrics`: the Prometheus scrape. Counters and histograms come from
//! [`Metrics`]; the gauges of the present moment (database pool, queued
//! jobs, password hashes in flight) are read now. The queue count asks the
//! database with a short deadline; if it does not answer in time the scrape
//! still succeeds, without that metric, so one slow query never turns the
//! whole scrape into an error.

use std::time::Duration;

use axum::{
    extract::State,
    http::{header::CONTENT_TYPE, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};

use super::exposition::{self, Exposition};
use crate::{state::AppState, urls::paths};

/// How long a scrape waits for the count of queued jobs.
const QUEUE_DEADLINE: Duration = Duration::from_secs(2);

/// The scrape route; answers 404 unless `telemetry.metrics.exporter` is
/// `prometheus` (as MAS does).
pub fn router() -> Router<AppState> {
    Router::new().route(paths::METRICS, get(scrape))
}

async fn scrape(State(state): State<AppState>) -> Response {
    if !state.site.prometheus_metrics {
        return (StatusCode::NOT_FOUND, "Not found\n").into_response();
    }
    let mut out = Exposition::default();
    state.metrics.render(&mut out);
    present_gauges(&state, &mut out).await;
    (
        [(CONTENT_TYPE, exposition::CONTENT_TYPE)],
        out.into_string(),
    )
        .into_response()
}

async fn present_gauges(state: &AppState, out: &mut Exposition) {
    let pool = state.db.pool_stats();
    out.family(
        "mxauth_db_connections",
        "gauge",
        "Connections of the database pool, in use or idle.",
    );
    out.sample("mxauth_db_connections", &[("state", "in_use")], pool.in_use);
    out.sample("mxauth_db_connections", &[("state", "idle")], pool.idle);
    out.family(
        "mxauth_db_connections_waiting",
        "gauge",
        "Tasks waiting for a database connection (or SQLite's write lock).",
    );
    out.sample("mxauth_db_connections_waiting", &[], pool.waiting);

    if let Some(passwords) = &state.passwords {
        out.family(
            "mxauth_password_hashes_in_flight",
            "gauge",
            "Password hashes or checks running now on the bounded hashing pool.",
        );
        out.sample(
            "mxauth_password_hashes_in_flight",
            &[],
            passwords.in_flight(),
        );
    }

    match tokio::time::timeout(QUEUE_DEADLINE, state.db.queued_jobs()).await {
        Ok(Ok(queues)) => {
            out.family(
                "mxauth_jobs_queued",
                "gauge",
                "Jobs waiting to run (due now or scheduled later), by queue.",
            );
            for (queue, count) in queues {
                out.sample("mxauth_jobs_queued", &[("queue", &queue)], count);
            }
        }
        Ok(Err(e)) => tracing::warn!(error = %e, "metrics: counting queued jobs failed"),
        Err(_) => tracing::warn!(
            "metrics: counting queued jobs took over {} s; left out of this scrape",
            QUEUE_DEADLINE.as_secs()
        ),
    }
}
