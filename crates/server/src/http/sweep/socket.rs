//! The part of the sweep that needs a real served socket, because hyper
//! answers it before the router: 1 MB headers and request lines, too many
//! headers, broken framing, a 10 MB body announced but not sent, and a slow
//! body that must not hold up other requests.

use std::{net::SocketAddr, time::Duration};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use super::{judge, ROUTES};
use crate::{
    http::{bind_listeners, serve_listeners},
    test_support::{router_for, test_state, TestResponse},
};
use mxauth_config::{BindConfig, ListenerConfig};

/// Serves every resource on a loopback port until the sender is dropped.
async fn serve() -> (SocketAddr, tokio::sync::watch::Sender<bool>) {
    let state = test_state().await.state;
    let listener = ListenerConfig {
        name: None,
        resources: Vec::new(),
        prefix: None,
        binds: vec![BindConfig::address("127.0.0.1:0")],
        proxy_protocol: false,
        tls: None,
    };
    let bound = bind_listeners(&[listener]).await.unwrap();
    let address = bound[0]
        .display_base()
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let routers = vec![router_for(&state, "")];
    tokio::spawn(async move {
        let limits = mxauth_config::HttpLimits::default();
        serve_listeners(bound, routers, &limits, stopped).await
    });
    (address, stop)
}

/// Writes `request` (errors ignored: the server may close early) while
/// reading the answer until the server closes or 10 s pass.
async fn exchange(address: SocketAddr, request: Vec<u8>) -> String {
    let stream = TcpStream::connect(address).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let write = tokio::spawn(async move {
        let _ = writer.write_all(&request).await;
        writer
    });
    let mut answer = Vec::new();
    let read = reader.read_to_end(&mut answer);
    let _ = tokio::time::timeout(Duration::from_secs(10), read).await;
    write.abort();
    String::from_utf8_lossy(&answer).into_owned()
}

/// The status and body of a raw HTTP/1.1 answer; 0 when there was none
/// (the server closed the connection without answering).
fn parse(answer: &str) -> TestResponse {
    let status = answer
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    TestResponse {
        status,
        headers: Default::default(),
        body: body.to_owned(),
    }
}

fn hostile_requests(path: &str) -> Vec<(&'static str, Vec<u8>)> {
    let head =
        |extra: &str| format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{extra}\r\n");
    let big = "a".repeat(1024 * 1024);
    let many: String = (0..500).map(|i| format!("X-H{i}: v\r\n")).collect();
    let post = |headers: &str, body: &str| {
        format!("POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{headers}\r\n{body}")
    };
    vec![
        (
            "1 MB header",
            head(&format!("X-Big: {big}\r\n")).into_bytes(),
        ),
        (
            "1 MB cookie",
            head(&format!("Cookie: a={big}\r\n")).into_bytes(),
        ),
        (
            "1 MB query",
            format!("GET {path}?q={big} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .into_bytes(),
        ),
        ("500 headers", head(&many).into_bytes()),
        ("NUL in a header", head("X-A: a\0b\r\n").into_bytes()),
        ("garbage request line", b"GARBAGE\r\n\r\n".to_vec()),
        (
            "two lengths",
            post("Content-Length: 3\r\nContent-Length: 5\r\n", "abcde").into_bytes(),
        ),
        (
            "bad chunk size",
            post("Transfer-Encoding: chunked\r\n", "zz\r\nabc\r\n0\r\n\r\n").into_bytes(),
        ),
        (
            "10 MB announced, 64 KB sent",
            post(
                "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 10485760\r\n",
                &"a".repeat(64 * 1024),
            )
            .into_bytes(),
        ),
    ]
}

#[tokio::test]
async fn hyper_level_bad_input_gets_a_4xx() {
    let (address, _stop) = serve().await;
    let mut failures = Vec::new();
    for route in ROUTES {
        let path = route
            .replace("{version}", "v3")
            .replace("{idp}", "x")
            .replace("{grant_id}", "01ARZ3NDEKTSV4RRFFQ69G5FAV")
            .replace("{id}", "01ARZ3NDEKTSV4RRFFQ69G5FAV");
        for (label, request) in hostile_requests(&path) {
            let response = parse(&exchange(address, request).await);
            if let Some(reason) = judge(&response) {
                failures.push(format!("{path} [{label}] {reason}"));
            }
            // hyper or the guard must answer each, with a 4xx; 0 is none.
            let expected = match label.starts_with("10 MB") {
                true => 413..=413,
                false => 400..=499,
            };
            if !expected.contains(&response.status) {
                let status = response.status;
                failures.push(format!("{path} [{label}] status {status}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let health = exchange(
        address,
        b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(),
    );
    assert!(
        health.await.starts_with("HTTP/1.1 200"),
        "the server survives"
    );
}

#[tokio::test]
async fn a_slow_body_holds_up_no_other_request() {
    let (address, _stop) = serve().await;
    let mut slow = TcpStream::connect(address).await.unwrap();
    let head = "POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nusername=";
    slow.write_all(head.as_bytes()).await.unwrap();
    let health = exchange(
        address,
        b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(),
    );
    let health = tokio::time::timeout(Duration::from_secs(5), health).await;
    assert!(health
        .expect("answered while a body trickles in")
        .starts_with("HTTP/1.1 200"));
    // The rest of the body, late: the request is answered, not failed.
    slow.write_all("a".repeat(91).as_bytes()).await.unwrap();
    let mut answer = vec![0; 12];
    tokio::time::timeout(Duration::from_secs(10), slow.read_exact(&mut answer))
        .await
        .expect("an answer to the slow request")
        .unwrap();
    let status = String::from_utf8_lossy(&answer[9..12]).into_owned();
    assert!(!status.starts_with('5'), "status {status}");
}
