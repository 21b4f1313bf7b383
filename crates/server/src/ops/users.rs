//! Changes to a user that the homeserver must hear about: locking,
//! deactivating (by an admin, or by the person), their reversal, a new or
//! removed email address, a new display name, a new password. Each writes in the caller's
//! transaction and queues the job that tells the homeserver (provisioning
//! carries the lock flag and the email list).

use mxauth_model::User;
use mxauth_storage::{NewPassword, Repository, StorageError};

use super::{sessions::Ended, Context};
use crate::jobs::{self, DeactivateUser, Job, ProvisionUser, ReactivateUser};

/// Locks `user`: no new logins, their tokens stop working, and the
/// homeserver marks them locked (through provisioning). A user already
/// locked keeps the time of that lock.
pub async fn lock(
    repo: &mut Repository,
    ctx: Context<'_>,
    user: User,
) -> Result<User, StorageError> {
    let user = repo.users().lock(user, ctx.now()).await?;
    queue(repo, ctx, ProvisionUser::new(user.id)).await?;
    Ok(user)
}

/// Deactivates `user`, by an admin (the admin API, `manage
/// deactivate-user`, `lock-user --deactivate`) or at their own request
/// (the account page): locked ([`lock`]) and deactivated, every session of
/// theirs ended, so no token of theirs works from now on, and the
/// homeserver deactivates them through its job, erasing their data there
/// when `erase` (the admin API's default, as in MAS). Returns the sessions
/// ended.
pub async fn deactivate(
    repo: &mut Repository,
    ctx: Context<'_>,
    user: User,
    erase: bool,
) -> Result<(User, Ended), StorageError> {
    let user = lock(repo, ctx, user).await?;
    let user = repo.users().deactivate(user, ctx.now()).await?;
    let job = DeactivateUser {
        hs_erase: erase,
        user_id: user.id,
    };
    queue(repo, ctx, job).await?;
    let ended = super::sessions::end_all_of_user(repo, ctx, &user, None).await?;
    Ok((user, ended))
}

/// Unlocks `user` and, if `reactivate`, reactivates them on both sides.
pub async fn unlock(
    repo: &mut Repository,
    ctx: Context<'_>,
    user: User,
    reactivate: bool,
) -> Result<User, StorageError> {
    let user = repo.users().unlock(user).await?;
    if reactivate {
        return self::reactivate(repo, ctx, user).await;
    }
    queue(repo, ctx, ProvisionUser::new(user.id)).await?;
    Ok(user)
}

/// Reverses a deactivation, here and (through its job) on the homeserver,
/// and nothing more: a locked user stays locked, as with MAS's
/// `reactivate` (the admin API's, and the job's `unlock: false`), and
/// provisioning tells the homeserver so. Queued even for a user not
/// deactivated here, so a homeserver that still has them deactivated
/// catches up.
pub async fn reactivate(
    repo: &mut Repository,
    ctx: Context<'_>,
    user: User,
) -> Result<User, StorageError> {
    let user = repo.users().reactivate(user).await?;
    queue(repo, ctx, ReactivateUser { user_id: user.id }).await?;
    queue(repo, ctx, ProvisionUser::new(user.id)).await?;
    Ok(user)
}

/// Sets the user's display name on the homeserver, through provisioning
/// (the homeserver owns the name; nothing is stored here). The caller has
/// checked it ([`mxauth_model::user::check_display_name`]).
pub async fn set_display_name(
    repo: &mut Repository,
    ctx: Context<'_>,
    user: &User,
    name: &str,
) -> Result<(), StorageError> {
    let job = ProvisionUser {
        set_display_name: Some(name.to_owned()),
        user_id: user.id,
    };
    queue(repo, ctx, job).await
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

/// Removes the user's address `id`; `false` if they have none with that
/// id. The homeserver gets the new list through provisioning.
pub async fn remove_email(
    repo: &mut Repository,
    ctx: Context<'_>,
    user: &User,
    id: ulid::Ulid,
) -> Result<bool, StorageError> {
    if !repo.user_emails().remove(user, id).await? {
        return Ok(false);
    }
    queue(repo, ctx, ProvisionUser::new(user.id)).await?;
    Ok(true)
}

/// A user to create: [`register`]'s input.
#[derive(Debug, Default)]
pub struct NewUser<'a> {
    pub username: &'a str,
    pub display_name: Option<&'a str>,
    /// Confirmed addresses; one the user already has is skipped.
    pub emails: &'a [String],
    /// `(version, hash)`, computed before the transaction opened.
    pub hashed_password: Option<&'a (u16, String)>,
    pub admin: bool,
}

/// Creates a user with their password and emails, and queues their
/// provisioning on the homeserver (with the display name), all in the
/// caller's transaction. A taken username is [`StorageError::Conflict`].
pub async fn register(
    repo: &mut Repository,
    ctx: Context<'_>,
    new: NewUser<'_>,
) -> Result<User, StorageError> {
    let now = ctx.now();
    let user = repo.users().add(ctx.new_id(now), new.username, now).await?;
    let user = if new.admin {
        repo.users().set_can_request_admin(user, true).await?
    } else {
        user
    };
    if let Some(hashed) = new.hashed_password {
        set_password(repo, ctx, &user, hashed).await?;
    }
    for email in new.emails {
        match repo
            .user_emails()
            .add(ctx.new_id(now), &user, email, now)
            .await
        {
            Ok(_) | Err(StorageError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
    }
    let job = ProvisionUser {
        set_display_name: new.display_name.map(str::to_owned),
        user_id: user.id,
    };
    queue(repo, ctx, job).await?;
    Ok(user)
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
