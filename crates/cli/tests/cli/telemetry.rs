//! Telemetry of a running server: `/metrics` on the `prometheus` resource
//! after real logins (checked by promtool), spans posted to a real
//! OTLP/HTTP receiver (continuing the caller's `traceparent`), and JSON log
//! lines that hold no password or token.

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpListener,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use crate::support::{
    fake_synapse, http_get, migrate_and_register, mxauth, run, serve_compat, server_config,
    temp_dir, wait_for, with_configs, write_config, RunningServer, TestDatabase,
};

#[path = "../../../server/src/metrics/promtool.rs"]
mod promtool;

/// An OTLP/HTTP receiver: answers every POST with `{}` (OTLP/HTTP §
/// "Full Success") and keeps the bodies, JSON as the exporter sends them.
struct OtlpReceiver {
    port: u16,
    bodies: Arc<Mutex<Vec<(String, String)>>>,
}

impl OtlpReceiver {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let kept = bodies.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let kept = kept.clone();
                std::thread::spawn(move || serve_one(stream, &kept));
            }
        });
        Self { port, bodies }
    }

    /// Waits (at most 20 s) for a posted body containing every one of
    /// `needles`; returns it.
    fn wait_for_body(&self, needles: &[&str]) -> (String, String) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            let found = self
                .bodies
                .lock()
                .unwrap()
                .iter()
                .find(|(_, body)| needles.iter().all(|n| body.contains(n)))
                .cloned();
            if let Some(found) = found {
                return found;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "no span with {needles:?} reached the receiver; got {:?}",
            self.bodies.lock().unwrap()
        );
    }
}

/// Reads keep-alive requests from one connection until it closes.
fn serve_one(stream: std::net::TcpStream, kept: &Mutex<Vec<(String, String)>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let (mut length, mut content_type) = (0, String::new());
        let mut header = String::new();
        while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
            if let Some((name, value)) = header.split_once(':') {
                match name.to_ascii_lowercase().as_str() {
                    "content-length" => length = value.trim().parse().unwrap_or(0),
                    "content-type" => content_type = value.trim().to_owned(),
                    _ => {}
                }
            }
            header.clear();
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let path = request_line.split(' ').nth(1).unwrap_or_default();
        kept.lock().unwrap().push((
            format!("{path} {content_type}"),
            String::from_utf8_lossy(&body).into_owned(),
        ));
        let _ = write!(
            writer,
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{{}}"
        );
    }
}

/// A raw HTTP/1.1 request; answers status and body.
fn http(port: u16, request: &str) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.split(' ').nth(1).unwrap().parse().unwrap();
    let body = response.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
    (status, body)
}

fn compat_login(port: u16, password: &str) -> u16 {
    let body = format!(
        r#"{{"type":"m.login.password","identifier":{{"type":"m.id.user","user":"alice"}},"password":"{password}"}}"#
    );
    let request = format!(
        "POST /_matrix/client/v3/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    http(port, &request).0
}

/// The value of the sample line `series` (name and labels as written).
fn sample(scrape: &str, series: &str) -> Option<f64> {
    scrape
        .lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|value| value.parse().unwrap())
}

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PASSWORD: &str = "wonderland-7f3a";

#[test]
fn a_running_server_serves_metrics_sends_spans_and_logs_json() {
    let receiver = OtlpReceiver::start();
    let db = TestDatabase::sqlite(&temp_dir("telemetry"));
    let extra = format!(
        "matrix:\n  homeserver: example.com\n  endpoint: \"{}\"\n\
         telemetry:\n  metrics: {{exporter: prometheus}}\n  tracing:\n    exporter: otlp\n    endpoint: \"http://127.0.0.1:{}\"\n    propagators: [tracecontext]\n    sample_rate: 1.0\n",
        fake_synapse(&[]),
        receiver.port
    );
    let (files, port) = server_config("telemetry", &db, &extra);
    serve_compat(&files);
    let with_prometheus = std::fs::read_to_string(&files[1])
        .unwrap()
        .replace("{name: compat}]", "{name: compat}, {name: prometheus}]");
    std::fs::write(&files[1], with_prometheus).unwrap();
    migrate_and_register(&files, "alice", PASSWORD, &[]);
    let log = temp_dir("telemetry-log").join("server.log");
    let child = with_configs(&mut mxauth(), &files)
        .arg("server")
        .env("MXAUTH_LOG_FORMAT", "json")
        // Spans leave every 100 ms instead of every 5 s.
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let server = RunningServer { child, port };
    assert_eq!(wait_for(port, "/health").0, 200);

    assert_eq!(compat_login(port, PASSWORD), 200);
    assert_eq!(compat_login(port, "wrong"), 403);
    let traced = format!(
        "GET /.well-known/openid-configuration HTTP/1.1\r\nHost: localhost\r\ntraceparent: 00-{TRACE_ID}-00f067aa0ba902b7-01\r\nConnection: close\r\n\r\n"
    );
    assert_eq!(http(port, &traced).0, 200);

    let (status, scrape) = http_get(port, "/metrics").unwrap();
    assert_eq!(status, 200);
    promtool::check(&scrape);
    let logins = |result: &str| {
        sample(
            &scrape,
            &format!("mxauth_logins_total{{method=\"compat_password\",result=\"{result}\"}}"),
        )
    };
    assert_eq!(logins("success"), Some(1.0), "{scrape}");
    assert_eq!(logins("failure"), Some(1.0), "{scrape}");
    let discovery = "mxauth_http_requests_total{route=\"/.well-known/openid-configuration\",method=\"GET\",status=\"200\"}";
    assert_eq!(sample(&scrape, discovery), Some(1.0), "{scrape}");
    // The device of the login was created on the homeserver, and timed.
    let upserts = "mxauth_homeserver_request_duration_seconds_count{endpoint=\"upsert_device\"}";
    assert!(
        sample(&scrape, upserts).is_some_and(|n| n >= 1.0),
        "{scrape}"
    );

    // The request's span, in the caller's trace, named after its route.
    let (target, body) =
        receiver.wait_for_body(&[TRACE_ID, "GET /.well-known/openid-configuration"]);
    assert_eq!(target, "/v1/traces application/json");
    let spans: serde_json::Value = serde_json::from_str(&body).unwrap();
    let span = spans["resourceSpans"][0]["scopeSpans"][0]["spans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["traceId"] == TRACE_ID)
        .unwrap()
        .clone();
    assert_eq!(span["parentSpanId"], "00f067aa0ba902b7");
    let attributes = span["attributes"].to_string();
    assert!(
        attributes.contains("\"http.response.status_code\""),
        "{attributes}"
    );
    assert!(
        attributes.contains("/.well-known/openid-configuration"),
        "{attributes}"
    );
    assert_eq!(span["name"], "GET /.well-known/openid-configuration");
    // The homeserver call of the login is a span inside the login's.
    let (_, body) = receiver.wait_for_body(&["\"upsert_device\""]);
    let spans: serde_json::Value = serde_json::from_str(&body).unwrap();
    let upsert = spans["resourceSpans"][0]["scopeSpans"][0]["spans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["attributes"].to_string().contains("\"upsert_device\""))
        .unwrap()
        .clone();
    assert_eq!(upsert["name"], "homeserver");
    assert_ne!(upsert["parentSpanId"], "", "{upsert}");

    drop(server);
    let lines = std::fs::read_to_string(&log).unwrap();
    assert!(lines.lines().count() > 3, "{lines}");
    for line in lines.lines() {
        let object: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        assert!(
            object["level"].is_string() && object["fields"].is_object(),
            "{line}"
        );
    }
    assert!(
        lines.contains("POST /_matrix/client/v3/login 200"),
        "{lines}"
    );
    assert!(!lines.contains(PASSWORD), "a password reached the log");
    assert!(
        !lines.contains("syt_") && !lines.contains("mct_"),
        "a token reached the log"
    );
    assert!(!lines.to_lowercase().contains("authorization"), "{lines}");
}

#[test]
fn log_format_json_writes_every_line_as_json_even_the_error() {
    let dir = temp_dir("log-format");
    let blocked = dir.join("not-a-dir");
    std::fs::write(&blocked, "").unwrap();
    let files = write_config(
        &dir,
        &format!(
            "database:\n  uri: \"sqlite://{}/x.db\"\ntelemetry:\n  sentry: {{dsn: \"https://k@sentry.example.com/1\"}}\n",
            blocked.display()
        ),
    );
    let failed = run(with_configs(mxauth().args(["--log-format", "json"]), &files).arg("server"));
    failed.failed();
    let lines: Vec<serde_json::Value> = failed
        .stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let messages: Vec<&str> = lines
        .iter()
        .filter_map(|l| l["fields"]["message"].as_str())
        .collect();
    assert!(
        messages.iter().any(|m| m.contains("telemetry.sentry.dsn")),
        "{messages:?}"
    );
    assert_eq!(lines.last().unwrap()["level"], "ERROR", "{lines:?}");

    let refused = run(mxauth().args(["--log-format", "yaml", "config", "check"]));
    refused.failed().says("json");
}
