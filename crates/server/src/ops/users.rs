//! Changes to a user that the homeserver must hear about: locking,
//! deactivating, their reversal, a new email address, a new password. Each
//! writes in the caller's transaction and queues the job that tells the
//! homeserver (provisioning carries the lock flag and the email list).

use mxauth_model::User;
use mxauth_storage::{NewPassword, Repository, StorageError};

use super::Context;
use crate::jobs::{self, DeactivateUser, Job, ProvisionUser, ReactivateUser};

/// Locks `user` (no new logins; the homeserver marks them locked) and, if
/// `deactivate`, deactivates them too (the homeserver deactivates them,
/// without erasing their data).
pub async fn lock(
    repo: &mut Repository,
    ctx: Context<'_>,
    user: User,
    deactivate: bool,
) -> Result<User, StorageError> {
    let now = ctx.now();
    let mut user = repo.users().lock(user, now).await?;
    queue(repo, ctx, ProvisionUser::new(user.id)).await?;
    if deactivate {
        user = repo.users().deactivate(user, now).await?;
        let job = DeactivateUser {
            hs_erase: false,
            user_id: user.id,
        };
        queue(repo, ctx, job).await?;
    }
    Ok(user)
}

/// Unlocks `user` and, if `reactivate`, reactivates them on both sides.
pub async fn unlock(
    repo: &mut Repository,
    ctx: Context<'_>,
    user: User,
    reactivate: bool,
) -> Result<User, StorageError> {
    let mut user = repo.users().unlock(user).await?;
    if reactivate {
        user = repo.users().reactivate(user).await?;
        queue(repo, ctx, ReactivateUser { user_id: user.id }).await?;
    }
    queue(repo, ctx, ProvisionUser::new(user.id)).await?;
    Ok(user)
}

/// Adds a confirmed email address; `false` if the user already has it.
/// The homeserver gets the new list through provisioning.
pub async fn add_email(
    repo: &mut Repository,
    ctx: Context<'_>,
    user: &User,
    email: &str,
) -> Result<bool, StorageError> {
    if repo.user_emails().find(user, email).await?.is_some() {
        return Ok(false);
    }
    let now = ctx.now();
    repo.user_emails()
        .add(ctx.new_id(now), user, email, now)
        .await?;
    queue(repo, ctx, ProvisionUser::new(user.id)).await?;
    Ok(true)
}

/// Stores an already computed `(version, hash)` as the user's password
/// (hash before opening the transaction: hashing is slow).
pub async fn set_password(
    repo: &mut Repository,
    ctx: Context<'_>,
    user: &User,
    hashed: &(u16, String),
) -> Result<(), StorageError> {
    let now = ctx.now();
    repo.user_passwords()
        .add(
            user,
            NewPassword {
                id: ctx.new_id(now),
                hashed_password: &hashed.1,
                version: hashed.0,
                upgraded_from: None,
            },
            now,
        )
        .await?;
    Ok(())
}

/// Queues `job` inside the caller's transaction.
pub async fn queue(
    repo: &mut Repository,
    ctx: Context<'_>,
    job: impl Into<Job>,
) -> Result<(), StorageError> {
    jobs::enqueue(repo, ctx.clock, ctx.random, &job.into()).await?;
    Ok(())
}
