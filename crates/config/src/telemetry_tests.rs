//! Tests of the `telemetry` section: MAS's keys parse, bad values are
//! refused by name, and `config check` says what is not built.

use super::tests::{parse, paths, MINIMAL};
use super::*;

fn parse_error(extra: &str) -> String {
    let text = format!("{MINIMAL}{extra}");
    let deserializer = serde_norway::Deserializer::from_str(&text);
    match serde_path_to_error::deserialize::<_, RootConfig>(deserializer) {
        Ok(_) => panic!("{extra} parsed"),
        Err(e) => format!("{}: {}", e.path(), e.inner()),
    }
}

fn telemetry_unbuilt(config: &RootConfig) -> Vec<ConfigIssue> {
    let mut issues = Issues::default();
    config.telemetry.unbuilt(&mut issues);
    issues.0
}

#[test]
fn mas_telemetry_keys_parse() {
    let config = parse(
        "telemetry:
  tracing: {exporter: otlp, endpoint: 'http://collector:4318', propagators: [tracecontext], sample_rate: 0.25}
  metrics: {exporter: prometheus}
  sentry: {dsn: 'https://key@sentry.example.com/1', environment: prod}",
    );
    let tracing = &config.telemetry.tracing;
    assert_eq!(tracing.exporter, TracingExporter::Otlp);
    assert_eq!(
        tracing.traces_url().as_str(),
        "http://collector:4318/v1/traces"
    );
    assert_eq!(tracing.sample_ratio(), 0.25);
    assert_eq!(tracing.propagators, vec![Propagator::Tracecontext]);
    assert_eq!(
        config.telemetry.metrics.exporter,
        MetricsExporter::Prometheus
    );
    assert!(config.validate().is_empty());
}

#[test]
fn the_otlp_endpoint_defaults_and_keeps_a_given_path() {
    let config = parse("telemetry: {tracing: {exporter: otlp}}");
    assert_eq!(
        config.telemetry.tracing.traces_url().as_str(),
        "http://localhost:4318/v1/traces"
    );
    let config =
        parse("telemetry: {tracing: {endpoint: 'https://otel.example.com/otlp/v1/traces'}}");
    assert_eq!(
        config.telemetry.tracing.traces_url().as_str(),
        "https://otel.example.com/otlp/v1/traces"
    );
}

#[test]
fn bad_values_name_the_key_and_the_choices() {
    let error = parse_error("telemetry: {tracing: {exporter: jaeger}}");
    assert!(error.starts_with("telemetry.tracing.exporter"), "{error}");
    assert!(
        error.contains("none, stdout or otlp") || error.contains("`otlp`"),
        "{error}"
    );
    let error = parse_error("telemetry: {metrics: {exporter: graphite}}");
    assert!(error.starts_with("telemetry.metrics.exporter"), "{error}");
    assert!(error.contains("prometheus"), "{error}");
    let error = parse_error("telemetry: {tracing: {endpoint: 'not a url'}}");
    assert!(error.starts_with("telemetry.tracing.endpoint"), "{error}");

    let issues =
        parse("telemetry: {tracing: {sample_rate: 1.5, endpoint: 'grpc://c:4317'}}").validate();
    let found = paths(issues);
    assert!(
        found.contains(&"telemetry.tracing.sample_rate".to_owned()),
        "{found:?}"
    );
    assert!(
        found.contains(&"telemetry.tracing.endpoint".to_owned()),
        "{found:?}"
    );
}

#[test]
fn config_check_names_what_is_not_built() {
    let built = parse(
        "telemetry: {tracing: {exporter: otlp, propagators: [tracecontext]}, metrics: {exporter: prometheus}}",
    );
    let unbuilt = paths(telemetry_unbuilt(&built));
    assert!(unbuilt.is_empty(), "{unbuilt:?}");

    let config = parse(
        "telemetry: {tracing: {exporter: stdout, propagators: [tracecontext, jaeger]}, metrics: {exporter: otlp}, sentry: {dsn: x}}",
    );
    assert_eq!(
        paths(telemetry_unbuilt(&config)),
        vec![
            "telemetry.tracing.exporter",
            "telemetry.tracing.propagators[1]",
            "telemetry.metrics.exporter",
            "telemetry.sentry.dsn",
        ]
    );
}

#[test]
fn prometheus_without_its_resource_is_pointed_out() {
    let config = parse("telemetry: {metrics: {exporter: prometheus}}");
    assert!(paths(config.advice()).contains(&"telemetry.metrics.exporter".to_owned()));

    let config = parse(
        "http:
  public_base: 'http://localhost:8080/'
  listeners: [{binds: [{address: '127.0.0.1:9090'}], resources: [{name: prometheus}]}]",
    );
    assert_eq!(
        paths(config.advice()),
        vec!["http.listeners[0].resources[0]"]
    );
    let config = parse(
        "http:
  public_base: 'http://localhost:8080/'
  listeners: [{binds: [{address: '127.0.0.1:9090'}], resources: [{name: prometheus}]}]
telemetry: {metrics: {exporter: prometheus}}",
    );
    assert!(config.advice().is_empty());
    assert!(
        config.unbuilt().is_empty(),
        "the prometheus resource is built"
    );
}
