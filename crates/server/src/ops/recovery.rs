//! Password recovery by email. Asking (`start`) never tells whether an
//! address belongs to anyone: it records the request and queues the job
//! that mails a link to every active user with that address
//! (`send-account-recovery-emails`). The link's ticket is 32 random
//! characters; only its keyed digest is stored. A ticket works for 10
//! minutes and once: setting the password consumes its request, so the
//! other links of the same request stop working too.

use mxauth_config::RateLimit;
use mxauth_model::{is_plausible_email, RecoverySession, User};
use mxauth_storage::{Repository, StorageError};
use ulid::Ulid;

use super::Context;
use crate::i18n::t;
use crate::{
    extract::ClientIp,
    jobs::{enqueue, SendAccountRecoveryEmails},
    rate_limit::RetryAfter,
    state::AppState,
};

/// What the digest is for, so the key's other uses never collide with it.
const DIGEST_PURPOSE: &str = "recovery-ticket";

/// The stored form of a ticket: an HMAC under `secrets.encryption`, so a
/// copy of the database gives no working link.
pub fn ticket_digest(encrypter: &mxauth_crypto::encrypter::Encrypter, ticket: &str) -> String {
    encrypter.keyed_digest(DIGEST_PURPOSE, ticket.as_bytes())
}

#[derive(Debug, thiserror::Error)]
pub enum RecoveryStartError {
    #[error("This is not an email address.")]
    InvalidAddress,
    #[error("Too many recovery emails were asked. Try again in {} seconds.", .0 .0.num_seconds().max(1))]
    RateLimited(RetryAfter),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

fn check(state: &AppState, key: String, limit: RateLimit) -> Result<(), RecoveryStartError> {
    state
        .limiter
        .check(&key, limit, state.clock.now())
        .map_err(RecoveryStartError::RateLimited)
}

/// Records a recovery request for `email` and queues its emails. Limited
/// per client IP and per address (`rate_limiting.account_recovery`).
pub async fn start(
    state: &AppState,
    ip: &ClientIp,
    user_agent: Option<&str>,
    email: &str,
    locale: &str,
) -> Result<RecoverySession, RecoveryStartError> {
    let email = email.trim();
    if !is_plausible_email(email) {
        return Err(RecoveryStartError::InvalidAddress);
    }
    let limits = &state.site.account_recovery;
    check(state, format!("recovery-ip:{}", ip.key()), limits.per_ip)?;
    let address_key = format!("recovery-address:{}", email.to_lowercase());
    check(state, address_key, limits.per_address)?;
    let ctx = Context::from(state);
    let now = ctx.now();
    let session = RecoverySession {
        id: ctx.new_id(now),
        email: email.to_owned(),
        ip_address: ip.0.map(|ip| ip.to_string()),
        user_agent: user_agent.map(str::to_owned),
        locale: locale.to_owned(),
        created_at: now,
        consumed_at: None,
    };
    let mut repo = state.db.begin().await?;
    repo.recovery().add_session(&session).await?;
    queue_emails(&mut repo, ctx, session.id).await?;
    repo.commit().await?;
    Ok(session)
}

/// Mails the links of a request again (the first mail may be lost), within
/// the per-address limit.
pub async fn resend(state: &AppState, session: &RecoverySession) -> Result<(), RecoveryStartError> {
    let address_key = format!("recovery-address:{}", session.email.to_lowercase());
    check(state, address_key, state.site.account_recovery.per_address)?;
    let mut repo = state.db.begin().await?;
    queue_emails(&mut repo, Context::from(state), session.id).await?;
    repo.commit().await?;
    Ok(())
}

async fn queue_emails(
    repo: &mut Repository,
    ctx: Context<'_>,
    session_id: Ulid,
) -> Result<(), StorageError> {
    let job = SendAccountRecoveryEmails {
        user_recovery_session_id: session_id,
    };
    enqueue(repo, ctx.clock, ctx.random, &job.into()).await?;
    Ok(())
}

impl RecoveryStartError {
    /// The words of the form, in the page's language.
    pub fn message(&self) -> String {
        match self {
            Self::InvalidAddress => t!("This is not an email address."),
            Self::RateLimited(RetryAfter(wait)) => t!(
                "Too many recovery emails were asked. Try again in {seconds} seconds.",
                seconds = wait.num_seconds().max(1)
            ),
            Self::Storage(_) => t!("The database cannot be reached. Try again in a moment."),
        }
    }
}

/// Why a recovery link does not work.
#[derive(Debug, thiserror::Error)]
pub enum TicketError {
    #[error("This recovery link is not valid. Ask for a new one.")]
    Unknown,
    #[error("This recovery link has expired. Ask for a new one.")]
    Expired,
    #[error("This recovery link was already used. Ask for a new one if you need to.")]
    AlreadyUsed,
    #[error("This account is locked or deactivated. Contact the server's administrator.")]
    UserUnavailable,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl TicketError {
    /// The words of the page, in its language.
    pub fn message(&self) -> String {
        match self {
            Self::Unknown => t!("This recovery link is not valid. Ask for a new one."),
            Self::Expired => t!("This recovery link has expired. Ask for a new one."),
            Self::AlreadyUsed => {
                t!("This recovery link was already used. Ask for a new one if you need to.")
            }
            Self::UserUnavailable => {
                t!("This account is locked or deactivated. Contact the server's administrator.")
            }
            Self::Storage(_) => t!("The database cannot be reached. Try again in a moment."),
        }
    }
}

/// A working link: the user whose password it sets.
pub struct Ticket {
    pub user: User,
    pub session_id: Ulid,
}

/// The user a ticket recovers, if the link still works.
pub async fn find_ticket(state: &AppState, ticket: &str) -> Result<Ticket, TicketError> {
    let mut repo = state.db.read().await?;
    let digest = ticket_digest(&state.encrypter, ticket.trim());
    let found = repo.recovery().find_ticket(&digest).await?;
    let found = found.ok_or(TicketError::Unknown)?;
    let session = repo.recovery().find_session(found.session_id).await?;
    let session = session.ok_or(TicketError::Unknown)?;
    if session.consumed_at.is_some() {
        return Err(TicketError::AlreadyUsed);
    }
    if found.is_expired(state.clock.now()) {
        return Err(TicketError::Expired);
    }
    // The address may have been removed since the mail (the ticket goes
    // with it), or moved to no one.
    let email = repo.user_emails().find_by_id(found.user_email_id).await?;
    let email = email.ok_or(TicketError::Unknown)?;
    let user = repo.users().find_by_id(email.user_id).await?;
    let user = user.ok_or(TicketError::Unknown)?;
    if !user.is_valid() {
        return Err(TicketError::UserUnavailable);
    }
    Ok(Ticket {
        user,
        session_id: session.id,
    })
}

/// Sets the password `hashed` (computed before) through a working ticket,
/// consuming its request; with `end_sessions`, every session of the user
/// ends too (someone else may know the old password).
pub async fn set_password(
    state: &AppState,
    ticket: &Ticket,
    hashed: &(u16, String),
    end_sessions: bool,
) -> Result<(), TicketError> {
    let ctx = Context::from(state);
    let mut repo = state.db.begin().await?;
    if !repo
        .recovery()
        .consume_session(ticket.session_id, ctx.now())
        .await?
    {
        return Err(TicketError::AlreadyUsed);
    }
    super::users::set_password(&mut repo, ctx, &ticket.user, hashed).await?;
    if end_sessions {
        super::sessions::end_all_of_user(&mut repo, ctx, &ticket.user, None).await?;
    }
    repo.commit().await?;
    tracing::info!(user = %ticket.user.username, end_sessions, "password recovered");
    Ok(())
}
