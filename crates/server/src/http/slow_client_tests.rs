//! Slow and idle clients against a served listener with short
//! `http.limits`, over real sockets: each deadline closes the socket at its
//! time and not before, a slow handler is not cut off, and the connection
//! cap holds extra connections back until a slot frees.

use std::time::{Duration, Instant};

use axum::{routing::post, Router};
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use super::*;
use mxauth_config::{BindConfig, HttpLimits, ResourceConfig};

/// Distinct deadlines, so a test can tell which one closed the socket.
const LIMITS: HttpLimits = HttpLimits {
    header_read_timeout: 1,
    body_read_timeout: 2,
    idle_timeout: 3,
    max_connections: 1000,
    handler_timeout: 60,
};

/// Slack for scheduling on a loaded machine.
const SLACK: Duration = Duration::from_millis(900);

struct Server {
    address: String,
    stop: tokio::sync::watch::Sender<bool>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Serves `/echo` (reads the whole body) and `/slow` (answers after 2.5 s,
/// longer than the header and body deadlines) on a random port.
async fn serve(limits: HttpLimits) -> Server {
    let listener = ListenerConfig {
        name: None,
        resources: vec![ResourceConfig::named(ResourceName::Health)],
        prefix: None,
        binds: vec![BindConfig::address("127.0.0.1:0")],
        proxy_protocol: false,
        tls: None,
    };
    let router = Router::new()
        .route("/echo", post(|body: String| async move { body }))
        .route(
            "/slow",
            post(|| async {
                tokio::time::sleep(Duration::from_millis(2500)).await;
                "done"
            }),
        );
    let bound = bind_listeners(std::slice::from_ref(&listener))
        .await
        .unwrap();
    let address = bound[0]
        .display_base()
        .trim_start_matches("http://")
        .to_owned();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move { serve_listeners(bound, vec![router], &limits, stopped).await });
    Server { address, stop }
}

/// A new connection that has sent `bytes`.
async fn send_raw(server: &Server, bytes: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(&server.address).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    stream
}

/// Reads until the server closes the socket (or `limit` passes) and says
/// when that was, counted from `since`, with what was received.
async fn wait_for_close(
    stream: &mut (impl AsyncRead + Unpin),
    since: Instant,
    limit: Duration,
) -> (Duration, String) {
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = since + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => received.extend_from_slice(&buf[..n]),
            Err(_) => panic!(
                "the socket is still open after {limit:?}; received {:?}",
                String::from_utf8_lossy(&received)
            ),
        }
    }
    (
        since.elapsed(),
        String::from_utf8_lossy(&received).into_owned(),
    )
}

/// A 200 whose body is `body`.
fn assert_answered(response: &str, body: &str) {
    assert!(
        response.starts_with("HTTP/1.1 200") && response.ends_with(body),
        "{response}"
    );
}

fn assert_closed_at(elapsed: Duration, expected: Duration, what: &str) {
    assert!(
        elapsed + Duration::from_millis(100) >= expected && elapsed <= expected + SLACK,
        "{what}: closed after {elapsed:?}, expected about {expected:?}"
    );
}

#[tokio::test]
async fn a_client_that_sends_nothing_is_closed_at_the_header_deadline() {
    let server = serve(LIMITS).await;
    let started = Instant::now();
    let mut stream = TcpStream::connect(&server.address).await.unwrap();
    let (elapsed, _) = wait_for_close(&mut stream, started, Duration::from_secs(5)).await;
    assert_closed_at(elapsed, Duration::from_secs(1), "silent client");
}

#[tokio::test]
async fn a_trickled_header_is_closed_at_the_header_deadline() {
    let server = serve(LIMITS).await;
    let started = Instant::now();
    let stream = TcpStream::connect(&server.address).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    writer
        .write_all(b"GET /echo HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // One more header byte every 200 ms: activity, but never a whole head.
    let trickle = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if writer.write_all(b"X").await.is_err() {
                break;
            }
        }
    });
    let (elapsed, _) = wait_for_close(&mut reader, started, Duration::from_secs(5)).await;
    trickle.abort();
    assert_closed_at(elapsed, Duration::from_secs(1), "half a header");
}

#[tokio::test]
async fn half_a_body_is_closed_at_the_body_deadline() {
    let server = serve(LIMITS).await;
    let mut stream = send_raw(
        &server,
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789",
    )
    .await;
    let started = Instant::now();
    let (elapsed, _) = wait_for_close(&mut stream, started, Duration::from_secs(6)).await;
    assert_closed_at(elapsed, Duration::from_secs(2), "half a body");
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_at_the_idle_deadline() {
    let server = serve(LIMITS).await;
    let mut stream = send_raw(
        &server,
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi",
    )
    .await;
    let mut buf = [0u8; 1024];
    let n = stream.read(&mut buf).await.unwrap();
    let answered = Instant::now();
    let response = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert_answered(&response, "hi");
    // Past the header deadline but within the idle one, the connection
    // still serves a second request.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stream
        .write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nagain")
        .await
        .unwrap();
    let n = stream.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).ends_with("again"));
    let answered_again = Instant::now();
    assert!(answered_again.duration_since(answered) >= Duration::from_millis(1500));
    let (elapsed, _) = wait_for_close(&mut stream, answered_again, Duration::from_secs(6)).await;
    assert_closed_at(elapsed, Duration::from_secs(3), "idle keep-alive");
}

#[tokio::test]
async fn a_slow_handler_is_not_a_slow_client() {
    let server = serve(LIMITS).await;
    let mut stream = send_raw(
        &server,
        b"POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    )
    .await;
    let (_, response) = wait_for_close(&mut stream, Instant::now(), Duration::from_secs(6)).await;
    assert_answered(&response, "done");
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_for_a_free_slot() {
    let limits = HttpLimits {
        max_connections: 2,
        header_read_timeout: 30,
        ..LIMITS
    };
    let server = serve(limits).await;
    let first = TcpStream::connect(&server.address).await.unwrap();
    let _second = TcpStream::connect(&server.address).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The kernel completes the third handshake, but mxauth does not serve it.
    let mut third = send_raw(
        &server,
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
    )
    .await;
    let mut buf = [0u8; 1024];
    let waited = tokio::time::timeout(Duration::from_millis(700), third.read(&mut buf)).await;
    assert!(
        waited.is_err(),
        "the third connection was served while two were open"
    );
    drop(first);
    let started = Instant::now();
    let (elapsed, response) = wait_for_close(&mut third, started, Duration::from_secs(3)).await;
    assert_answered(&response, "ok");
    assert!(
        elapsed < Duration::from_secs(1),
        "served {elapsed:?} after a slot freed"
    );
}
