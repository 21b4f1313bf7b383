//! `manage deactivate-user`, `reactivate-user`, `set-displayname` and
//! `remove-email`: changes to a user that the homeserver hears about
//! through the jobs the shared operations queue ([`ops::users`]), the same
//! as when the account pages (and, later, the admin API) make them.

use std::process::ExitCode;

use anyhow::{bail, Result};
use mxauth_model::{is_plausible_email, user::check_display_name};
use mxauth_server::ops;

use super::{find_user, Tools};

/// Locked, deactivated (the homeserver keeps the data), every session
/// ended. A user already locked keeps the time of that lock.
pub async fn deactivate(tools: &Tools<'_>, username: &str) -> Result<ExitCode> {
    let mut repo = tools.db.begin().await?;
    let user = find_user(&mut repo, username, tools.server_name).await?;
    let already = user.deactivated_at.is_some();
    // Without erasing their data on the homeserver, as MAS's
    // `lock-user --deactivate`; reactivate-user can bring them back whole.
    let (user, ended) = ops::users::deactivate(&mut repo, tools.ops(), user, false).await?;
    repo.commit().await?;
    if already {
        eprintln!(
            "{} was already deactivated; the homeserver is told again.",
            user.username
        );
    } else {
        eprintln!("{} is locked and deactivated.", user.username);
    }
    eprintln!("{}", super::sessions::ended_line(&ended, false));
    Ok(ExitCode::SUCCESS)
}

/// Deactivation reversed; the lock stays (MAS's semantics), so the user
/// still cannot log in until `unlock-user`.
pub async fn reactivate(tools: &Tools<'_>, username: &str) -> Result<ExitCode> {
    let mut repo = tools.db.begin().await?;
    let user = find_user(&mut repo, username, tools.server_name).await?;
    let was_deactivated = user.deactivated_at.is_some();
    let user = ops::users::reactivate(&mut repo, tools.ops(), user).await?;
    repo.commit().await?;
    let name = &user.username;
    if !was_deactivated {
        eprintln!(
            "{name} was not deactivated here; the homeserver is asked to reactivate them anyway."
        );
    } else if user.locked_at.is_some() {
        eprintln!("{name} is reactivated, and still locked: `mxauth manage unlock-user {name}` lets them log in again.");
    } else {
        eprintln!("{name} is reactivated.");
    }
    Ok(ExitCode::SUCCESS)
}

/// Queues provisioning with the name, as registration does; the
/// homeserver owns the name. Surrounding spaces are dropped, as on the
/// profile page.
pub async fn set_display_name(tools: &Tools<'_>, username: &str, name: &str) -> Result<ExitCode> {
    let name = name.trim();
    if name.is_empty() {
        bail!("the display name is empty; nothing was changed");
    }
    if let Err(e) = check_display_name(name) {
        bail!("{e}; nothing was changed");
    }
    let mut repo = tools.db.begin().await?;
    let user = find_user(&mut repo, username, tools.server_name).await?;
    if user.deactivated_at.is_some() {
        bail!(
            "{} is deactivated; nothing was changed (reactivate-user first)",
            user.username
        );
    }
    ops::users::set_display_name(&mut repo, tools.ops(), &user, name).await?;
    repo.commit().await?;
    eprintln!(
        "Display name of {} set to {name:?}; the worker delivers it to the homeserver.",
        user.username
    );
    Ok(ExitCode::SUCCESS)
}

/// Removes one of the user's addresses (matched ignoring case); the
/// homeserver gets the new list through provisioning.
pub async fn remove_email(tools: &Tools<'_>, username: &str, email: &str) -> Result<ExitCode> {
    if !is_plausible_email(email) {
        bail!("{email:?} is not an email address");
    }
    let mut repo = tools.db.begin().await?;
    let user = find_user(&mut repo, username, tools.server_name).await?;
    let Some(found) = repo.user_emails().find(&user, email).await? else {
        bail!(
            "{} has no address {email}; nothing was changed",
            user.username
        );
    };
    if !ops::users::remove_email(&mut repo, tools.ops(), &user, found.id).await? {
        // Removed by someone else since the lookup.
        bail!(
            "{} has no address {email}; nothing was changed",
            user.username
        );
    }
    repo.commit().await?;
    eprintln!("Removed {} from {}.", found.email, user.username);
    Ok(ExitCode::SUCCESS)
}
