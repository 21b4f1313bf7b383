//! The scrape through the real router: logins by method and result, routes
//! as templates, the gauges read at scrape time, and the text checked by
//! Prometheus' own `promtool check metrics`.

use std::collections::BTreeMap;

use axum::http::Request;
use serde_json::json;

use super::*;
use crate::{
    homeserver::{Homeserver, SynapseConnection},
    state::AppState,
    test_support::{add_user, post_json, send, test_state, Browser, TestResponse},
};
use mxauth_config::{BindConfig, ListenerConfig, ResourceConfig, ResourceName};

/// One sample line of a scrape: name, labels, value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses every sample line strictly (`name{a="b",…} value`), failing on
/// anything else that is not a `# HELP` or `# TYPE` comment.
fn parse(scrape: &str) -> Vec<Sample> {
    let mut samples = Vec::new();
    for line in scrape.lines() {
        if line.starts_with("# HELP ") || line.starts_with("# TYPE ") {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("a value");
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("bad value in {line}")),
        };
        let (name, labels) = match series.split_once('{') {
            None => (series, BTreeMap::new()),
            Some((name, rest)) => {
                let body = rest.strip_suffix('}').expect("closing brace");
                let labels = body
                    .split("\",")
                    .map(|pair| {
                        let (k, v) = pair.split_once("=\"").expect("label=\"value\"");
                        (k.to_owned(), v.trim_end_matches('"').to_owned())
                    })
                    .collect();
                (name, labels)
            }
        };
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "bad metric name in {line}"
        );
        samples.push(Sample {
            name: name.to_owned(),
            labels,
            value,
        });
    }
    samples
}

fn value_of(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
}

/// A listener serving the login page, the legacy login API and `/metrics`.
fn router(state: &AppState) -> axum::Router {
    let listener = ListenerConfig {
        name: None,
        resources: [
            ResourceName::Human,
            ResourceName::Compat,
            ResourceName::Prometheus,
        ]
        .into_iter()
        .map(ResourceConfig::named)
        .collect(),
        prefix: None,
        binds: vec![BindConfig::address("127.0.0.1:0")],
        proxy_protocol: false,
        tls: None,
    };
    crate::http::listener_router(&listener, state.clone())
}

async fn scrape(router: &axum::Router) -> TestResponse {
    let request = Request::get("/metrics")
        .body(axum::body::Body::empty())
        .unwrap();
    send(router, request).await
}

fn compat_login(password: &str) -> serde_json::Value {
    json!({
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": "alice"},
        "password": password,
    })
}

#[tokio::test]
async fn a_scrape_after_logins_counts_them_by_method_and_result() {
    let t = test_state().await;
    let router = router(&t.state);
    add_user(&t.state, "alice", "wonderland").await;
    let path = "/_matrix/client/v3/login";
    assert_eq!(
        post_json(&router, path, compat_login("wonderland"), None)
            .await
            .status,
        200
    );
    assert_eq!(
        post_json(&router, path, compat_login("wrong"), None)
            .await
            .status,
        403
    );
    let page = Browser::default()
        .log_in(&router, "alice", "wonderland")
        .await;
    assert_eq!(page.status, 303, "{}", page.body);

    let response = scrape(&router).await;
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type").as_deref(),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    super::promtool::check(&response.body);
    let samples = parse(&response.body);
    let logins = |method, result| {
        value_of(
            &samples,
            "mxauth_logins_total",
            &[("method", method), ("result", result)],
        )
    };
    assert_eq!(logins("compat_password", "success"), Some(1.0));
    assert_eq!(logins("compat_password", "failure"), Some(1.0));
    assert_eq!(logins("password", "success"), Some(1.0));
    assert_eq!(logins("password", "failure"), Some(0.0));
    assert_eq!(logins("upstream", "success"), Some(0.0));

    // The route is the template, whatever version the client asked.
    let route = [
        ("route", "/_matrix/client/{version}/login"),
        ("method", "POST"),
    ];
    let ok = [route[0], route[1], ("status", "200")];
    assert_eq!(
        value_of(&samples, "mxauth_http_requests_total", &ok),
        Some(1.0)
    );
    let refused = [route[0], route[1], ("status", "403")];
    assert_eq!(
        value_of(&samples, "mxauth_http_requests_total", &refused),
        Some(1.0)
    );
    let count = [route[0]];
    assert_eq!(
        value_of(
            &samples,
            "mxauth_http_request_duration_seconds_count",
            &count
        ),
        Some(2.0)
    );
    let inf = [route[0], ("le", "+Inf")];
    assert_eq!(
        value_of(
            &samples,
            "mxauth_http_request_duration_seconds_bucket",
            &inf
        ),
        Some(2.0)
    );

    // Gauges of the moment.
    let idle = value_of(&samples, "mxauth_db_connections", &[("state", "idle")]);
    assert!(idle.is_some_and(|idle| idle >= 1.0), "{idle:?}");
    assert!(value_of(&samples, "mxauth_db_connections_waiting", &[]).is_some());
    assert_eq!(
        value_of(&samples, "mxauth_password_hashes_in_flight", &[]),
        Some(0.0)
    );
    assert!(response.body.contains("# TYPE mxauth_jobs_queued gauge"));
}

#[tokio::test]
async fn unknown_paths_share_one_series() {
    let t = test_state().await;
    let router = router(&t.state);
    for path in ["/wp-admin", "/.env", "/a/b/c"] {
        let request = Request::get(path).body(axum::body::Body::empty()).unwrap();
        assert_eq!(send(&router, request).await.status, 404);
    }
    let samples = parse(&scrape(&router).await.body);
    let unmatched = [("route", UNMATCHED_ROUTE), ("status", "404")];
    assert_eq!(
        value_of(&samples, "mxauth_http_requests_total", &unmatched),
        Some(3.0)
    );
    assert!(samples.iter().all(|s| s
        .labels
        .get("route")
        .is_none_or(|r| !r.contains("wp-admin"))));
}

#[tokio::test]
async fn metrics_are_not_served_unless_the_exporter_is_prometheus() {
    let mut t = test_state().await;
    t.state.site = std::sync::Arc::new(crate::state::SiteConfig {
        prometheus_metrics: false,
        ..(*t.state.site).clone()
    });
    assert_eq!(scrape(&router(&t.state)).await.status, 404);
}

#[tokio::test]
async fn homeserver_calls_are_timed_and_failures_counted() {
    // Nothing listens on port 9 of the loopback (discard): unreachable.
    let endpoint = url::Url::parse("http://127.0.0.1:9/").unwrap();
    let metrics = std::sync::Arc::new(Metrics::default());
    let synapse = SynapseConnection::new(endpoint, "secret".into(), "example.com".into(), false)
        .unwrap()
        .with_metrics(metrics.clone());
    assert!(synapse.query_user("alice").await.is_err());
    let mut out = exposition::Exposition::default();
    metrics.render(&mut out);
    let samples = parse(&out.into_string());
    let call = [("endpoint", "query_user")];
    assert_eq!(
        value_of(&samples, "mxauth_homeserver_errors_total", &call),
        Some(1.0)
    );
    assert_eq!(
        value_of(
            &samples,
            "mxauth_homeserver_request_duration_seconds_count",
            &call
        ),
        Some(1.0)
    );
}
