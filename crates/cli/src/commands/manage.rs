//! `manage …`: creating users and changing them from the command line.
//! Commands that change something on the homeserver side (display name,
//! lock state, deactivation) queue a job in the same transaction, which the
//! worker delivers to the homeserver.

use std::{process::ExitCode, sync::Arc};

use anyhow::{bail, Context as _, Result};
use mxauth_model::OsRandom;
use mxauth_model::{is_plausible_email, validate_localpart, Clock, SystemClock, User};
use mxauth_server::{homeserver::Homeserver, jobs::ProvisionUser, ops, passwords::PasswordManager};
use mxauth_storage::{Database, Repository};

use super::Context;
use crate::{args::ManageCommand, resolve};

mod changes;
mod links;
mod register;
mod registration_token;
mod sessions;

pub async fn run(ctx: &Context, command: &ManageCommand) -> Result<ExitCode> {
    let db = ctx.database().await?;
    // On PostgreSQL, a lock or a logout made here waits until every running
    // server's token cache has dropped what it changed, like one made there.
    if let Some(cache) = db.enable_token_cache() {
        cache.wait_live(std::time::Duration::from_secs(2)).await;
    }
    let server_name = ctx.config.matrix.homeserver.as_str();
    let tools = Tools {
        db: &db,
        server_name,
        clock: &SystemClock,
    };
    match command {
        ManageCommand::RegisterUser { .. } => register::run(ctx, &tools, command).await,
        ManageCommand::AddEmail { username, email } => {
            add_email(&tools, username, email, false).await
        }
        ManageCommand::VerifyEmail { username, email } => {
            add_email(&tools, username, email, true).await
        }
        ManageCommand::SetPassword {
            username,
            password,
            ignore_complexity,
        } => {
            let passwords = password_manager(ctx)?;
            set_password(&tools, &passwords, username, password, *ignore_complexity).await
        }
        ManageCommand::LockUser {
            username,
            deactivate,
        } => lock(&tools, username, *deactivate).await,
        ManageCommand::UnlockUser {
            username,
            reactivate,
        } => unlock(&tools, username, *reactivate).await,
        ManageCommand::DeactivateUser { username } => changes::deactivate(&tools, username).await,
        ManageCommand::ReactivateUser { username } => changes::reactivate(&tools, username).await,
        ManageCommand::KillSessions { username, dry_run } => {
            sessions::kill(&tools, username, *dry_run).await
        }
        ManageCommand::IssueCompatibilityToken {
            username,
            device_id,
            admin,
        } => {
            sessions::issue_compat_token(ctx, &tools, username, device_id.as_deref(), *admin).await
        }
        ManageCommand::SetDisplayname { username, name } => {
            changes::set_display_name(&tools, username, name).await
        }
        ManageCommand::RemoveEmail { username, email } => {
            changes::remove_email(&tools, username, email).await
        }
        ManageCommand::PromoteAdmin { username } => set_admin(&tools, username, true).await,
        ManageCommand::DemoteAdmin { username } => set_admin(&tools, username, false).await,
        ManageCommand::ProvisionAllUsers => provision_all(&tools).await,
        ManageCommand::IssueUserRegistrationToken {
            token,
            usage_limit,
            unlimited,
            expires_in,
        } => {
            let limit = match (unlimited, usage_limit) {
                (true, _) => None,
                (false, limit) => Some(limit.unwrap_or(1)),
            };
            registration_token::issue(&tools, token.as_deref(), limit, *expires_in).await
        }
        ManageCommand::ListAdminUsers => {
            let mut repo = db.begin().await?;
            let admins = repo.users().list_admins().await?;
            if admins.is_empty() {
                eprintln!("No user may request admin rights.");
            }
            for user in admins {
                println!("{}", user.mxid(server_name));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// What every manage command works with.
pub struct Tools<'a> {
    pub db: &'a Database,
    pub server_name: &'a str,
    pub clock: &'a dyn Clock,
}

impl Tools<'_> {
    /// What the shared operations need: the system's clock and generator.
    pub fn ops(&self) -> ops::Context<'_> {
        ops::Context {
            clock: self.clock,
            random: &OsRandom,
        }
    }
}

/// The connection to the homeserver of `matrix`, with its shared secret.
pub fn homeserver(ctx: &Context) -> Result<Arc<dyn Homeserver>> {
    let secret = resolve::matrix_secret(&ctx.config.matrix)?;
    crate::commands::state::homeserver(&ctx.config, &secret)
}

pub fn password_manager(ctx: &Context) -> Result<PasswordManager> {
    resolve::password_manager(&ctx.config.passwords)?
        .context("passwords are disabled in this configuration (passwords.enabled: false)")
}

/// `alice` or `@alice:example.com` (which must be on this server): the
/// model's one parser, with a message that says what is wrong.
pub fn localpart<'a>(name: &'a str, server_name: &str) -> Result<&'a str> {
    mxauth_model::localpart_of(name, server_name).with_context(|| {
        match name.trim().strip_prefix('@').and_then(|m| m.split_once(':')) {
            Some((_, server)) => format!(
                "{name} belongs to {server}, but this mxauth serves {server_name} (matrix.homeserver)"
            ),
            None => format!("{name} is not a Matrix ID: expected @localpart:{server_name}"),
        }
    })
}

pub async fn find_user(repo: &mut Repository, name: &str, server_name: &str) -> Result<User> {
    let localpart = localpart(name, server_name)?;
    repo.users()
        .find_by_username(localpart)
        .await?
        .with_context(|| format!("there is no user named {localpart}"))
}

async fn add_email(
    tools: &Tools<'_>,
    username: &str,
    email: &str,
    verify: bool,
) -> Result<ExitCode> {
    if !is_plausible_email(email) {
        bail!("{email:?} is not an email address");
    }
    let mut repo = tools.db.begin().await?;
    let user = find_user(&mut repo, username, tools.server_name).await?;
    if !ops::users::add_email(&mut repo, tools.ops(), &user, email).await? {
        // Every stored address is confirmed, so both commands are done.
        eprintln!(
            "{} already has the confirmed address {email}.",
            user.username
        );
        return Ok(ExitCode::SUCCESS);
    }
    repo.commit().await?;
    let verb = if verify {
        "Added and confirmed"
    } else {
        "Added"
    };
    eprintln!("{verb} {email} for {}.", user.username);
    Ok(ExitCode::SUCCESS)
}

/// Refuses a password below `passwords.minimum_complexity` unless told not to.
pub fn check_complexity(
    passwords: &PasswordManager,
    password: &str,
    user_inputs: &[&str],
    ignore: bool,
) -> Result<()> {
    if !ignore && !passwords.is_complex_enough(password, user_inputs) {
        bail!(
            "the password is too weak (passwords.minimum_complexity is {}); choose a longer or less guessable one, or pass the flag that ignores complexity",
            passwords.minimum_complexity()
        );
    }
    Ok(())
}

async fn set_password(
    tools: &Tools<'_>,
    passwords: &PasswordManager,
    username: &str,
    password: &str,
    ignore_complexity: bool,
) -> Result<ExitCode> {
    // Look the user up first, so a typo fails before the slow hashing.
    let mut repo = tools.db.begin().await?;
    let user = find_user(&mut repo, username, tools.server_name).await?;
    repo.rollback().await?;
    check_complexity(passwords, password, &[&user.username], ignore_complexity)?;
    let hashed = passwords.hash(password.to_owned()).await?;
    let mut repo = tools.db.begin().await?;
    ops::users::set_password(&mut repo, tools.ops(), &user, &hashed).await?;
    repo.commit().await?;
    eprintln!("Password of {} changed.", user.username);
    Ok(ExitCode::SUCCESS)
}

/// `lock-user`; with `--deactivate`, what `deactivate-user` does.
async fn lock(tools: &Tools<'_>, username: &str, deactivate: bool) -> Result<ExitCode> {
    if deactivate {
        return changes::deactivate(tools, username).await;
    }
    let mut repo = tools.db.begin().await?;
    let user = find_user(&mut repo, username, tools.server_name).await?;
    let user = ops::users::lock(&mut repo, tools.ops(), user).await?;
    repo.commit().await?;
    eprintln!("{} is locked.", user.username);
    Ok(ExitCode::SUCCESS)
}

async fn unlock(tools: &Tools<'_>, username: &str, reactivate: bool) -> Result<ExitCode> {
    let mut repo = tools.db.begin().await?;
    let user = find_user(&mut repo, username, tools.server_name).await?;
    let user = ops::users::unlock(&mut repo, tools.ops(), user, reactivate).await?;
    repo.commit().await?;
    let what = if reactivate {
        "unlocked and reactivated"
    } else {
        "unlocked"
    };
    eprintln!("{} is {what}.", user.username);
    Ok(ExitCode::SUCCESS)
}

async fn set_admin(tools: &Tools<'_>, username: &str, admin: bool) -> Result<ExitCode> {
    let mut repo = tools.db.begin().await?;
    let user = find_user(&mut repo, username, tools.server_name).await?;
    let user = repo.users().set_can_request_admin(user, admin).await?;
    repo.commit().await?;
    if admin {
        eprintln!("{} may now request admin rights.", user.username);
    } else {
        eprintln!("{} may no longer request admin rights.", user.username);
    }
    Ok(ExitCode::SUCCESS)
}

/// Queues a provisioning job for every user, a page at a time.
async fn provision_all(tools: &Tools<'_>) -> Result<ExitCode> {
    let mut after = None;
    let mut count = 0;
    loop {
        let mut repo = tools.db.begin().await?;
        let page = repo.users().list(after, 500).await?;
        let Some(last) = page.last() else {
            repo.rollback().await?;
            break;
        };
        after = Some(last.id);
        for user in &page {
            ops::users::queue(&mut repo, tools.ops(), ProvisionUser::new(user.id)).await?;
        }
        repo.commit().await?;
        count += page.len();
    }
    eprintln!(
        "Queued provisioning of {count} user(s); the worker delivers them to the homeserver."
    );
    Ok(ExitCode::SUCCESS)
}

/// Checks a new username against the Matrix rules, with the rule in the error.
pub fn check_username(username: &str, server_name: &str) -> Result<()> {
    validate_localpart(username, server_name)
        .with_context(|| format!("invalid username {username:?}"))
}
