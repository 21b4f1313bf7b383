//! Email verification by a 6-digit code, for registration, adding an
//! address on the account page and addresses imported from upstream
//! providers: start an authentication (rate-limited per client IP and per
//! address), resend its code (limited per authentication), verify a typed
//! code (attempts limited per authentication). The limits are MAS's
//! `rate_limiting.email_authentication` keys.
//!
//! The code is made, stored and mailed by the `send-email-authentication-code`
//! job, queued here inside the caller's transaction; what the person types
//! is compared with every code of the authentication in constant time
//! (house rule 7), and a right code works once. Callers keep the
//! authentication's id where only its person reaches it (the browser
//! session, the registration), since verifying takes just the id and the
//! code.

use mxauth_config::{EmailAuthenticationLimits, RateLimit};
use mxauth_crypto::encrypter::Encrypter;
use mxauth_model::{is_plausible_email, EmailAuthentication, EmailAuthenticationCode, EmailCode};
use mxauth_storage::{Repository, StorageError};
use subtle::ConstantTimeEq;
use thiserror::Error;
use ulid::Ulid;

use super::Context;
use crate::{
    extract::ClientIp,
    jobs::{code_digest, enqueue, SendEmailAuthenticationCode},
    rate_limit::{Limiter, RetryAfter},
    state::AppState,
};

#[derive(Debug, Error)]
pub enum StartError {
    #[error("{0:?} is not an email address")]
    InvalidAddress(String),
    /// The policy data's `emails` rules refuse the address.
    #[error("{0}")]
    Policy(crate::policy::Violation),
    /// Too many codes asked from this IP or for this address (or, on a
    /// resend, for this authentication).
    #[error("too many codes asked; try again in {} s", .0 .0.num_seconds().max(1))]
    RateLimited(RetryAfter),
    /// A resend for an authentication that does not exist or is completed.
    #[error("this email authentication does not exist or is already completed")]
    NotPending,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Why a typed code was refused. Each is its own case so the page can say
/// what to do: type again, ask for a new code, or stop.
#[derive(Debug, Error)]
pub enum VerifyError {
    /// No code of this authentication matches (or it is not six digits).
    #[error("wrong code")]
    WrongCode,
    /// The code matches but its time is over: ask for a new one.
    #[error("this code has expired")]
    Expired,
    /// The code, or the authentication, was already used.
    #[error("this code was already used")]
    AlreadyUsed,
    #[error("too many attempts; try again in {} s", .0 .0.num_seconds().max(1))]
    TooManyAttempts(RetryAfter),
    #[error("this email authentication does not exist")]
    NotFound,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// What the operations need from the state.
#[derive(Clone, Copy)]
pub struct EmailCodes<'a> {
    pub ctx: Context<'a>,
    pub limiter: &'a Limiter,
    pub limits: &'a EmailAuthenticationLimits,
    pub encrypter: &'a Encrypter,
    pub policy: &'a crate::policy::PolicyStore,
}

impl<'a> From<&'a AppState> for EmailCodes<'a> {
    fn from(state: &'a AppState) -> Self {
        Self {
            ctx: state.into(),
            limiter: &state.limiter,
            limits: &state.site.email_authentication,
            encrypter: &state.encrypter,
            policy: &state.policy,
        }
    }
}

impl EmailCodes<'_> {
    fn check(&self, key: String, limit: RateLimit) -> Result<(), RetryAfter> {
        self.limiter.check(&key, limit, self.ctx.now())
    }

    /// Starts proving `email` for `user_id` (`None` while registering) and
    /// queues its first code in `repo`; the caller commits. Limits:
    /// `per_ip`, `per_address` (letter case ignored), and the first of
    /// `emails_per_session`.
    pub async fn start(
        &self,
        repo: &mut Repository,
        ip: &ClientIp,
        user_id: Option<Ulid>,
        email: &str,
        language: &str,
    ) -> Result<EmailAuthentication, StartError> {
        let email = email.trim();
        if !is_plausible_email(email) {
            return Err(StartError::InvalidAddress(email.to_owned()));
        }
        self.policy
            .current()
            .check_email(email)
            .map_err(StartError::Policy)?;
        self.check(format!("email-auth-ip:{}", ip.key()), self.limits.per_ip)
            .and_then(|()| {
                let address = email.to_lowercase();
                self.check(
                    format!("email-auth-address:{address}"),
                    self.limits.per_address,
                )
            })
            .map_err(StartError::RateLimited)?;
        let now = self.ctx.now();
        let authentication = EmailAuthentication {
            id: self.ctx.new_id(now),
            user_id,
            email: email.to_owned(),
            created_at: now,
            completed_at: None,
        };
        repo.email_authentications().add(&authentication).await?;
        self.queue_code(repo, &authentication, language).await?;
        Ok(authentication)
    }

    /// Sends another code for a pending authentication (the first may be
    /// lost, or expired), within `emails_per_session`.
    pub async fn resend(
        &self,
        repo: &mut Repository,
        authentication_id: Ulid,
        language: &str,
    ) -> Result<(), StartError> {
        let authentication = repo
            .email_authentications()
            .find(authentication_id)
            .await?
            .filter(|a| !a.is_completed())
            .ok_or(StartError::NotPending)?;
        self.queue_code(repo, &authentication, language).await
    }

    async fn queue_code(
        &self,
        repo: &mut Repository,
        authentication: &EmailAuthentication,
        language: &str,
    ) -> Result<(), StartError> {
        let key = format!("email-auth-emails:{}", authentication.id);
        self.check(key, self.limits.emails_per_session)
            .map_err(StartError::RateLimited)?;
        let job = SendEmailAuthenticationCode::new(authentication.id, language);
        enqueue(repo, self.ctx.clock, self.ctx.random, &job.into()).await?;
        Ok(())
    }

    /// Checks `typed` against the codes of the authentication and, when one
    /// is right, marks it used and the authentication completed, in `repo`
    /// (the caller commits, with whatever the proof unlocks). Attempts are
    /// limited by `attempt_per_session`, right or wrong.
    pub async fn verify(
        &self,
        repo: &mut Repository,
        authentication_id: Ulid,
        typed: &str,
    ) -> Result<EmailAuthentication, VerifyError> {
        let key = format!("email-auth-attempts:{authentication_id}");
        self.check(key, self.limits.attempt_per_session)
            .map_err(VerifyError::TooManyAttempts)?;
        let authentication = repo
            .email_authentications()
            .find(authentication_id)
            .await?
            .ok_or(VerifyError::NotFound)?;
        let codes = repo
            .email_authentications()
            .codes(authentication_id)
            .await?;
        let code = EmailCode::parse(typed)
            .and_then(|typed| matching(self.encrypter, &authentication, &codes, &typed))
            .ok_or(VerifyError::WrongCode)?;
        let now = self.ctx.now();
        if authentication.is_completed() || code.consumed_at.is_some() {
            return Err(VerifyError::AlreadyUsed);
        }
        if code.is_expired(now) {
            return Err(VerifyError::Expired);
        }
        // Both updates change a row only once, so of two requests racing
        // with the same code one wins and the other is told it was used.
        let mut store = repo.email_authentications();
        if !store.consume_code(code.id, now).await?
            || !store.complete(authentication_id, now).await?
        {
            return Err(VerifyError::AlreadyUsed);
        }
        Ok(EmailAuthentication {
            completed_at: Some(now),
            ..authentication
        })
    }
}

/// The code whose digest equals the typed code's. Every stored digest is
/// compared, in constant time, so the time taken tells nothing about which
/// or how many codes are close.
fn matching<'c>(
    encrypter: &Encrypter,
    authentication: &EmailAuthentication,
    codes: &'c [EmailAuthenticationCode],
    typed: &EmailCode,
) -> Option<&'c EmailAuthenticationCode> {
    let digest = code_digest(encrypter, authentication.id, typed);
    let mut found = None;
    for code in codes {
        if bool::from(code.code_digest.as_bytes().ct_eq(digest.as_bytes())) {
            found = Some(code);
        }
    }
    found
}

#[cfg(test)]
mod tests;
