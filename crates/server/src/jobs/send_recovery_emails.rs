//! `send-account-recovery-emails`: for a recovery request, mails a link to
//! every active user who has the address (none: nothing is sent, and the
//! page said the same either way). Each link carries a new ticket whose
//! keyed digest is committed before the mail server is talked to.
//!
//! Unlike verification codes, a link that cannot be delivered is not
//! logged: it sets a password, and logs travel further than an operator's
//! terminal. The WARN line names the user instead, so the operator can set
//! a password with `mxauth manage set-password`. A failed delivery is
//! retried with the queue's backoff (new tickets each time).

use chrono::Duration;
use mxauth_model::{
    tokens::generate_alphanumeric, RecoveryTicket, RECOVERY_TICKET_LEN, RECOVERY_TICKET_LIFETIME,
};
use serde::{Deserialize, Serialize};
use ulid::Ulid;

use super::{JobContext, JobError};
use crate::{
    email::parse_mailbox, ops::recovery::ticket_digest, templates::RecoveryEmailContext,
    urls::paths,
};

/// A request this old gets no more mail: its person has given up.
const GIVE_UP_AFTER: Duration = Duration::hours(1);

/// The payload, as MAS stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendAccountRecoveryEmails {
    pub user_recovery_session_id: Ulid,
}

impl SendAccountRecoveryEmails {
    pub const QUEUE: &'static str = "send-account-recovery-emails";

    pub(super) async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        let id = self.user_recovery_session_id;
        let mut repo = ctx.db.read().await?;
        let session = repo.recovery().find_session(id).await?;
        let session = session
            .ok_or_else(|| JobError::Permanent(format!("recovery session {id} does not exist")))?;
        let now = ctx.clock.now();
        if session.consumed_at.is_some() {
            tracing::info!(session = %id, "recovery already used; no email sent");
            return Ok(());
        }
        if now - session.created_at > GIVE_UP_AFTER {
            return Err(JobError::Permanent(format!(
                "recovery session {id} started more than an hour ago; no email sent"
            )));
        }
        let mut recipients = Vec::new();
        for email in repo
            .user_emails()
            .find_all_by_address(&session.email)
            .await?
        {
            match repo.users().find_by_id(email.user_id).await? {
                Some(user) if user.is_valid() => recipients.push((email, user)),
                _ => {}
            }
        }
        drop(repo);
        if recipients.is_empty() {
            tracing::info!(session = %id, "no active user has this address; no recovery email sent");
            return Ok(());
        }
        let to = parse_mailbox("the address", &session.email).map_err(JobError::Permanent)?;
        for (email, user) in recipients {
            let ticket = generate_alphanumeric(&mut ctx.random.rng(), RECOVERY_TICKET_LEN);
            let stored = RecoveryTicket {
                id: mxauth_storage::new_ulid(now, &mut ctx.random.rng()),
                session_id: id,
                user_email_id: email.id,
                created_at: now,
                expires_at: now + RECOVERY_TICKET_LIFETIME,
            };
            let mut repo = ctx.db.begin().await?;
            let digest = ticket_digest(&ctx.encrypter, &ticket);
            repo.recovery().add_ticket(&stored, &digest).await?;
            repo.commit().await?;
            let link = format!(
                "{}?ticket={ticket}",
                ctx.urls.absolute(paths::ACCOUNT_PASSWORD_RECOVERY)
            );
            let email = RecoveryEmailContext {
                mxid: format!("@{}:{}", user.username, ctx.server_name),
                username: user.username.clone(),
                link,
                expires_in_minutes: RECOVERY_TICKET_LIFETIME.num_minutes(),
            };
            // In the language of the page the request came from.
            let locale = ctx.templates.translations().for_language(&session.locale);
            let content = crate::i18n::scope_sync(locale, || ctx.templates.render_email(&email))
                .map_err(|e| JobError::Permanent(format!("email template: {e}")))?;
            let sent = ctx.mailer.send(&to, &content).await;
            if let Err(e) = sent {
                tracing::warn!(user = %user.username, "recovery email not delivered: {e}; `mxauth manage set-password` can set a password instead");
                return Err(JobError::Retry(e.to_string()));
            }
            if !ctx.mailer.delivers() {
                tracing::warn!(user = %user.username, "recovery email not delivered: email.transport is blackhole; `mxauth manage set-password` can set a password instead");
            }
            tracing::info!(session = %id, user = %user.username, "recovery email sent");
        }
        Ok(())
    }
}
