//! `GET /health`: answers `ok` only when the database takes a write, so a
//! load balancer stops sending traffic to an instance whose database is
//! unreachable, full or read-only; 503 with `Retry-After` otherwise, within
//! [`DEADLINE`] at most.

use std::time::Duration;

use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
    Router,
};

use crate::state::AppState;
use crate::{errors::unavailable, urls::paths};

/// The longest a health check waits, for example behind a long write.
const DEADLINE: Duration = Duration::from_secs(5);

pub fn router() -> Router<AppState> {
    Router::new().route(paths::HEALTH, get(health))
}

async fn health(State(state): State<AppState>) -> Response {
    let problem = match tokio::time::timeout(DEADLINE, state.db.check_writable()).await {
        Ok(Ok(())) => return (StatusCode::OK, "ok").into_response(),
        Ok(Err(e)) => e.to_string(),
        Err(_) => format!("no answer within {} s", DEADLINE.as_secs()),
    };
    tracing::error!(error = %problem, "health check: the database cannot take writes");
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response();
    unavailable::set_retry_after(response.headers_mut());
    response
}
