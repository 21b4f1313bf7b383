//! Email codes with the in-memory mailer and the mock clock: a code is
//! mailed and works once; wrong, malformed, expired and reused codes are
//! refused, each with its reason; the limits per address, per IP, per
//! authentication; and the WARN line that hands the code over when mail
//! goes nowhere or fails. Real SMTP is in `smtp_tests.rs`.

use std::{
    net::IpAddr,
    sync::{Arc, Mutex},
};

use chrono::Duration;
use mxauth_model::{Clock, EmailAuthentication, EMAIL_CODE_LIFETIME};

use super::*;
use crate::{
    email::{LettreMailer, MailerSettings},
    jobs::{run_batch, JobContext},
    test_support::{add_user, test_state, TestState},
};

mod smtp_tests;

pub(super) fn ip(text: &str) -> ClientIp {
    ClientIp(Some(text.parse::<IpAddr>().unwrap()))
}

pub(super) async fn start(
    t: &TestState,
    from: &ClientIp,
    user_id: Option<Ulid>,
    email: &str,
) -> Result<EmailAuthentication, StartError> {
    let mut repo = t.state.db.begin().await.unwrap();
    let started = EmailCodes::from(&t.state)
        .start(&mut repo, from, user_id, email, "en")
        .await;
    repo.commit().await.unwrap();
    started
}

pub(super) async fn verify(
    t: &TestState,
    id: Ulid,
    typed: &str,
) -> Result<EmailAuthentication, VerifyError> {
    let mut repo = t.state.db.begin().await.unwrap();
    let verified = EmailCodes::from(&t.state)
        .verify(&mut repo, id, typed)
        .await;
    repo.commit().await.unwrap();
    verified
}

async fn resend(t: &TestState, id: Ulid) -> Result<(), StartError> {
    let mut repo = t.state.db.begin().await.unwrap();
    let sent = EmailCodes::from(&t.state).resend(&mut repo, id, "en").await;
    repo.commit().await.unwrap();
    sent
}

pub(super) async fn run_jobs(ctx: &JobContext) {
    while run_batch(ctx, "test").await.unwrap() > 0 {}
}

/// (status, attempt) of every email job.
pub(super) async fn email_jobs(t: &TestState) -> Vec<(String, i64)> {
    let mut repo = t.state.db.read().await.unwrap();
    let jobs = repo
        .jobs()
        .list(SendEmailAuthenticationCode::QUEUE)
        .await
        .unwrap();
    jobs.into_iter().map(|j| (j.status, j.attempt)).collect()
}

/// The code of the newest mail.
fn mailed_code(t: &TestState) -> String {
    let sent = t.mailer.sent();
    let last = sent.last().expect("a mail was sent");
    last.content.subject[..6].to_owned()
}

/// A code of the same shape that is not `code`.
fn other_than(code: &str) -> String {
    let first = (code.as_bytes()[0] - b'0' + 1) % 10;
    format!("{first}{}", &code[1..])
}

/// Log lines written while a test runs (current-thread runtime).
#[derive(Clone, Default)]
pub(super) struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    pub(super) fn install(&self) -> tracing::subscriber::DefaultGuard {
        let writer = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    /// The WARN lines that hand a code over.
    pub(super) fn code_lines(&self) -> Vec<String> {
        let logs = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
        logs.lines()
            .filter(|l| l.contains("WARN") && l.contains("email verification code"))
            .map(str::to_owned)
            .collect()
    }
}

/// The code of a WARN line (`code="123456"` or `code=123456`).
pub(super) fn logged_code(line: &str) -> String {
    let at = line.find("code=").expect("the line has the code") + 5;
    line[at..]
        .chars()
        .skip_while(|c| *c == '"')
        .take(6)
        .collect()
}

#[tokio::test]
async fn a_mailed_code_proves_the_address_once() {
    let t = test_state().await;
    let ctx = JobContext::from_state(&t.state);
    let alice = add_user(&t.state, "alice", "pw").await;
    let started = start(&t, &ip("192.0.2.1"), Some(alice.id), " Alice@Example.com ").await;
    let started = started.unwrap();
    assert_eq!(started.email, "Alice@Example.com", "trimmed, case kept");
    assert!(t.mailer.sent().is_empty(), "the job mails, not the request");
    run_jobs(&ctx).await;
    assert_eq!(email_jobs(&t).await, vec![("completed".into(), 1)]);

    let sent = t.mailer.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to.email.to_string(), "Alice@Example.com");
    let code = mailed_code(&t);
    assert!(code.bytes().all(|b| b.is_ascii_digit()), "{code}");
    assert_eq!(
        sent[0].content.subject,
        format!("{code} is your example.com verification code")
    );
    assert!(sent[0].content.text.contains(&format!("    {code}\n")));
    assert!(sent[0].content.text.contains("Hello alice,"));
    assert!(sent[0].content.html.contains(&format!(">{code}</p>")));
    assert!(sent[0].content.text.contains("expires in 10 minutes"));

    // Only a keyed digest is stored.
    let mut repo = t.state.db.read().await.unwrap();
    let stored = repo
        .email_authentications()
        .codes(started.id)
        .await
        .unwrap();
    drop(repo);
    assert_eq!(stored.len(), 1);
    assert!(!stored[0].code_digest.contains(&code));
    assert_eq!(stored[0].expires_at, t.clock.now() + EMAIL_CODE_LIFETIME);

    for wrong in [
        other_than(&code),
        "12345".into(),
        "abcdef".into(),
        String::new(),
    ] {
        let refused = verify(&t, started.id, &wrong).await.unwrap_err();
        assert!(
            matches!(refused, VerifyError::WrongCode),
            "{wrong}: {refused}"
        );
    }
    let spaced = format!("{} {}", &code[..3], &code[3..]);
    let done = verify(&t, started.id, &spaced).await.unwrap();
    assert_eq!(done.completed_at, Some(t.clock.now()));
    assert_eq!(done.user_id, Some(alice.id));
    let again = verify(&t, started.id, &code).await.unwrap_err();
    assert!(matches!(again, VerifyError::AlreadyUsed), "{again}");
    let unknown = verify(&t, Ulid::nil(), &code).await.unwrap_err();
    assert!(matches!(unknown, VerifyError::NotFound), "{unknown}");
    // No more codes for a completed authentication.
    assert!(matches!(
        resend(&t, started.id).await,
        Err(StartError::NotPending)
    ));
}

#[tokio::test]
async fn an_expired_code_is_refused_and_a_resent_one_works() {
    let t = test_state().await;
    let ctx = JobContext::from_state(&t.state);
    let started = start(&t, &ip("192.0.2.1"), None, "bob@example.com")
        .await
        .unwrap();
    run_jobs(&ctx).await;
    let first = mailed_code(&t);
    assert!(
        t.mailer.sent()[0].content.text.starts_with("Hello,\n"),
        "no account yet"
    );

    t.clock.advance(EMAIL_CODE_LIFETIME);
    let late = verify(&t, started.id, &first).await.unwrap_err();
    assert!(matches!(late, VerifyError::Expired), "{late}");

    resend(&t, started.id).await.unwrap();
    run_jobs(&ctx).await;
    let second = mailed_code(&t);
    assert_eq!(t.mailer.sent().len(), 2);
    let late = verify(&t, started.id, &first).await.unwrap_err();
    assert!(
        matches!(late, VerifyError::Expired),
        "the old code stays expired"
    );
    verify(&t, started.id, &second).await.unwrap();
}

#[tokio::test]
async fn codes_are_limited_per_address_per_ip_and_per_authentication() {
    let t = test_state().await;
    // rate_limiting.email_authentication.per_address: 3, then 1 an hour;
    // letter case does not make another address.
    for email in [
        "carol@example.com",
        "CAROL@example.com",
        "Carol@Example.com",
    ] {
        start(&t, &ip("192.0.2.10"), None, email).await.unwrap();
    }
    let refused = start(&t, &ip("192.0.2.11"), None, "carol@EXAMPLE.com").await;
    let Err(StartError::RateLimited(RetryAfter(wait))) = refused else {
        panic!("{refused:?}")
    };
    assert!(wait > Duration::minutes(59), "{wait}");

    // per_ip: 5, then 1 a minute.
    for i in 0..5 {
        start(&t, &ip("192.0.2.20"), None, &format!("d{i}@example.com"))
            .await
            .unwrap();
    }
    let refused = start(&t, &ip("192.0.2.20"), None, "d5@example.com").await;
    assert!(
        matches!(refused, Err(StartError::RateLimited(_))),
        "{refused:?}"
    );
    start(&t, &ip("198.51.100.1"), None, "d5@example.com")
        .await
        .unwrap();
    t.clock.advance(Duration::minutes(1));
    start(&t, &ip("192.0.2.20"), None, "d6@example.com")
        .await
        .unwrap();

    // emails_per_session: 2 (the first included), then 1 every 5 minutes.
    let started = start(&t, &ip("203.0.113.1"), None, "erin@example.com")
        .await
        .unwrap();
    resend(&t, started.id).await.unwrap();
    assert!(matches!(
        resend(&t, started.id).await,
        Err(StartError::RateLimited(_))
    ));
    t.clock.advance(Duration::minutes(5));
    resend(&t, started.id).await.unwrap();
}

#[tokio::test]
async fn attempts_are_limited_per_authentication_right_or_wrong() {
    let t = test_state().await;
    let ctx = JobContext::from_state(&t.state);
    let started = start(&t, &ip("192.0.2.1"), None, "frank@example.com")
        .await
        .unwrap();
    run_jobs(&ctx).await;
    let code = mailed_code(&t);
    // attempt_per_session: 10, then 1 a minute.
    for _ in 0..10 {
        let wrong = verify(&t, started.id, &other_than(&code))
            .await
            .unwrap_err();
        assert!(matches!(wrong, VerifyError::WrongCode));
    }
    let blocked = verify(&t, started.id, &code).await.unwrap_err();
    assert!(
        matches!(blocked, VerifyError::TooManyAttempts(_)),
        "{blocked}"
    );
    assert_eq!(blocked.to_string(), "too many attempts; try again in 60 s");
    t.clock.advance(Duration::minutes(1));
    verify(&t, started.id, &code).await.unwrap();
}

#[tokio::test]
async fn bad_addresses_are_refused_and_change_nothing() {
    let t = test_state().await;
    for bad in ["", "alice", "alice@", "a b@example.com", "a@b@c"] {
        let refused = start(&t, &ip("192.0.2.1"), None, bad).await;
        assert!(
            matches!(refused, Err(StartError::InvalidAddress(_))),
            "{bad}"
        );
    }
    assert!(email_jobs(&t).await.is_empty());
}

#[tokio::test(flavor = "current_thread")]
async fn with_the_blackhole_the_code_is_logged_at_warn() {
    let t = test_state().await;
    let mut ctx = JobContext::from_state(&t.state);
    ctx.mailer = Arc::new(LettreMailer::new(MailerSettings::blackhole()).unwrap());
    let alice = add_user(&t.state, "alice", "pw").await;
    let started = start(&t, &ip("192.0.2.1"), Some(alice.id), "alice@example.com")
        .await
        .unwrap();
    let logs = Captured::default();
    let guard = logs.install();
    run_jobs(&ctx).await;
    drop(guard);
    let lines = logs.code_lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = &lines[0];
    assert!(line.contains("email.transport is blackhole"), "{line}");
    assert!(
        line.contains("user=alice") && line.contains("alice@example.com"),
        "{line}"
    );
    assert_eq!(email_jobs(&t).await, vec![("completed".into(), 1)]);
    verify(&t, started.id, &logged_code(line)).await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn a_failed_delivery_logs_the_code_and_is_retried() {
    let t = test_state().await;
    let ctx = JobContext::from_state(&t.state);
    t.mailer.set_failing(true);
    let started = start(&t, &ip("192.0.2.1"), None, "gina@example.com")
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
    assert!(lines[0].contains("connection refused"), "{}", lines[0]);
    assert!(lines[0].contains("user=(registering)"), "{}", lines[0]);
    let logged = logged_code(&lines[0]);

    // The mail server comes back: the retry (after 5 s) mails a new code,
    // and the logged one still works.
    t.mailer.set_failing(false);
    t.clock.advance(Duration::seconds(5));
    run_jobs(&ctx).await;
    assert_eq!(email_jobs(&t).await, vec![("completed".into(), 2)]);
    assert_eq!(t.mailer.sent().len(), 1);
    assert_ne!(mailed_code(&t), logged, "each attempt makes its own code");
    verify(&t, started.id, &logged).await.unwrap();
}

#[tokio::test]
async fn old_or_completed_authentications_get_no_code() {
    let t = test_state().await;
    let ctx = JobContext::from_state(&t.state);
    t.mailer.set_failing(true);
    start(&t, &ip("192.0.2.1"), None, "hana@example.com")
        .await
        .unwrap();
    run_jobs(&ctx).await;
    // The retries of the queue go on for about an hour; past it, they stop.
    t.clock.advance(Duration::minutes(61));
    run_jobs(&ctx).await;
    let jobs = email_jobs(&t).await;
    assert_eq!(jobs, vec![("failed".into(), 2)], "given up");

    t.mailer.set_failing(false);
    let started = start(&t, &ip("192.0.2.1"), None, "ivy@example.com")
        .await
        .unwrap();
    let mut repo = t.state.db.begin().await.unwrap();
    repo.email_authentications()
        .complete(started.id, t.clock.now())
        .await
        .unwrap();
    repo.commit().await.unwrap();
    run_jobs(&ctx).await;
    assert!(t.mailer.sent().is_empty());
}
