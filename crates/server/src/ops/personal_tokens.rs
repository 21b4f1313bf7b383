//! Personal access tokens (`mpt_…`): issued by an admin (the admin API,
//! the CLI) for a user, with a name, a scope and an optional expiry;
//! shown once and stored as a digest (like every token here); usable as a
//! Matrix access token through the homeserver (introspection) and, with
//! `urn:mas:admin`, on the admin API. Regenerating replaces the token;
//! revoking ends the session and its token.

use chrono::{DateTime, Duration, Utc};
use mxauth_model::{
    token_digest, PersonalAccessToken, PersonalOwner, PersonalSession, Scope, TokenType, User,
};
use mxauth_storage::{Repository, StorageError};

use super::Context;
use crate::state::AppState;

/// Why a personal session cannot be issued as asked.
#[derive(Debug, thiserror::Error)]
pub enum PersonalError {
    #[error("the name is empty or longer than 256 characters")]
    BadName,
    #[error("the scope is empty")]
    EmptyScope,
    #[error("personal sessions have no device: the scope cannot hold a device scope")]
    DeviceScope,
    #[error("admin scopes need a user allowed to request admin rights")]
    AdminScope,
    #[error("the user is locked or deactivated")]
    InactiveUser,
    #[error("expires_in must be between 1 second and 100 years")]
    BadExpiry,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// A token just made: its text is shown once.
#[derive(Debug)]
pub struct Issued {
    pub session: PersonalSession,
    pub token: PersonalAccessToken,
    pub text: String,
}

fn expiry(
    now: DateTime<Utc>,
    expires_in: Option<u64>,
) -> Result<Option<DateTime<Utc>>, PersonalError> {
    const MAX: u64 = 100 * 366 * 24 * 3600;
    match expires_in {
        None => Ok(None),
        Some(s) if s == 0 || s > MAX => Err(PersonalError::BadExpiry),
        Some(s) => Ok(Some(now + Duration::seconds(i64::try_from(s).unwrap_or(0)))),
    }
}

/// Issues a personal session for `actor` and its first token. Admin scopes
/// only for an actor the `policy` lets request them.
#[allow(clippy::too_many_arguments)]
pub async fn issue(
    repo: &mut Repository,
    ctx: Context<'_>,
    policy: &crate::policy::Policy,
    owner: PersonalOwner,
    actor: &User,
    name: &str,
    scope: Scope,
    expires_in: Option<u64>,
) -> Result<Issued, PersonalError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 256 || name.chars().any(char::is_control) {
        return Err(PersonalError::BadName);
    }
    if scope.iter().next().is_none() {
        return Err(PersonalError::EmptyScope);
    }
    if !matches!(scope.device_id(), Ok(None)) {
        return Err(PersonalError::DeviceScope);
    }
    if (scope.requests_synapse_admin() || scope.requests_mas_admin())
        && !policy.may_request_admin(actor)
    {
        return Err(PersonalError::AdminScope);
    }
    if !actor.is_valid() {
        return Err(PersonalError::InactiveUser);
    }
    let now = ctx.now();
    let expires_at = expiry(now, expires_in)?;
    let session = PersonalSession {
        id: ctx.new_id(now),
        owner,
        actor_user_id: actor.id,
        human_name: name.to_owned(),
        scope,
        created_at: now,
        revoked_at: None,
        last_active_at: None,
        last_active_ip: None,
    };
    repo.personal_sessions().add(&session).await?;
    let (token, text) = add_token(repo, ctx, &session, expires_at).await?;
    Ok(Issued {
        session,
        token,
        text,
    })
}

async fn add_token(
    repo: &mut Repository,
    ctx: Context<'_>,
    session: &PersonalSession,
    expires_at: Option<DateTime<Utc>>,
) -> Result<(PersonalAccessToken, String), StorageError> {
    let now = ctx.now();
    let text = TokenType::PersonalAccessToken.generate(&mut ctx.random.rng());
    let token = PersonalAccessToken {
        id: ctx.new_id(now),
        session_id: session.id,
        created_at: now,
        expires_at,
        revoked_at: None,
    };
    repo.personal_sessions()
        .add_token(&token, &token_digest(&text))
        .await?;
    Ok((token, text))
}

/// Replaces the token of an active session: the old one stops working.
pub async fn regenerate(
    repo: &mut Repository,
    ctx: Context<'_>,
    session: PersonalSession,
    expires_in: Option<u64>,
) -> Result<Issued, PersonalError> {
    let expires_at = expiry(ctx.now(), expires_in)?;
    repo.personal_sessions()
        .revoke_tokens(session.id, ctx.now())
        .await?;
    let (token, text) = add_token(repo, ctx, &session, expires_at).await?;
    Ok(Issued {
        session,
        token,
        text,
    })
}

/// An active personal token with its session and the user it acts as.
pub struct ActivePersonal {
    pub token: PersonalAccessToken,
    pub session: PersonalSession,
    pub actor: User,
}

/// The personal token `text`, if it works now: not revoked or expired,
/// its session not revoked, its user neither locked nor deactivated.
pub async fn active(state: &AppState, text: &str) -> Result<Option<ActivePersonal>, StorageError> {
    if TokenType::check(text) != Ok(TokenType::PersonalAccessToken) {
        return Ok(None);
    }
    let mut repo = state.db.read().await?;
    let Some((token, session)) = repo.personal_sessions().lookup(&token_digest(text)).await? else {
        return Ok(None);
    };
    let actor = repo.users().find_by_id(session.actor_user_id).await?;
    let now = state.clock.now();
    Ok(match actor {
        Some(actor) if token.is_valid(now) && session.is_active() && actor.is_valid() => {
            Some(ActivePersonal {
                token,
                session,
                actor,
            })
        }
        _ => None,
    })
}
