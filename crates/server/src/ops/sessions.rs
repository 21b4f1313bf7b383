//! Starting and ending sessions. A browser session starts authenticated
//! (login, registration). An OAuth or compat session that ends loses its tokens
//! (they check the session's state) and a job syncs the user's devices on
//! the homeserver from the sessions that remain, so the device goes too. A
//! browser session only ends: it has no device.

use mxauth_model::{compat::CompatSession, oauth2::Session, User};
use mxauth_storage::{Repository, StorageError};
use ulid::Ulid;

use super::Context;
use crate::jobs::{self, SyncDevices};

/// Ends an OAuth session (revocation, logout, a replayed code or refresh
/// token).
pub async fn end_oauth2(
    repo: &mut Repository,
    ctx: Context<'_>,
    session: &Session,
) -> Result<(), StorageError> {
    if repo.oauth2_sessions().finish(session.id, ctx.now()).await? {
        if let Some(user_id) = session.user_id {
            sync_devices(repo, ctx, user_id).await?;
        }
    }
    Ok(())
}

/// Ends a compat session (`/logout`, `/logout/all`, a replaced device).
pub async fn end_compat(
    repo: &mut Repository,
    ctx: Context<'_>,
    session: &CompatSession,
) -> Result<(), StorageError> {
    if repo.compat_sessions().finish(session.id, ctx.now()).await? {
        sync_devices(repo, ctx, session.user_id).await?;
    }
    Ok(())
}

/// Ends a browser session (the logout button).
pub async fn end_browser(
    repo: &mut Repository,
    ctx: Context<'_>,
    id: Ulid,
) -> Result<(), StorageError> {
    repo.browser_sessions().finish(id, ctx.now()).await?;
    Ok(())
}

/// Ends a browser session and every OAuth and compat session started from
/// it (a provider's back-channel logout with `logout_all`).
pub async fn end_browser_and_children(
    repo: &mut Repository,
    ctx: Context<'_>,
    id: Ulid,
) -> Result<(), StorageError> {
    for session in repo.oauth2_sessions().active_of_browser_session(id).await? {
        end_oauth2(repo, ctx, &session).await?;
    }
    for session in repo.compat_sessions().active_of_browser_session(id).await? {
        end_compat(repo, ctx, &session).await?;
    }
    end_browser(repo, ctx, id).await
}

/// How many sessions of each kind [`end_all_of_user`] ended.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Ended {
    pub oauth2: usize,
    pub compat: usize,
    pub browser: usize,
}

impl Ended {
    pub fn total(&self) -> usize {
        self.oauth2 + self.compat + self.browser
    }
}

/// Ends every OAuth and compat session of `user` and every browser session
/// but `keep` (the browser the person uses when they sign out everywhere
/// else; `None` when the account is deactivated, or for `manage
/// kill-sessions`). One device sync is queued for them all, when an OAuth
/// or compat session ended. Returns how many sessions ended; a caller that
/// rolls back instead of committing learns what would end.
pub async fn end_all_of_user(
    repo: &mut Repository,
    ctx: Context<'_>,
    user: &User,
    keep: Option<Ulid>,
) -> Result<Ended, StorageError> {
    let now = ctx.now();
    let mut ended = Ended::default();
    for session in repo.oauth2_sessions().active_of_user(user.id).await? {
        if repo.oauth2_sessions().finish(session.id, now).await? {
            ended.oauth2 += 1;
        }
    }
    for session in repo.compat_sessions().active(user, None).await? {
        if repo.compat_sessions().finish(session.id, now).await? {
            ended.compat += 1;
        }
    }
    for session in repo.browser_sessions().active_of_user(user.id).await? {
        if Some(session.id) != keep {
            end_browser(repo, ctx, session.id).await?;
            ended.browser += 1;
        }
    }
    if ended.oauth2 + ended.compat > 0 {
        sync_devices(repo, ctx, user.id).await?;
    }
    Ok(ended)
}

async fn sync_devices(
    repo: &mut Repository,
    ctx: Context<'_>,
    user_id: Ulid,
) -> Result<(), StorageError> {
    let job = SyncDevices { user_id }.into();
    jobs::enqueue(repo, ctx.clock, ctx.random, &job).await?;
    Ok(())
}

/// Starts a browser session for `user`, authenticated now (a login, a
/// finished registration).
pub async fn start_browser(
    repo: &mut Repository,
    ctx: Context<'_>,
    user: &User,
    user_agent: Option<&str>,
    user_password_id: Option<Ulid>,
) -> Result<mxauth_model::browser_session::BrowserSession, StorageError> {
    let now = ctx.now();
    let session = repo
        .browser_sessions()
        .add(ctx.new_id(now), user, user_agent, now)
        .await?;
    repo.browser_sessions()
        .add_authentication(ctx.new_id(now), &session, user_password_id, now)
        .await?;
    Ok(session)
}
