//! The message format, the blackhole, sendmail through a real command, and
//! SMTP failures that must be quick and clear. Delivery through a real SMTP
//! server is tested in `ops/email_codes` tests (aiosmtpd).

use std::os::unix::fs::PermissionsExt;

use mxauth_config::EmailSmtpMode;

use super::*;

fn content() -> EmailContent {
    EmailContent {
        subject: "Your code is 123456".into(),
        text: "Your code is 123456.\n".into(),
        html: "<p>Your code is <b>123456</b>.</p>\n".into(),
    }
}

fn settings(transport: TransportSettings) -> MailerSettings {
    MailerSettings {
        from: "\"Matrix\" <auth@example.com>".parse().unwrap(),
        reply_to: "support@example.com".parse().unwrap(),
        transport,
        hello_name: Some("auth.example.com".into()),
    }
}

fn to() -> Mailbox {
    "alice@example.org".parse().unwrap()
}

#[tokio::test]
async fn messages_carry_both_bodies_and_the_configured_sender() {
    let mailer = MemoryMailer::new(
        "\"Matrix\" <auth@example.com>".parse().unwrap(),
        "support@example.com".parse().unwrap(),
    );
    mailer.send(&to(), &content()).await.unwrap();
    let sent = mailer.sent();
    assert_eq!(sent.len(), 1);
    let raw = &sent[0].raw;
    for header in [
        "From: Matrix <auth@example.com>",
        "Reply-To: support@example.com",
        "To: alice@example.org",
        "Subject: Your code is 123456",
        "Content-Type: multipart/alternative",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Type: text/html; charset=utf-8",
    ] {
        assert!(raw.contains(header), "{header} missing from\n{raw}");
    }
    let text = raw.find("text/plain").unwrap();
    let html = raw.find("text/html").unwrap();
    assert!(
        text < html,
        "the HTML part comes last, as the preferred one"
    );

    mailer.set_failing(true);
    let err = mailer.send(&to(), &content()).await.unwrap_err();
    assert!(err.to_string().contains("connection refused"), "{err}");
    assert_eq!(mailer.sent().len(), 1);
}

#[tokio::test]
async fn the_blackhole_accepts_and_says_it_delivers_nothing() {
    let mailer = LettreMailer::new(settings(TransportSettings::Blackhole)).unwrap();
    assert!(!mailer.delivers());
    mailer.send(&to(), &content()).await.unwrap();
    mailer.probe().await.unwrap();
    assert!(mailer.describe().starts_with("blackhole"));
}

#[tokio::test]
async fn sendmail_runs_the_command_with_the_envelope_and_the_message() {
    let dir = std::env::temp_dir().join(format!("mxauth-sendmail-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("sendmail");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$@\" > {dir}/args\ncat > {dir}/message\n",
            dir = dir.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mailer = LettreMailer::new(settings(TransportSettings::Sendmail {
        command: script.display().to_string(),
    }))
    .unwrap();
    assert!(mailer.delivers());
    mailer.send(&to(), &content()).await.unwrap();
    let args = std::fs::read_to_string(dir.join("args")).unwrap();
    assert_eq!(args.trim(), "-i -f auth@example.com -- alice@example.org");
    let message = std::fs::read_to_string(dir.join("message")).unwrap();
    assert!(
        message.contains("Subject: Your code is 123456"),
        "{message}"
    );

    let missing = LettreMailer::new(settings(TransportSettings::Sendmail {
        command: dir.join("nope").display().to_string(),
    }))
    .unwrap();
    let err = missing.send(&to(), &content()).await.unwrap_err();
    assert!(err.to_string().starts_with("sendmail command"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn smtp_to_a_closed_port_fails_at_once_with_the_server_named() {
    // Bind then close: a port nothing listens on.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mailer = LettreMailer::new(settings(TransportSettings::Smtp {
        mode: EmailSmtpMode::Plain,
        hostname: "127.0.0.1".into(),
        port,
        credentials: Some(("mxauth".into(), "s3cret-password".into())),
    }))
    .unwrap();
    assert_eq!(
        mailer.describe(),
        format!("SMTP 127.0.0.1:{port} (plain, no TLS, with AUTH)")
    );
    let started = std::time::Instant::now();
    for err in [
        mailer.send(&to(), &content()).await.unwrap_err(),
        mailer.probe().await.unwrap_err(),
    ] {
        let shown = err.to_string();
        assert!(
            shown.starts_with(&format!("SMTP 127.0.0.1:{port}")),
            "{shown}"
        );
        assert!(!shown.contains("s3cret-password"), "{shown}");
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

#[tokio::test]
async fn smtp_that_never_answers_times_out() {
    // Accepts connections and says nothing: no greeting ever comes.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    let plain = TransportSettings::Smtp {
        mode: EmailSmtpMode::Plain,
        hostname: "127.0.0.1".into(),
        port,
        credentials: None,
    };
    let second = std::time::Duration::from_secs(1);
    let mailer = LettreMailer::with_timeouts(settings(plain), second, second).unwrap();
    let started = std::time::Instant::now();
    for err in [
        mailer.probe().await.unwrap_err(),
        mailer.send(&to(), &content()).await.unwrap_err(),
    ] {
        assert_eq!(
            err.to_string(),
            format!("SMTP 127.0.0.1:{port} (plain, no TLS): no answer within 1 s")
        );
    }
    assert!(started.elapsed() < 5 * second);
    held.abort();
}
