//! Email codes through a real SMTP server (aiosmtpd, see
//! `email::smtp_peer`): the message as a mail reader receives it, the
//! verify rules on a code that really travelled, a server that is down
//! (retry, and the code in the WARN log), and the handshake `doctor` runs.

use mxauth_config::EmailSmtpMode;

use super::*;
use crate::email::{
    smtp_peer::{free_port, venv, SmtpPeer},
    Mailer, TransportSettings,
};

fn smtp_mailer(port: u16, mode: EmailSmtpMode, credentials: Option<(&str, &str)>) -> LettreMailer {
    LettreMailer::new(MailerSettings {
        from: "\"Example Matrix\" <auth@example.com>".parse().unwrap(),
        reply_to: "support@example.com".parse().unwrap(),
        transport: TransportSettings::Smtp {
            mode,
            hostname: "127.0.0.1".into(),
            port,
            credentials: credentials.map(|(u, p)| (u.into(), p.into())),
        },
        hello_name: Some("auth.example.com".into()),
    })
    .unwrap()
}

fn plain(port: u16) -> Arc<LettreMailer> {
    Arc::new(smtp_mailer(port, EmailSmtpMode::Plain, None))
}

#[tokio::test]
async fn a_code_sent_through_smtp_arrives_whole_and_verifies_once() {
    let Some(venv) = venv() else { return };
    let peer = SmtpPeer::start(venv, free_port());
    let t = test_state().await;
    let mut ctx = JobContext::from_state(&t.state);
    ctx.mailer = plain(peer.port);
    let alice = add_user(&t.state, "alice", "pw").await;
    let started = start(&t, &ip("192.0.2.1"), Some(alice.id), "alice@example.org")
        .await
        .unwrap();
    run_jobs(&ctx).await;
    assert_eq!(email_jobs(&t).await, vec![("completed".into(), 1)]);

    let received = peer.wait_for(1).await;
    assert_eq!(received.len(), 1, "{received:?}");
    let mail = &received[0];
    let subject = mail.subject.clone().unwrap();
    let code = subject[..6].to_owned();
    assert_eq!(
        subject,
        format!("{code} is your example.com verification code")
    );
    assert_eq!(
        mail.from.as_deref(),
        Some("\"Example Matrix\" <auth@example.com>")
    );
    assert_eq!(mail.reply_to.as_deref(), Some("support@example.com"));
    assert_eq!(mail.to.as_deref(), Some("alice@example.org"));
    assert_eq!(mail.content_type, "multipart/alternative");
    let text = mail.text.as_deref().unwrap();
    assert!(
        text.contains(&format!("    {code}\n")) && text.contains("Hello alice,"),
        "{text}"
    );
    assert!(text.contains("confirm that alice@example.org"), "{text}");
    let html = mail.html.as_deref().unwrap();
    assert!(html.contains(&format!(">{code}</p>")), "{html}");
    assert!(
        html.contains("<strong>alice@example.org</strong>"),
        "{html}"
    );

    let wrong = verify(&t, started.id, &other_than(&code))
        .await
        .unwrap_err();
    assert!(matches!(wrong, VerifyError::WrongCode), "{wrong}");
    verify(&t, started.id, &code).await.unwrap();
    let reused = verify(&t, started.id, &code).await.unwrap_err();
    assert!(matches!(reused, VerifyError::AlreadyUsed), "{reused}");

    // A second address; its code arrives but is typed too late.
    let late = start(
        &t,
        &ip("192.0.2.1"),
        Some(alice.id),
        "alice@work.example.org",
    )
    .await;
    run_jobs(&ctx).await;
    let received = peer.wait_for(2).await;
    let mail = received
        .iter()
        .find(|m| m.to.as_deref() == Some("alice@work.example.org"))
        .unwrap();
    let code = mail.subject.as_deref().unwrap()[..6].to_owned();
    t.clock.advance(EMAIL_CODE_LIFETIME);
    let expired = verify(&t, late.unwrap().id, &code).await.unwrap_err();
    assert!(matches!(expired, VerifyError::Expired), "{expired}");
}

#[tokio::test(flavor = "current_thread")]
async fn with_the_smtp_server_down_the_code_is_logged_and_the_job_retried() {
    let Some(venv) = venv() else { return };
    let port = free_port();
    let t = test_state().await;
    let mut ctx = JobContext::from_state(&t.state);
    ctx.mailer = plain(port);
    let bob = add_user(&t.state, "bob", "pw").await;
    let started = start(&t, &ip("192.0.2.1"), Some(bob.id), "bob@example.org")
        .await
        .unwrap();

    let logs = Captured::default();
    let guard = logs.install();
    run_jobs(&ctx).await;
    drop(guard);
    assert_eq!(
        email_jobs(&t).await,
        vec![("available".into(), 1)],
        "retried"
    );
    let lines = logs.code_lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = &lines[0];
    assert!(line.contains(&format!("SMTP 127.0.0.1:{port}")), "{line}");
    assert!(
        line.contains("user=bob") && line.contains("bob@example.org"),
        "{line}"
    );
    let logged = logged_code(line);

    // The server comes up; the retry after the backoff delivers a code.
    let peer = SmtpPeer::start(venv, port);
    t.clock.advance(Duration::seconds(5));
    run_jobs(&ctx).await;
    assert_eq!(email_jobs(&t).await, vec![("completed".into(), 2)]);
    assert_eq!(peer.wait_for(1).await.len(), 1);
    // What the operator handed over from the log works.
    verify(&t, started.id, &logged).await.unwrap();
}

#[tokio::test]
async fn the_handshake_checks_tls_and_auth_and_sends_nothing() {
    let Some(venv) = venv() else { return };
    let peer = SmtpPeer::start(venv, free_port());
    plain(peer.port).probe().await.unwrap();
    // aiosmtpd offers neither STARTTLS nor AUTH here: both are refused
    // rather than skipped.
    let starttls = smtp_mailer(peer.port, EmailSmtpMode::StartTls, None);
    let err = starttls.probe().await.unwrap_err().to_string();
    assert!(
        err.starts_with(&format!("SMTP 127.0.0.1:{} (STARTTLS)", peer.port)),
        "{err}"
    );
    let auth = smtp_mailer(peer.port, EmailSmtpMode::Plain, Some(("mxauth", "s3cret")));
    let err = auth.probe().await.unwrap_err().to_string();
    assert!(
        err.contains("with AUTH") && !err.contains("s3cret"),
        "{err}"
    );
    assert!(peer.messages().is_empty(), "a probe sends no message");
}
