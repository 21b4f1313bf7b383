//! The real SMTP server of the tests: aiosmtpd (from PyPI, pinned in
//! `tests/peers/setup_smtp.sh`) storing what it accepts in a Maildir, read
//! back with Python's `mailbox` module. Outside CI a missing virtualenv
//! skips the test with a line on the terminal; under `CI=true` it fails.

use std::{
    io::Write as _,
    net::TcpStream,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde::Deserialize;

/// Reads every message of a Maildir as JSON: decoded headers, and the
/// decoded text and HTML parts.
const READ_MAILDIR: &str = r#"
import json, mailbox, sys
from email.header import decode_header, make_header
def header(msg, name):
    value = msg[name]
    return None if value is None else str(make_header(decode_header(value)))
out = []
for msg in mailbox.Maildir(sys.argv[1], factory=None, create=False):
    parts = {}
    for part in msg.walk():
        kind = part.get_content_type()
        if kind in ("text/plain", "text/html"):
            charset = part.get_content_charset() or "utf-8"
            parts[kind] = part.get_payload(decode=True).decode(charset)
    out.append({
        "subject": header(msg, "Subject"), "from": header(msg, "From"),
        "to": header(msg, "To"), "reply_to": header(msg, "Reply-To"),
        "content_type": msg.get_content_type(),
        "text": parts.get("text/plain"), "html": parts.get("text/html"),
    })
print(json.dumps(out))
"#;

/// One message as the SMTP server stored it.
#[derive(Debug, Clone, Deserialize)]
pub struct ReceivedEmail {
    pub subject: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub reply_to: Option<String>,
    pub content_type: String,
    pub text: Option<String>,
    pub html: Option<String>,
}

/// Where setup_smtp.sh made the virtualenv: `$MXAUTH_SMTP_VENV`, by
/// default `~/.cache/mxauth-peers/smtp-venv`; `None` (said on the
/// terminal) when it is missing outside CI.
pub fn venv() -> Option<PathBuf> {
    let path = std::env::var_os("MXAUTH_SMTP_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default())
                .join(".cache/mxauth-peers/smtp-venv")
        });
    let python = path.join("bin/python");
    let has_aiosmtpd = Command::new(&python)
        .args(["-c", "import aiosmtpd"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if has_aiosmtpd {
        return Some(path);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but aiosmtpd is not installed in {}: .ci/run installs it with tests/peers/setup_smtp.sh",
        path.display()
    );
    // Straight to the terminal: the test harness captures `eprintln!`.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: no aiosmtpd in {0}, so the real SMTP test did not run (install it with `VENV={0} bash tests/peers/setup_smtp.sh`, as .ci/run does, or set MXAUTH_SMTP_VENV)",
        path.display()
    );
    None
}

/// A free local port (bound, then released).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A running aiosmtpd, killed when dropped.
pub struct SmtpPeer {
    venv: PathBuf,
    pub port: u16,
    maildir: PathBuf,
    child: Child,
}

impl SmtpPeer {
    /// Starts aiosmtpd on `port` and waits until it accepts connections.
    pub fn start(venv: PathBuf, port: u16) -> Self {
        let maildir = std::env::temp_dir().join(format!("mxauth-maildir-{}", ulid::Ulid::new()));
        let child = Command::new(venv.join("bin/python"))
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let peer = Self {
            venv,
            port,
            maildir,
            child,
        };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "aiosmtpd did not listen on port {port} within 20 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        peer
    }

    /// Every message received so far.
    pub fn messages(&self) -> Vec<ReceivedEmail> {
        if !self.maildir.join("new").exists() {
            return Vec::new();
        }
        let output = Command::new(self.venv.join("bin/python"))
            .args(["-c", READ_MAILDIR])
            .arg(&self.maildir)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "reading the Maildir failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap()
    }

    /// Waits up to 10 s for `count` messages.
    pub async fn wait_for(&self, count: usize) -> Vec<ReceivedEmail> {
        let started = Instant::now();
        loop {
            let messages = self.messages();
            if messages.len() >= count || started.elapsed() > Duration::from_secs(10) {
                return messages;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for SmtpPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.maildir);
    }
}
