//! `manage register-user`: create a user with a password, emails and the
//! admin flag, asking for what is missing unless `--yes`. Nothing is written
//! until everything is checked (the Matrix localpart rules, then whether the
//! homeserver accepts the name, then the upstream accounts to link), and
//! everything is written in one transaction.

use std::process::ExitCode;

use anyhow::{bail, Result};
use mxauth_model::{is_plausible_email, user::check_display_name};
use mxauth_server::{homeserver::Availability, ops};
use mxauth_storage::StorageError;

use super::{check_complexity, check_username, links, localpart, password_manager, Tools};
use crate::{args::ManageCommand, commands::Context, prompt};

pub async fn run(ctx: &Context, tools: &Tools<'_>, command: &ManageCommand) -> Result<ExitCode> {
    let ManageCommand::RegisterUser {
        username,
        password,
        emails,
        admin,
        no_admin: _,
        display_name,
        yes,
        ignore_password_complexity,
        ignore_homeserver_check,
        upstream_provider_mappings,
    } = command
    else {
        unreachable!("register::run is only called for register-user");
    };

    let name = match username {
        Some(name) => name.clone(),
        None if *yes => bail!("a username is needed: mxauth manage register-user USERNAME -y"),
        None => prompt::ask("Username")?,
    };
    let username = localpart(&name, tools.server_name)?.to_owned();
    check_username(&username, tools.server_name)?;
    {
        let mut repo = tools.db.begin().await?;
        if repo.users().find_by_username(&username).await?.is_some() {
            bail!("a user named {username} already exists; nothing was changed");
        }
    }
    for email in emails {
        if !is_plausible_email(email) {
            bail!("{email:?} is not an email address");
        }
    }
    if let Some(name) = display_name {
        if let Err(e) = check_display_name(name) {
            bail!("{e}; nothing was changed");
        }
    }
    let mappings = links::parse(&ctx.config, upstream_provider_mappings)?;
    links::check_free(tools.db, &mappings).await?;
    if !*ignore_homeserver_check {
        check_homeserver(ctx, &username, tools.server_name).await?;
    }

    // Without --yes and without -p, ask; with --yes, no password means the
    // user logs in some other way (an upstream provider), as in MAS.
    let password = match password {
        Some(p) => Some(p.clone()),
        None if *yes => None,
        None => Some(prompt::ask_password()?).filter(|p| !p.is_empty()),
    };
    let hashed = match &password {
        Some(password) => {
            let passwords = password_manager(ctx)?;
            check_complexity(
                &passwords,
                password,
                &[&username],
                *ignore_password_complexity,
            )?;
            Some(passwords.hash(password.clone()).await?)
        }
        None => None,
    };

    if !*yes {
        eprintln!(
            "About to create {}",
            format_summary(
                &username,
                tools.server_name,
                hashed.is_some(),
                emails,
                *admin,
                display_name.as_deref(),
                &mappings,
            )
        );
        if !prompt::confirm("Create this user?")? {
            bail!("cancelled; nothing was changed");
        }
    }

    let mut repo = tools.db.begin().await?;
    let new = ops::users::NewUser {
        username: &username,
        display_name: display_name.as_deref(),
        emails,
        hashed_password: hashed.as_ref(),
        admin: *admin,
    };
    let user = match ops::users::register(&mut repo, tools.ops(), new).await {
        Ok(user) => user,
        // Someone else created it since we checked.
        Err(StorageError::Conflict(_)) => {
            bail!("a user named {username} already exists; nothing was changed")
        }
        Err(e) => return Err(e.into()),
    };
    // An error drops the transaction: no user without its links.
    links::write(&mut repo, tools.ops(), &user, &mappings).await?;
    repo.commit().await?;
    println!("{}", user.mxid(tools.server_name));
    eprintln!("User {} created.", user.username);
    for mapping in &mappings {
        eprintln!(
            "Linked to the account {:?} at {}.",
            mapping.subject, mapping.provider_name
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Asks the homeserver whether it would register `username`, as MAS does: a
/// name it refuses (Synapse reserves `_svc`, for one) would be created here
/// and then fail provisioning for ever.
async fn check_homeserver(ctx: &Context, username: &str, server_name: &str) -> Result<()> {
    let mxid = format!("@{username}:{server_name}");
    let homeserver = super::homeserver(ctx)?;
    match homeserver.localpart_availability(username).await {
        Ok(Availability::Available) => Ok(()),
        Ok(Availability::Unavailable { errcode, .. }) if errcode == "M_USER_IN_USE" => bail!(
            "the homeserver already has {mxid}; nothing was changed. To create it here and take over the homeserver's account, pass --ignore-homeserver-check"
        ),
        Ok(Availability::Unavailable { errcode, message }) => bail!(
            "the homeserver will not register {mxid} ({errcode}: {message}); nothing was changed. Choose another username"
        ),
        // Development mode's homeserver is a placeholder nobody runs.
        Err(e) if ctx.dev_mode => {
            eprintln!("warning: cannot ask the homeserver whether it accepts {mxid} ({e}); creating the user anyway, as this is development mode");
            Ok(())
        }
        Err(e) => bail!(
            "cannot ask the homeserver whether it accepts {mxid}: {e}; nothing was changed. Start the homeserver, or pass --ignore-homeserver-check to create the user now (the worker provisions it once the homeserver answers)"
        ),
    }
}

fn format_summary(
    username: &str,
    server_name: &str,
    has_password: bool,
    emails: &[String],
    admin: bool,
    display_name: Option<&str>,
    mappings: &[links::Mapping],
) -> String {
    let mut lines = vec![format!("@{username}:{server_name}")];
    lines.push(format!(
        "  password: {}",
        if has_password { "set" } else { "none" }
    ));
    if !emails.is_empty() {
        lines.push(format!("  emails: {}", emails.join(", ")));
    }
    if let Some(name) = display_name {
        lines.push(format!("  display name: {name}"));
    }
    for mapping in mappings {
        lines.push(format!(
            "  linked to {:?} at {}",
            mapping.subject, mapping.provider_name
        ));
    }
    lines.push(format!(
        "  may request admin: {}",
        if admin { "yes" } else { "no" }
    ));
    lines.join("\n")
}
