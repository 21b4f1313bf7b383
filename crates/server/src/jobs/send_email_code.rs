//! `send-email-authentication-code`: makes a new 6-digit code for an email
//! authentication, stores its keyed digest, and mails the code.
//!
//! Mail is a help, never a wall: when the transport is `blackhole`, or
//! delivery fails, the code is logged at WARN with the address and the
//! user, so an operator can hand it over (the workaround MAS's deployment
//! guides document for broken mail). Nothing else secret is logged. A
//! failed delivery is retried with the queue's backoff; each attempt sends
//! a fresh code, and every code stays valid for its own lifetime, so the
//! logged one keeps working while later attempts run.

use chrono::Duration;
use mxauth_crypto::encrypter::Encrypter;
use mxauth_model::{EmailAuthentication, EmailAuthenticationCode, EmailCode, EMAIL_CODE_LIFETIME};
use mxauth_storage::new_ulid;
use serde::{Deserialize, Serialize};
use ulid::Ulid;

use super::{JobContext, JobError};
use crate::{email::parse_mailbox, i18n, templates::VerificationEmailContext};

/// An authentication this old gets no more codes: nobody waits for one
/// after an hour (the last retries of the queue come later than that).
const GIVE_UP_AFTER: Duration = Duration::hours(1);

/// What the digest is for, so the key's other uses never collide with it.
const DIGEST_PURPOSE: &str = "email-authentication-code";

/// The payload, as MAS stores it (fields in alphabetical order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendEmailAuthenticationCode {
    /// The language of the person who asked (MAS's field): the language
    /// tag of the page they asked from. The email is written in it when it
    /// is available, else in English.
    #[serde(default = "english")]
    pub language: String,
    pub user_email_authentication_id: Ulid,
}

fn english() -> String {
    "en".into()
}

/// The stored form of `code` for `authentication_id`: an HMAC under
/// `secrets.encryption`, bound to the authentication so equal codes of two
/// authentications do not show as equal digests.
pub fn code_digest(encrypter: &Encrypter, authentication_id: Ulid, code: &EmailCode) -> String {
    let data = format!("{authentication_id}:{}", code.as_str());
    encrypter.keyed_digest(DIGEST_PURPOSE, data.as_bytes())
}

impl SendEmailAuthenticationCode {
    pub const QUEUE: &'static str = "send-email-authentication-code";

    pub fn new(authentication_id: Ulid, language: &str) -> Self {
        Self {
            language: language.to_owned(),
            user_email_authentication_id: authentication_id,
        }
    }

    pub(super) async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        let id = self.user_email_authentication_id;
        let mut repo = ctx.db.read().await?;
        let authentication = repo.email_authentications().find(id).await?;
        let authentication = authentication.ok_or_else(|| {
            JobError::Permanent(format!("email authentication {id} does not exist"))
        })?;
        let username = match authentication.user_id {
            Some(user_id) => repo.users().find_by_id(user_id).await?.map(|u| u.username),
            None => None,
        };
        // While registering, the username being registered: the operator
        // handing a code over needs to know whose it is.
        let registering = match authentication.user_id {
            Some(_) => None,
            None => repo
                .registrations()
                .find_by_email_authentication(id)
                .await?
                .map(|r| r.username),
        };
        drop(repo);
        let now = ctx.clock.now();
        if authentication.is_completed() {
            tracing::info!(authentication = %id, "email authentication already completed; no code sent");
            return Ok(());
        }
        if now - authentication.created_at > GIVE_UP_AFTER {
            return Err(JobError::Permanent(format!(
                "email authentication {id} started more than an hour ago; no code sent"
            )));
        }
        let code = EmailCode::generate(&mut ctx.random.rng());
        store_code(ctx, &authentication, &code).await?;
        let log = CodeLog {
            authentication: &authentication,
            username: username.as_deref(),
            registering: registering.as_deref(),
            code: &code,
        };
        deliver(
            ctx,
            &authentication,
            username.clone(),
            &code,
            &self.language,
        )
        .await
        .inspect_err(|e| log.warn(&format!("not delivered: {}", e.reason())))?;
        if !ctx.mailer.delivers() {
            log.warn("not delivered: email.transport is blackhole");
        }
        Ok(())
    }
}

async fn store_code(
    ctx: &JobContext,
    authentication: &EmailAuthentication,
    code: &EmailCode,
) -> Result<(), JobError> {
    let now = ctx.clock.now();
    let stored = EmailAuthenticationCode {
        id: new_ulid(now, &mut ctx.random.rng()),
        authentication_id: authentication.id,
        code_digest: code_digest(&ctx.encrypter, authentication.id, code),
        created_at: now,
        expires_at: now + EMAIL_CODE_LIFETIME,
        consumed_at: None,
    };
    let mut repo = ctx.db.begin().await?;
    repo.email_authentications().add_code(&stored).await?;
    repo.commit().await?;
    Ok(())
}

/// Renders and sends the code. Called after the code is committed: no
/// transaction is open while the mail server is talked to.
async fn deliver(
    ctx: &JobContext,
    authentication: &EmailAuthentication,
    username: Option<String>,
    code: &EmailCode,
    language: &str,
) -> Result<(), JobError> {
    // The address passed our syntax check when the authentication started;
    // lettre's is stricter, and no retry changes the address.
    let to = parse_mailbox("the address", &authentication.email).map_err(JobError::Permanent)?;
    let email = VerificationEmailContext {
        code: code.as_str().to_owned(),
        email: authentication.email.clone(),
        username,
        expires_in_minutes: EMAIL_CODE_LIFETIME.num_minutes(),
    };
    let locale = ctx.templates.translations().for_language(language);
    let content = i18n::scope_sync(locale, || ctx.templates.render_email(&email))
        .map_err(|e| JobError::Permanent(format!("email template: {e}")))?;
    ctx.mailer
        .send(&to, &content)
        .await
        .map_err(|e| JobError::Retry(e.to_string()))?;
    tracing::info!(authentication = %authentication.id, transport = %ctx.mailer.describe(), "verification code sent");
    Ok(())
}

/// The WARN line that hands a code to the operator.
struct CodeLog<'a> {
    authentication: &'a EmailAuthentication,
    username: Option<&'a str>,
    registering: Option<&'a str>,
    code: &'a EmailCode,
}

impl CodeLog<'_> {
    fn warn(&self, why: &str) {
        tracing::warn!(
            authentication = %self.authentication.id,
            user = %self.username.unwrap_or("(registering)"),
            registering = %self.registering.unwrap_or("-"),
            email = %self.authentication.email,
            code = %self.code.as_str(),
            "email verification code {why}; the person can type this code instead (valid {} minutes)",
            EMAIL_CODE_LIFETIME.num_minutes(),
        );
    }
}
