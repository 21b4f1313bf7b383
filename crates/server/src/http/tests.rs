//! In-process tests of the listener router against a real SQLite database.

use axum::{body::Body, http::Request};
use tower::ServiceExt;

use super::*;
use mxauth_config::{BindConfig, ResourceConfig};

async fn state() -> AppState {
    crate::test_support::test_state().await.state
}

fn listener(prefix: Option<&str>) -> ListenerConfig {
    ListenerConfig {
        name: None,
        resources: vec![ResourceConfig::named(ResourceName::Health)],
        prefix: prefix.map(str::to_owned),
        binds: vec![BindConfig::address("127.0.0.1:0")],
        proxy_protocol: false,
        tls: None,
    }
}

async fn get(router: &Router, path: &str) -> (u16, String) {
    let response = router
        .clone()
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn health_queries_the_database() {
    let state = state().await;
    let router = listener_router(&listener(None), state.clone());
    assert_eq!(get(&router, "/health").await, (200, "ok".into()));
    state.db.close().await;
    assert_eq!(get(&router, "/health").await.0, 503);
}

#[tokio::test]
async fn prefix_moves_every_route() {
    let state = state().await;
    for prefix in ["/auth", "/auth/", "auth"] {
        let router = listener_router(&listener(Some(prefix)), state.clone());
        assert_eq!(
            get(&router, "/auth/health").await,
            (200, "ok".into()),
            "{prefix}"
        );
        assert_eq!(get(&router, "/health").await.0, 404, "{prefix}");
    }
}

#[tokio::test]
async fn unknown_paths_are_404() {
    let router = listener_router(&listener(None), state().await);
    assert_eq!(get(&router, "/nope").await.0, 404);
}

#[tokio::test]
async fn bound_listener_serves_until_shutdown() {
    let state = state().await;
    let listeners = vec![listener(Some("/auth"))];
    let bound = bind_listeners(&listeners).await.unwrap();
    let base = bound[0].display_base();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let routers = vec![listener_router(&listeners[0], state)];
    let limits = mxauth_config::HttpLimits::default();
    let server =
        tokio::spawn(async move { serve_listeners(bound, routers, &limits, stopped).await });

    // A plain HTTP/1.1 request over TCP, to test the real socket.
    let address = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream
        .write_all(b"GET /auth/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("ok"), "{response}");

    stop.send(true).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(5), server)
        .await
        .expect("server stops after shutdown")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn a_taken_port_is_a_clear_error() {
    let first = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let taken = first.local_addr().unwrap().to_string();
    let mut config = listener(None);
    config.binds = vec![BindConfig::address(&taken)];
    let err = bind_listeners(&[config]).await.err().unwrap().to_string();
    assert!(
        err.starts_with(&format!("cannot listen on {taken}")),
        "{err}"
    );
}
