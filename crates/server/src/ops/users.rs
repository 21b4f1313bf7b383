//! Changes to a user that the homeserver must hear about: locking,
//! deactivating, their reversal, a new email address, a new password. Each
//! writes in the caller's transaction and queues the job that tells the
//! homeserver (provisioning carries the lock flag and the email list).

use mxauth_model::User;
use mxauth_storage::{NewPassword, Repository, StorageError};
use serde_json::json;

use super::Context;
use crate::jobs::{self, queues};

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
    queue_for(repo, ctx, queues::PROVISION_USER, &user).await?;
    if deactivate {
        user = repo.users().deactivate(user, now).await?;
        let payload = json!({ "user_id": user.id, "hs_erase": false });
        jobs::enqueue(
            repo,
            ctx.clock,
            ctx.random,
            queues::DEACTIVATE_USER,
            payload,
        )
        .await?;
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
        queue_for(repo, ctx, queues::REACTIVATE_USER, &user).await?;
    }
    queue_for(repo, ctx, queues::PROVISION_USER, &user).await?;
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
    queue_for(repo, ctx, queues::PROVISION_USER, user).await?;
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

/// Queues a job whose payload is just the user.
pub async fn queue_for(
    repo: &mut Repository,
    ctx: Context<'_>,
    queue: &str,
    user: &User,
) -> Result<(), StorageError> {
    let payload = json!({ "user_id": user.id });
    jobs::enqueue(repo, ctx.clock, ctx.random, queue, payload).await?;
    Ok(())
}
