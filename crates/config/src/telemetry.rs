//! `telemetry`: traces (`tracing`), metrics (`metrics`) and error reporting
//! (`sentry`), with MAS's keys and values. What mxauth builds: OTLP trace
//! export over HTTP, the W3C `tracecontext` propagator, and Prometheus
//! metrics on the `prometheus` listener resource; the other values parse and
//! `config check` names them as not built.

use serde::{Deserialize, Serialize};
use url::Url;

use super::{HttpConfig, Issues, ResourceName};

/// Where OTLP goes when `endpoint` is not set: the OTLP/HTTP default port
/// on this host (OTLP specification, "OTLP/HTTP Default Port").
pub const DEFAULT_OTLP_ENDPOINT: &str = "http://localhost:4318";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetryConfig {
    pub tracing: TracingConfig,
    pub metrics: MetricsConfig,
    pub sentry: SentryConfig,
}

/// `telemetry.tracing.exporter`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TracingExporter {
    #[default]
    None,
    Stdout,
    Otlp,
}

/// `telemetry.metrics.exporter`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricsExporter {
    #[default]
    None,
    Stdout,
    Otlp,
    Prometheus,
}

/// One entry of `telemetry.tracing.propagators`: how a trace context
/// arrives with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Propagator {
    /// W3C Trace Context: the `traceparent` header.
    Tracecontext,
    Baggage,
    Jaeger,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TracingConfig {
    pub exporter: TracingExporter,
    /// The OTLP/HTTP endpoint: a base URL (`/v1/traces` is appended) or
    /// the full URL of the traces path. Unset: [`DEFAULT_OTLP_ENDPOINT`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<Url>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub propagators: Vec<Propagator>,
    /// The share of traces kept, 0.0 to 1.0. Unset: every trace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample_rate: Option<f64>,
}

impl TracingConfig {
    /// Where spans are posted: the endpoint's own path, or `/v1/traces`
    /// when it has none (OTLP specification, "Endpoint URLs for OTLP/HTTP").
    pub fn traces_url(&self) -> Url {
        let mut url = self.endpoint.clone().unwrap_or_else(|| {
            Url::parse(DEFAULT_OTLP_ENDPOINT).unwrap_or_else(|_| unreachable!("a valid URL"))
        });
        if url.path().trim_end_matches('/').is_empty() {
            url.set_path("/v1/traces");
        }
        url
    }

    /// `sample_rate`, 1.0 when unset.
    pub fn sample_ratio(&self) -> f64 {
        self.sample_rate.unwrap_or(1.0)
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    pub exporter: MetricsExporter,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<Url>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SentryConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dsn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample_rate: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub traces_sample_rate: Option<f64>,
}

impl TelemetryConfig {
    pub(super) fn validate(&self, issues: &mut Issues) {
        let rates = [
            ("telemetry.tracing.sample_rate", self.tracing.sample_rate),
            ("telemetry.sentry.sample_rate", self.sentry.sample_rate),
            (
                "telemetry.sentry.traces_sample_rate",
                self.sentry.traces_sample_rate,
            ),
        ];
        for (path, rate) in rates {
            if rate.is_some_and(|r| !(0.0..=1.0).contains(&r)) {
                issues.push(path, "must be between 0.0 and 1.0");
            }
        }
        let endpoints = [
            ("telemetry.tracing.endpoint", &self.tracing.endpoint),
            ("telemetry.metrics.endpoint", &self.metrics.endpoint),
        ];
        for (path, endpoint) in endpoints {
            if endpoint
                .as_ref()
                .is_some_and(|url| !matches!(url.scheme(), "http" | "https"))
            {
                issues.push(
                    path,
                    "must be an http:// or https:// URL (OTLP over HTTP; gRPC is not built)",
                );
            }
        }
    }

    /// A `prometheus` resource without the exporter serves nothing, and
    /// the exporter without the resource is never scraped.
    pub(super) fn advice(&self, http: &HttpConfig, issues: &mut Issues) {
        let prometheus = self.metrics.exporter == MetricsExporter::Prometheus;
        let mut served = false;
        for (i, listener) in http.listeners.iter().enumerate() {
            for (j, resource) in listener.resources.iter().enumerate() {
                if resource.name == ResourceName::Prometheus {
                    served = true;
                    if !prometheus {
                        issues.push(
                            format!("http.listeners[{i}].resources[{j}]"),
                            "/metrics answers 404 unless telemetry.metrics.exporter is prometheus",
                        );
                    }
                }
            }
        }
        if prometheus && !served {
            issues.push(
                "telemetry.metrics.exporter",
                "no listener has the prometheus resource, so nothing serves /metrics",
            );
        }
    }

    pub(super) fn unbuilt(&self, issues: &mut Issues) {
        if self.tracing.exporter == TracingExporter::Stdout {
            issues.unbuilt(
                "telemetry.tracing.exporter",
                "printing spans to stdout (use otlp)",
            );
        }
        for (i, propagator) in self.tracing.propagators.iter().enumerate() {
            if *propagator != Propagator::Tracecontext {
                issues.unbuilt(
                    format!("telemetry.tracing.propagators[{i}]"),
                    &format!("the {propagator:?} propagator (tracecontext is built)")
                        .to_lowercase(),
                );
            }
        }
        if matches!(
            self.metrics.exporter,
            MetricsExporter::Stdout | MetricsExporter::Otlp
        ) {
            issues.unbuilt(
                "telemetry.metrics.exporter",
                "metrics export other than prometheus",
            );
        }
        if self.metrics.endpoint.is_some() {
            issues.unbuilt("telemetry.metrics.endpoint", "OTLP metrics export");
        }
        if self.sentry.dsn.is_some() {
            issues.unbuilt("telemetry.sentry.dsn", "Sentry reporting");
        }
    }
}
