//! The layers at the edge of every listener: request ids, the request span
//! in the logs, CORS.

use std::sync::{Arc, Mutex};

use axum::{body::Body, http::Request};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;
use crate::{
    state::SiteConfig,
    test_support::{router_for, send, test_state},
};
use mxauth_config::HttpLimits;

#[tokio::test]
async fn every_answer_carries_a_request_id_and_a_trusted_proxy_keeps_its_own() {
    let t = test_state().await;
    let router = router_for(&t.state, "");
    let fresh = send(
        &router,
        Request::get("/health").body(Body::empty()).unwrap(),
    )
    .await;
    let id = fresh.header("x-request-id").expect("a request id");
    assert_eq!(id.len(), 26, "a ULID: {id}");
    let other = send(&router, Request::get("/nope").body(Body::empty()).unwrap()).await;
    assert_ne!(
        other.header("x-request-id").unwrap(),
        id,
        "one id per request"
    );

    // In process there is no peer address: the caller counts as a trusted
    // proxy, whose id is kept.
    let proxied = send(
        &router,
        Request::get("/health")
            .header("x-request-id", "nginx-7f3a")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(
        proxied.header("x-request-id").as_deref(),
        Some("nginx-7f3a")
    );
}

#[tokio::test]
async fn a_client_that_is_no_trusted_proxy_cannot_choose_its_request_id() {
    let mut state = test_state().await.state;
    state.site = Arc::new(SiteConfig {
        trusted_proxies: Vec::new(),
        ..(*state.site).clone()
    });
    let listeners = vec![mxauth_config::ListenerConfig {
        name: None,
        resources: vec![mxauth_config::ResourceConfig::named(ResourceName::Health)],
        prefix: None,
        binds: vec![mxauth_config::BindConfig::address("127.0.0.1:0")],
        proxy_protocol: false,
        tls: None,
    }];
    let bound = bind_listeners(&listeners).await.unwrap();
    let address = bound[0]
        .display_base()
        .trim_start_matches("http://")
        .to_owned();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let routers = vec![listener_router(&listeners[0], state)];
    let limits = HttpLimits::default();
    let server =
        tokio::spawn(async move { serve_listeners(bound, routers, &limits, stopped).await });

    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    stream
        .write_all(
            b"GET /health HTTP/1.1\r\nHost: x\r\nX-Request-Id: forged-id\r\nConnection: close\r\n\r\n",
        )
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let id = response
        .lines()
        .find_map(|l| l.strip_prefix("x-request-id: "))
        .expect("a request id header");
    assert_ne!(id, "forged-id");
    assert_eq!(id.len(), 26, "{id}");
    stop.send(true).unwrap();
    server.await.unwrap().unwrap();
}

/// Collects what the fmt subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn log_lines_of_a_request_carry_its_id_and_route() {
    let t = test_state().await;
    let router = router_for(&t.state, "/auth");
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let response = send(
        &router,
        Request::get("/auth/consent/01ARZ3NDEKTSV4RRFFQ69G5FAV")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let id = response.header("x-request-id").unwrap();
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let line = logs
        .lines()
        .find(|l| l.contains("GET /auth/consent/01ARZ3NDEKTSV4RRFFQ69G5FAV"))
        .unwrap_or_else(|| panic!("no request line in {logs}"));
    assert!(line.contains(&format!("id={id}")), "{line}");
    assert!(line.contains("route=/auth/consent/{grant_id}"), "{line}");
}

#[tokio::test]
async fn browsers_may_call_the_api_resources_but_not_the_pages() {
    let t = test_state().await;
    let router = router_for(&t.state, "");
    for path in [
        crate::urls::paths::TOKEN,
        crate::urls::paths::REVOKE,
        crate::urls::paths::REGISTRATION,
        "/_matrix/client/v3/login",
    ] {
        let preflight = send(
            &router,
            Request::options(path)
                .header("origin", "https://app.element.io")
                .header("access-control-request-method", "POST")
                .header("access-control-request-headers", "content-type")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(preflight.status, 200, "{path}");
        assert_eq!(
            preflight.header("access-control-allow-origin").as_deref(),
            Some("*"),
            "{path}"
        );
        let methods = preflight.header("access-control-allow-methods").unwrap();
        assert!(methods.contains("POST"), "{path}: {methods}");
    }
    let discovery = send(
        &router,
        Request::get(crate::urls::paths::DISCOVERY)
            .header("origin", "https://app.element.io")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(
        discovery.header("access-control-allow-origin").as_deref(),
        Some("*")
    );
    let login_page = send(
        &router,
        Request::get(crate::urls::paths::LOGIN)
            .header("origin", "https://evil.example")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(login_page.header("access-control-allow-origin"), None);
}
