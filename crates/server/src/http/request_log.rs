//! One log line per request, written when the response is ready: method,
//! path, status, duration, user agent. The query string is left out because
//! it can carry secrets (authorization codes, login tokens).
//!
//! Each request runs inside a `request` span holding its id and, once
//! routing has matched, its route (`/oauth2/token`, `/consent/{grant_id}`):
//! every line logged while it runs (an internal error, a homeserver
//! failure) carries both, so one grep on the id finds all of a request.

use std::time::Instant;

use axum::{
    extract::{MatchedPath, Request},
    http::header::USER_AGENT,
    middleware::Next,
    response::Response,
};
use tracing::Instrument;

use super::request_id;

pub async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let user_agent = request
        .headers()
        .get(USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_owned();
    let span = tracing::info_span!(
        "request",
        id = %request_id::of(&request),
        route = tracing::field::Empty,
    );
    let response = next.run(request).instrument(span.clone()).await;
    let status = response.status().as_u16();
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    let _entered = span.enter();
    macro_rules! line {
        ($level:ident) => {
            tracing::$level!(
                target: "mxauth::request",
                elapsed_ms = format_args!("{elapsed_ms:.1}"),
                %user_agent,
                "{method} {path} {status}"
            )
        };
    }
    match status {
        500.. => line!(error),
        400..=499 => line!(warn),
        _ => line!(info),
    }
    response
}

/// Names the request's span after the route that matched. Runs as a route
/// layer, after routing, inside the span [`log_request`] opened.
pub async fn record_route(request: Request, next: Next) -> Response {
    if let Some(route) = request.extensions().get::<MatchedPath>() {
        tracing::Span::current().record("route", tracing::field::display(route.as_str()));
    }
    next.run(request).await
}
