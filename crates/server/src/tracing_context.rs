//! Whether spans leave the process (`telemetry.tracing.exporter: otlp`),
//! and the trace a request continues: with the `tracecontext` propagator,
//! the W3C `traceparent` header (W3C Trace Context §3.2) makes the request's
//! span a child of the caller's, so one trace crosses the reverse proxy,
//! Synapse and mxauth.
//!
//! Process-wide switches, set once at start-up by the CLI that installs the
//! exporter, like the tracing subscriber they go with.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

use axum::http::HeaderMap;
use opentelemetry::{
    propagation::{Extractor, TextMapPropagator},
    trace::TraceContextExt,
};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt;

static EXPORTING: AtomicBool = AtomicBool::new(false);
static TRACECONTEXT: AtomicBool = AtomicBool::new(false);

/// Called once an exporter is installed; `tracecontext`: whether incoming
/// `traceparent` headers are followed.
pub fn enable(tracecontext: bool) {
    TRACECONTEXT.store(tracecontext, Relaxed);
    EXPORTING.store(true, Relaxed);
}

/// Whether spans are exported, so worth the attributes only traces use.
pub fn exporting() -> bool {
    EXPORTING.load(Relaxed)
}

/// Makes `span` continue the caller's trace when the request carries one
/// and the `tracecontext` propagator is on.
pub fn continue_trace(span: &tracing::Span, headers: &HeaderMap) {
    if !TRACECONTEXT.load(Relaxed) || !headers.contains_key("traceparent") {
        return;
    }
    let parent = TraceContextPropagator::new().extract(&HeaderExtractor(headers));
    // Fails only when no OpenTelemetry layer is installed: then there is
    // no trace to continue.
    let _ = span.set_parent(parent);
}

/// Names the span as traces show it (`POST /oauth2/token`): known only
/// once routing matched, after the span started, when a `otel.name` field
/// no longer renames it.
pub fn rename(span: &tracing::Span, name: String) {
    span.context().span().update_name(name);
}

struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}
