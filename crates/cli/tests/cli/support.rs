//! Helpers: running the binary, temporary configs and databases, raw HTTP.

use std::{
    io::{BufRead, BufReader, Read, Write},
    path::{Path, PathBuf},
    process::{Command, Output},
    sync::{Arc, Mutex},
};

use mxauth_storage::{Database, DatabaseSettings};

pub const SAMPLE: &str = include_str!("../fixtures/mas-config-sample.yaml");

pub fn mxauth() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mxauth"));
    command
        .env_remove("MXAUTH_CONFIG")
        .env_remove("MAS_CONFIG")
        .env("RUST_LOG", "info");
    command
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Fails, showing standard error, unless the command exited with 0.
    #[track_caller]
    pub fn succeeded(&self) -> &Self {
        assert_eq!(self.code, 0, "{}", self.stderr);
        self
    }

    /// Fails, showing standard error, unless the command exited non-zero.
    #[track_caller]
    pub fn failed(&self) -> &Self {
        assert_ne!(self.code, 0, "{}", self.stderr);
        self
    }

    /// Fails, showing standard error, unless it contains `text`.
    #[track_caller]
    pub fn says(&self, text: &str) -> &Self {
        assert!(
            self.stderr.contains(text),
            "expected {text:?} on standard error:\n{}",
            self.stderr
        );
        self
    }
}

pub fn run(command: &mut Command) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = command.output().expect("run mxauth");
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// A fresh empty directory under the system temp dir.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mxauth-cli-{name}-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes the MAS sample config with `extra` YAML appended (later keys of
/// the same name are merged by passing a second file instead).
pub fn write_config(dir: &Path, overrides: &str) -> Vec<PathBuf> {
    let base = dir.join("base.yaml");
    std::fs::write(&base, SAMPLE).unwrap();
    let over = dir.join("override.yaml");
    std::fs::write(&over, overrides).unwrap();
    vec![base, over]
}

pub fn with_configs<'a>(command: &'a mut Command, files: &[PathBuf]) -> &'a mut Command {
    for file in files {
        command.arg("-c").arg(file);
    }
    command
}

/// A database URI for a test, and how to remove it afterwards.
pub enum TestDatabase {
    Sqlite(String),
    Postgres {
        uri: String,
        admin: String,
        name: String,
    },
}

impl TestDatabase {
    pub fn sqlite(dir: &Path) -> Self {
        Self::Sqlite(format!("sqlite://{}", dir.join("mxauth.db").display()))
    }

    /// `None` outside CI when `DATABASE_URL` is unset.
    pub async fn postgres() -> Option<Self> {
        let admin = match std::env::var("DATABASE_URL") {
            Ok(url) if !url.is_empty() => url,
            _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
                panic!("CI=true but DATABASE_URL is not set")
            }
            _ => {
                skip_notice("DATABASE_URL is not set: skipping the PostgreSQL half of this test");
                return None;
            }
        };
        let name = format!(
            "mxauth_cli_{}",
            ulid::Ulid::new().to_string().to_lowercase()
        );
        let db = Database::connect(&DatabaseSettings::from_uri(admin.clone()))
            .await
            .unwrap();
        if let Database::Postgres(pool, _) = &db {
            sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
                .execute(pool)
                .await
                .unwrap();
        }
        db.close().await;
        let mut uri = url::Url::parse(&admin).unwrap();
        uri.set_path(&name);
        Some(Self::Postgres {
            uri: uri.to_string(),
            admin,
            name,
        })
    }

    pub fn uri(&self) -> &str {
        match self {
            Self::Sqlite(uri) | Self::Postgres { uri, .. } => uri,
        }
    }

    pub async fn open(&self) -> Database {
        Database::connect(&DatabaseSettings::from_uri(self.uri()))
            .await
            .unwrap()
    }

    pub async fn drop_database(self) {
        if let Self::Postgres { admin, name, .. } = self {
            let db = Database::connect(&DatabaseSettings::from_uri(admin))
                .await
                .unwrap();
            if let Database::Postgres(pool, _) = &db {
                let _ = sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(pool)
                    .await;
            }
            db.close().await;
        }
    }
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A plain HTTP/1.1 GET; `None` when nothing listens.
pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split(' ').nth(1)?.parse().ok()?;
    let body = response.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
    Some((status, body))
}

/// A stand-in for Synapse answering the calls `manage` makes:
/// `GET /_synapse/mas/is_localpart_available`, where like Synapse it
/// refuses localparts starting with `_` (400 `M_INVALID_USERNAME`) and the
/// `taken` ones (400 `M_USER_IN_USE`), and `POST /_synapse/mas/upsert_device`,
/// which it accepts. Returns its base URL; it answers until the test
/// process ends.
pub fn fake_synapse(taken: &[&str]) -> String {
    fake_synapse_recording(taken).0
}

/// [`fake_synapse`], with the bodies of the `upsert_device` calls it got.
pub fn fake_synapse_recording(taken: &[&str]) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let taken: Vec<String> = taken.iter().map(|t| (*t).to_owned()).collect();
    let devices = Arc::new(Mutex::new(Vec::new()));
    let recorded = devices.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(&stream);
            let mut request_line = String::new();
            let _ = reader.read_line(&mut request_line);
            // Read the headers and the body, so closing does not reset
            // the connection.
            let mut header = String::new();
            let mut length = 0;
            while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                if let Some((name, value)) = header.split_once(':') {
                    if name.eq_ignore_ascii_case("content-length") {
                        length = value.trim().parse().unwrap_or(0);
                    }
                }
                header.clear();
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let target = request_line.split(' ').nth(1).unwrap_or_default();
            let (status, answer) = match target.split_once("?localpart=") {
                Some(("/_synapse/mas/is_localpart_available", name)) if name.starts_with('_') => (
                    400,
                    r#"{"errcode":"M_INVALID_USERNAME","error":"User ID may not begin with _"}"#,
                ),
                Some(("/_synapse/mas/is_localpart_available", name))
                    if taken.iter().any(|t| t == name) =>
                {
                    (
                        400,
                        r#"{"errcode":"M_USER_IN_USE","error":"User ID already taken."}"#,
                    )
                }
                Some(("/_synapse/mas/is_localpart_available", _)) => (200, "{}"),
                _ if target == "/_synapse/mas/upsert_device" => {
                    let body = String::from_utf8_lossy(&body).into_owned();
                    recorded.lock().unwrap().push(body);
                    (200, "{}")
                }
                _ => (
                    404,
                    r#"{"errcode":"M_UNRECOGNIZED","error":"Unrecognized request"}"#,
                ),
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    (format!("http://127.0.0.1:{port}/"), devices)
}

/// Polls until `GET path` answers, for at most 20 s.
pub fn wait_for(port: u16, path: &str) -> (u16, String) {
    for _ in 0..200 {
        if let Some(answer) = http_get(port, path) {
            return answer;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("nothing answered on port {port} within 20 s");
}

pub fn sigterm(child: &std::process::Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// A running `mxauth server`, stopped with SIGTERM when dropped.
pub struct RunningServer {
    pub child: std::process::Child,
    pub port: u16,
}

impl RunningServer {
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        // A test may have stopped it already (SIGTERM, SIGKILL).
        if !matches!(self.child.try_wait(), Ok(None)) {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// Config files for a server on a free port serving every built resource,
/// with `db` as its database and `extra` YAML merged last.
pub fn server_config(name: &str, db: &TestDatabase, extra: &str) -> (Vec<PathBuf>, u16) {
    let dir = temp_dir(name);
    let port = free_port();
    let mut files = write_config(
        &dir,
        &format!(
            "http:\n  public_base: \"http://127.0.0.1:{port}/\"\n  issuer: \"http://127.0.0.1:{port}/\"\n  listeners:\n    - name: web\n      resources: [{{name: discovery}}, {{name: human}}, {{name: oauth}}, {{name: health}}]\n      binds: [{{address: \"127.0.0.1:{port}\"}}]\ndatabase:\n  uri: \"{}\"\nmatrix:\n  homeserver: example.com\npasswords:\n  minimum_complexity: 0\n",
            db.uri()
        ),
    );
    let extra_file = dir.join("extra.yaml");
    std::fs::write(&extra_file, if extra.is_empty() { "{}" } else { extra }).unwrap();
    files.push(extra_file);
    (files, port)
}

/// Adds the legacy login API (`compat`) to the listener of
/// [`server_config`]'s files, for a proxy in front of Synapse to send the
/// homeserver's `/login`, `/logout` and `/refresh` to.
pub fn serve_compat(files: &[PathBuf]) {
    let compat = std::fs::read_to_string(&files[1])
        .unwrap()
        .replace("{name: health}]", "{name: health}, {name: compat}]");
    std::fs::write(&files[1], compat).unwrap();
}

/// Starts the server and waits until `/health` answers.
pub fn start_server(files: Vec<PathBuf>, port: u16) -> RunningServer {
    let child = with_configs(&mut mxauth(), &files)
        .arg("server")
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let server = RunningServer { child, port };
    assert_eq!(wait_for(port, "/health").0, 200);
    server
}

/// A self-signed certificate for `127.0.0.1` and `localhost` made with the
/// `openssl` command: `(certificate.pem, key.pem)`.
pub fn self_signed_certificate(dir: &Path) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let status = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"])
        .args(["-subj", "/CN=127.0.0.1"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
        // A server certificate, not a CA: rustls refuses a CA as end entity.
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .args(["-addext", "keyUsage=digitalSignature"])
        .args(["-addext", "extendedKeyUsage=serverAuth"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("the openssl command");
    assert!(status.success(), "openssl could not make a certificate");
    (cert, key)
}

/// Follows the pages a person would see after a client sends them to
/// `authorize_url`: consent → login → consent → allow, with `http` not
/// following redirects. Returns the redirect back to the client and the
/// consent page's HTML.
pub async fn log_in_and_allow(
    http: &reqwest::Client,
    authorize_url: &str,
    username: &str,
    password: &str,
) -> (url::Url, String) {
    let base = url::Url::parse(authorize_url).unwrap();
    let location = |r: &reqwest::Response| {
        assert_eq!(r.status(), 303, "expected a redirect from {}", r.url());
        base.join(r.headers()["location"].to_str().unwrap())
            .unwrap()
    };
    let cookie_of = |r: &reqwest::Response| {
        let set = r.headers()["set-cookie"].to_str().unwrap();
        set.split(';').next().unwrap().to_owned()
    };
    let csrf_of = |html: &str| {
        let marker = "name=\"csrf\" value=\"";
        let start = html.find(marker).unwrap() + marker.len();
        html[start..].split('"').next().unwrap().to_owned()
    };

    let consent = location(&http.get(authorize_url).send().await.unwrap());
    let login = location(&http.get(consent.clone()).send().await.unwrap());
    assert!(login.path().ends_with("/login"), "{login}");
    let r = http.get(login.clone()).send().await.unwrap();
    let cookie = cookie_of(&r);
    let csrf = csrf_of(&r.text().await.unwrap());
    let r = http
        .post(login)
        .header("cookie", &cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", username),
            ("password", password),
            ("next", consent.path()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "login failed");
    let cookie = cookie_of(&r);
    let r = http
        .get(consent.clone())
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    let r = http
        .post(consent)
        .header("cookie", &cookie)
        .form(&[("csrf", csrf_of(&page).as_str()), ("decision", "allow")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let back = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    (back, page)
}

/// `database migrate`, then `manage register-user USER -p PASSWORD -y` with
/// `extra` arguments; both must succeed.
pub fn migrate_and_register(files: &[PathBuf], user: &str, password: &str, extra: &[&str]) {
    let migrated = run(with_configs(&mut mxauth(), files).args(["database", "migrate"]));
    assert_eq!(migrated.code, 0, "{}", migrated.stderr);
    let created = run(with_configs(&mut mxauth(), files)
        .args(["manage", "register-user", user, "-p", password, "-y"])
        .args(extra));
    assert_eq!(created.code, 0, "{}", created.stderr);
}

/// Tells a developer that a test skipped its real part (a missing peer or
/// database), visibly without `--nocapture`: libtest captures `eprintln!`
/// of passing tests, but not writes to the standard error handle itself.
/// Under `CI=true` the callers panic instead.
pub fn skip_notice(reason: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED: {reason}");
}

/// Config files for a second replica of the server of [`server_config`]'s
/// `files` (same database, secrets and public base, as behind one proxy),
/// bound to another free port.
pub fn second_instance(files: &[PathBuf], port: u16) -> (Vec<PathBuf>, u16) {
    let other = free_port();
    let dir = temp_dir("second-instance");
    let listener = std::fs::read_to_string(&files[1]).unwrap().replace(
        &format!("address: \"127.0.0.1:{port}\""),
        &format!("address: \"127.0.0.1:{other}\""),
    );
    std::fs::write(dir.join("override.yaml"), listener).unwrap();
    let mut second = files.to_vec();
    second[1] = dir.join("override.yaml");
    (second, other)
}

/// Reads one HTTP/1.1 request (the head, then `content-length` bytes of
/// body) from a stand-in server's socket; returns it as `path body`.
pub async fn read_request(socket: &mut tokio::net::TcpStream) -> String {
    use tokio::io::AsyncReadExt;
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = socket.read(&mut buf).await {
        if n == 0 {
            break;
        }
        data.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&data).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_lowercase()
                        .strip_prefix("content-length:")
                        .map(str::to_owned)
                })
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if data.len() >= end + 4 + length {
                let path = text.split(' ').nth(1).unwrap_or_default().to_owned();
                return format!("{path} {}", &text[end + 4..]);
            }
        }
    }
    String::new()
}
