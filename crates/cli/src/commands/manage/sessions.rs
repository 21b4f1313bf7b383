//! `manage kill-sessions` and `manage issue-compatibility-token`: ending
//! every session of a user, and starting a compat session as the legacy
//! Matrix login does, through the operations the server uses
//! ([`ops::sessions`], [`ops::compat`]).

use std::process::ExitCode;

use anyhow::{bail, Result};
use mxauth_model::{tokens::generate_device_id, OsRandom, RandomSource, User};
use mxauth_server::ops::{
    self,
    compat::{valid_device_id, NewCompatSession},
    sessions::Ended,
};
use mxauth_storage::Repository;

use super::{find_user, Tools};
use crate::commands::Context;

/// Ends every OAuth, compat and browser session of the user, one line per
/// session on standard output. With `dry_run` the same operation runs and
/// is rolled back, so what it lists is exactly what would end.
pub async fn kill(tools: &Tools<'_>, username: &str, dry_run: bool) -> Result<ExitCode> {
    let mut repo = tools.db.begin().await?;
    let user = find_user(&mut repo, username, tools.server_name).await?;
    for line in list_active(&mut repo, &user).await? {
        println!("{line}");
    }
    let ended = ops::sessions::end_all_of_user(&mut repo, tools.ops(), &user, None).await?;
    if dry_run {
        repo.rollback().await?;
    } else {
        repo.commit().await?;
    }
    eprintln!("{}", ended_line(&ended, dry_run));
    if dry_run {
        eprintln!("Dry run: nothing was changed.");
    }
    Ok(ExitCode::SUCCESS)
}

/// The active sessions of `user`, one line each: kind, id, and what tells
/// them apart (the client and device, the browser).
async fn list_active(repo: &mut Repository, user: &User) -> Result<Vec<String>> {
    let mut lines = Vec::new();
    for s in repo.oauth2_sessions().active_of_user(user.id).await? {
        let device = s.scope.device_id().ok().flatten().unwrap_or("-").to_owned();
        lines.push(format!(
            "oauth2 {} client {} device {device}",
            s.id, s.client_id
        ));
    }
    for s in repo.compat_sessions().active(user, None).await? {
        let device = s.device_id.as_deref().unwrap_or("-");
        lines.push(format!("compat {} device {device}", s.id));
    }
    for s in repo.browser_sessions().active_of_user(user.id).await? {
        let agent = s.user_agent.as_deref().unwrap_or("-");
        lines.push(format!("browser {} user agent {agent}", s.id));
    }
    Ok(lines)
}

/// "Ended 2 OAuth 2.0, 1 compat and 0 browser session(s)", and whether the
/// homeserver's devices are synced.
pub fn ended_line(ended: &Ended, dry_run: bool) -> String {
    let verb = if dry_run { "Would end" } else { "Ended" };
    let counts = format!(
        "{verb} {} OAuth 2.0, {} compat and {} browser session(s)",
        ended.oauth2, ended.compat, ended.browser
    );
    match (ended.oauth2 + ended.compat, dry_run) {
        (0, _) => format!("{counts}."),
        (_, true) => format!("{counts}, and would queue a device sync."),
        (_, false) => {
            format!("{counts}; the worker removes their devices from the homeserver.")
        }
    }
}

/// Creates the device on the homeserver (nothing is written if that
/// fails), then the compat session with its access token, printed on
/// standard output; the device id goes to standard error.
pub async fn issue_compat_token(
    ctx: &Context,
    tools: &Tools<'_>,
    username: &str,
    device_id: Option<&str>,
    admin: bool,
) -> Result<ExitCode> {
    if let Some(id) = device_id.filter(|id| !valid_device_id(id)) {
        bail!("{id:?} is not a device id: 1 to 255 printable ASCII characters, no spaces");
    }
    let mut repo = tools.db.begin().await?;
    let user = find_user(&mut repo, username, tools.server_name).await?;
    repo.rollback().await?;
    // Introspection refuses the tokens of such users: say so now.
    if user.deactivated_at.is_some() {
        bail!("{} is deactivated; nothing was changed", user.username);
    }
    if user.locked_at.is_some() {
        bail!(
            "{} is locked; nothing was changed (unlock-user first)",
            user.username
        );
    }
    let device = match device_id {
        Some(id) => id.to_owned(),
        None => generate_device_id(&mut OsRandom.rng()),
    };
    // Before the transaction, as the login does: the homeserver refuses
    // tokens of devices it does not know.
    let homeserver = super::homeserver(ctx)?;
    if let Err(e) = ops::devices::ensure(homeserver.as_ref(), &user, &device, None).await {
        bail!(
            "cannot create the device {device} of {} on the homeserver: {e}; nothing was changed",
            user.username
        );
    }
    let mut repo = tools.db.begin().await?;
    let new = NewCompatSession {
        device_id: &device,
        is_synapse_admin: admin,
        ..NewCompatSession::default()
    };
    let started = ops::compat::start(&mut repo, tools.ops(), &user, &new).await?;
    repo.commit().await?;
    let admin_note = if admin {
        " with Synapse admin rights (urn:synapse:admin:*)"
    } else {
        ""
    };
    eprintln!(
        "Compatibility token issued for {} on device {device}{admin_note}; it does not expire.",
        user.mxid(tools.server_name)
    );
    println!("{}", started.tokens.access_token);
    Ok(ExitCode::SUCCESS)
}
