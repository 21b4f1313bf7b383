//! What the process says about itself: log lines on standard error, human
//! or JSON (`--log-format`, `MXAUTH_LOG_FORMAT`), and, when the server or
//! worker is configured with `telemetry.tracing.exporter: otlp`, spans sent
//! to an OTLP collector over HTTP.
//!
//! The log filter is `RUST_LOG` (default `info,sqlx=warn`). Spans for the
//! collector have their own filter: the same `info` spans (a request, a
//! homeserver call, an outbound call) plus sqlx's statement events at
//! `debug`, which become events on the span of the request that ran them
//! (statement, rows, time), whatever `RUST_LOG` says.

mod otlp;

use std::io::IsTerminal;

use mxauth_config::{TracingConfig, TracingExporter};
use tracing_subscriber::{
    filter::Targets, fmt, layer::SubscriberExt, registry::LookupSpan, util::SubscriberInitExt,
    EnvFilter, Layer,
};

use crate::args::LogFormat;

/// Keeps the trace exporter alive; dropping it sends the spans still
/// buffered (at most a few seconds' wait).
pub struct Telemetry {
    provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            if let Err(e) = provider.shutdown() {
                eprintln!("warning: sending the last spans failed: {e}");
            }
        }
    }
}

/// Installs the global subscriber. `tracing`: the server's or worker's
/// `telemetry.tracing`, read before anything logs. `runtime`: where the
/// exporter's HTTP requests run.
pub fn init(
    format: LogFormat,
    tracing: Option<&TracingConfig>,
    runtime: &tokio::runtime::Handle,
) -> Telemetry {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let exporter = tracing.filter(|t| t.exporter == TracingExporter::Otlp);
    let (config, provider) = match exporter.map(|config| (config, otlp::provider(config, runtime)))
    {
        Some((config, Ok(provider))) => (config, provider),
        other => {
            // Without an exporter the filter stays global, as cheap as
            // before: events nobody writes are not even built.
            tracing_subscriber::registry()
                .with(filter)
                .with(log_lines(format))
                .init();
            if let Some((_, Err(e))) = other {
                tracing::error!("telemetry.tracing: cannot export traces: {e}");
            }
            return Telemetry { provider: None };
        }
    };
    // Two audiences, two filters: `RUST_LOG` for the lines, the spans'
    // own for the collector.
    use opentelemetry::trace::TracerProvider as _;
    let spans = Targets::new()
        .with_default(tracing::Level::INFO)
        .with_target("sqlx::query", tracing::Level::DEBUG);
    let layer = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("mxauth"))
        .with_filter(spans);
    tracing_subscriber::registry()
        .with(log_lines(format).with_filter(filter))
        .with(layer)
        .init();
    let tracecontext = config
        .propagators
        .contains(&mxauth_config::Propagator::Tracecontext);
    mxauth_server::tracing_context::enable(tracecontext);
    tracing::info!(
        endpoint = %config.traces_url(),
        sample_rate = config.sample_ratio(),
        "sending traces over OTLP/HTTP"
    );
    Telemetry {
        provider: Some(provider),
    }
}

/// The layer writing log lines on standard error in `format`.
fn log_lines<S>(format: LogFormat) -> Box<dyn Layer<S> + Send + Sync>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    match format {
        LogFormat::Human => fmt::layer()
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(std::io::stderr)
            .with_target(false)
            .boxed(),
        // One object a line: time, level, message and fields, and the
        // request span (id, route) the line was logged in.
        LogFormat::Json => fmt::layer()
            .json()
            .with_writer(std::io::stderr)
            .with_current_span(true)
            .with_span_list(false)
            .boxed(),
    }
}
