//! The `email` section through the binary: `config check` names a bad
//! sender or a missing SMTP key, and `mxauth doctor` checks the transport
//! against a real SMTP server (aiosmtpd from PyPI, installed by
//! tests/peers/setup_smtp.sh, driven by the server's own harness
//! `smtp_peer.rs`) without sending anything, and a missing
//! sendmail command or a mail server that is down with a ❌ and a fix.

use std::time::{Duration, Instant};

use crate::{
    smtp_peer::{venv as smtp_venv, SmtpPeer},
    support::*,
};

fn doctor(name: &str, email: &str) -> Run {
    let files = write_config(&temp_dir(name), email);
    run(with_configs(&mut mxauth(), &files).arg("doctor"))
}

#[test]
fn config_check_names_a_bad_sender_and_missing_smtp_keys() {
    let files = write_config(
        &temp_dir("email-bad-from"),
        "email:\n  transport: smtp\n  mode: starttls\n  hostname: mail.example.com\n  from: 'Matrix auth@example.com'\n",
    );
    run(with_configs(&mut mxauth(), &files).args(["config", "check"]))
        .failed()
        .says("email.from: \"Matrix auth@example.com\" is not an email address");
    let files = write_config(
        &temp_dir("email-no-host"),
        "email:\n  transport: smtp\n  username: mxauth\n",
    );
    run(with_configs(&mut mxauth(), &files).args(["config", "check"]))
        .failed()
        .says("email.mode: missing")
        .says("email.hostname: missing")
        .says("email.password: missing");
    // A working transport is no longer reported as "not built".
    let files = write_config(
        &temp_dir("email-ok"),
        "email:\n  transport: sendmail\n  command: /usr/sbin/sendmail\n",
    );
    let checked = run(with_configs(&mut mxauth(), &files).args(["config", "check"]));
    checked.succeeded();
    assert!(!checked.stderr.contains("email"), "{}", checked.stderr);
}

#[test]
fn doctor_greets_the_smtp_server_without_sending() {
    let Some(venv) = smtp_venv() else { return };
    let port = free_port();
    let smtp = SmtpPeer::start(venv, port);
    let checked = doctor(
        "doctor-smtp",
        &format!(
            "email:\n  transport: smtp\n  mode: plain\n  hostname: 127.0.0.1\n  port: {port}\n"
        ),
    );
    let line = format!(
        "✅ The mail server SMTP 127.0.0.1:{port} (plain, no TLS) answers (no message sent)"
    );
    assert!(checked.stdout.contains(&line), "{}", checked.stdout);
    assert!(smtp.messages().is_empty());

    // The server offers no AUTH: credentials that cannot be used are a ❌,
    // and the password is never printed.
    let checked = doctor(
        "doctor-smtp-auth",
        &format!("email:\n  transport: smtp\n  mode: plain\n  hostname: 127.0.0.1\n  port: {port}\n  username: mxauth\n  password: hunter2-secret\n"),
    );
    assert!(
        checked
            .stdout
            .contains("❌ The mail server does not work: SMTP 127.0.0.1"),
        "{}",
        checked.stdout
    );
    assert!(!checked.stdout.contains("hunter2") && !checked.stderr.contains("hunter2"));
    assert_ne!(checked.code, 0);
}

#[test]
fn doctor_reports_a_mail_server_that_is_down_and_a_missing_sendmail() {
    let port = free_port();
    let checked = doctor(
        "doctor-smtp-down",
        &format!(
            "email:\n  transport: smtp\n  mode: starttls\n  hostname: 127.0.0.1\n  port: {port}\n"
        ),
    );
    assert_ne!(checked.code, 0);
    let line = format!("❌ The mail server does not work: SMTP 127.0.0.1:{port} (STARTTLS): ");
    assert!(checked.stdout.contains(&line), "{}", checked.stdout);
    assert!(checked
        .stdout
        .contains("Fix: check email.hostname, email.port and email.mode"));

    let checked = doctor(
        "doctor-sendmail",
        "email:\n  transport: sendmail\n  command: /nonexistent/sendmail\n",
    );
    assert!(
        checked.stdout.contains(
            "❌ The sendmail command \"/nonexistent/sendmail\" is not an executable file"
        ),
        "{}",
        checked.stdout
    );
    let checked = doctor(
        "doctor-sendmail-sh",
        "email:\n  transport: sendmail\n  command: sh\n",
    );
    assert!(
        checked
            .stdout
            .contains("✅ The sendmail command \"sh\" is /"),
        "{}",
        checked.stdout
    );

    let checked = doctor("doctor-blackhole", "{}\n");
    assert!(
        checked.stdout.contains("💡 email.transport is blackhole: no email is sent; verification codes are logged at WARN"),
        "{}",
        checked.stdout
    );
}

/// Like MAS, a starting server or worker greets the SMTP server once in the
/// background; when it cannot, the log says so before any code is due.
#[test]
fn a_worker_says_at_start_that_the_mail_server_is_down() {
    let dir = temp_dir("worker-smtp-down");
    let db = TestDatabase::sqlite(&dir);
    let smtp_port = free_port();
    let (files, _) = server_config(
        "worker-smtp-down",
        &db,
        &format!(
            "email: {{transport: smtp, mode: plain, hostname: 127.0.0.1, port: {smtp_port}}}\n"
        ),
    );
    run(with_configs(&mut mxauth(), &files).args(["database", "migrate"])).succeeded();
    let log = dir.join("worker.log");
    let mut child = with_configs(&mut mxauth(), &files)
        .arg("worker")
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let expected = format!("email: cannot reach the mail server: SMTP 127.0.0.1:{smtp_port}");
    let started = Instant::now();
    let mut text = String::new();
    while started.elapsed() < Duration::from_secs(20) && !text.contains(&expected) {
        std::thread::sleep(Duration::from_millis(100));
        text = std::fs::read_to_string(&log).unwrap_or_default();
    }
    if child.try_wait().unwrap().is_none() {
        sigterm(&child);
    }
    let _ = child.wait();
    assert!(text.contains(&expected), "{text}");
    assert!(text.contains("WARN"), "{text}");
}
