//! One log line per request, written when the response is ready: method,
//! path, status, duration, user agent. The query string is left out because
//! it can carry secrets (authorization codes, login tokens), and no header
//! but the user agent is logged (never `Authorization` or `Cookie`).
//!
//! Each request runs inside a `request` span holding its id and, once
//! routing has matched, its route (`/oauth2/token`, `/consent/{grant_id}`):
//! every line logged while it runs (an internal error, a homeserver
//! failure) carries both, so one grep on the id finds all of a request.
//! With OTLP export on, the span is the request's trace span (method,
//! route, status), continuing a W3C `traceparent` the client sent when the
//! `tracecontext` propagator is configured.
//!
//! The same place counts the request in the metrics, by route template
//! (never the raw path, so a scanner cannot make new series), method and
//! status.

use std::{
    sync::{Arc, OnceLock},
    time::Instant,
};

use axum::{
    extract::{MatchedPath, Request, State},
    middleware::Next,
    response::Response,
};
use tracing::Instrument;

use super::request_id;
use crate::{
    metrics::{Metrics, UNMATCHED_ROUTE},
    tracing_context,
};

/// Where the route layer, which runs after routing, leaves the matched
/// route for [`log_request`], which runs before it and also sees answers
/// made outside the router (timeouts, the fallback).
#[derive(Clone, Default)]
struct RouteSlot(Arc<OnceLock<MatchedPath>>);

pub async fn log_request(
    State(metrics): State<Arc<Metrics>>,
    mut request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let user_agent = crate::extract::user_agent(request.headers())
        .unwrap_or("-")
        .to_owned();
    let span = tracing::info_span!(
        "request",
        id = %request_id::of(&request),
        route = tracing::field::Empty,
        otel.kind = tracing::field::Empty,
        http.request.method = tracing::field::Empty,
        http.response.status_code = tracing::field::Empty,
    );
    // The trace's own fields only when traces leave the process: the log
    // lines of every request would otherwise carry them too.
    let exporting = tracing_context::exporting();
    if exporting {
        span.record("otel.kind", "server");
        span.record("http.request.method", method.as_str());
        tracing_context::continue_trace(&span, request.headers());
    }
    let slot = RouteSlot::default();
    request.extensions_mut().insert(slot.clone());
    let response = next.run(request).instrument(span.clone()).await;
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    let route = slot.0.get().map_or(UNMATCHED_ROUTE, MatchedPath::as_str);
    metrics.record_request(route, &method, status, elapsed);
    if exporting {
        span.record("http.response.status_code", i64::from(status));
    }
    let elapsed_ms = elapsed.as_secs_f64() * 1000.0;
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

/// Names the request's span after the route that matched and hands the
/// route to [`log_request`]. Runs as a route layer, after routing, inside
/// the span [`log_request`] opened.
pub async fn record_route(request: Request, next: Next) -> Response {
    if let Some(route) = request.extensions().get::<MatchedPath>() {
        let span = tracing::Span::current();
        span.record("route", tracing::field::display(route.as_str()));
        if tracing_context::exporting() {
            tracing_context::rename(&span, format!("{} {}", request.method(), route.as_str()));
        }
        if let Some(slot) = request.extensions().get::<RouteSlot>() {
            let _ = slot.0.set(route.clone());
        }
    }
    next.run(request).await
}
