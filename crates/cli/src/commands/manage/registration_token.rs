//! `manage issue-user-registration-token`: creates a registration token
//! (single use unless told otherwise) and prints it, for
//! `account.password_registration_token_required`.

use std::process::ExitCode;

use anyhow::{bail, Result};
use mxauth_server::ops::registration::{issue_token, IssueTokenError};

use super::Tools;

pub async fn issue(
    tools: &Tools<'_>,
    token: Option<&str>,
    usage_limit: Option<u64>,
    expires_in: Option<u64>,
) -> Result<ExitCode> {
    if usage_limit == Some(0) {
        bail!("--usage-limit must be at least 1 (or use --unlimited)");
    }
    let mut repo = tools.db.begin().await?;
    let issued = match issue_token(&mut repo, tools.ops(), token, usage_limit, expires_in).await {
        Ok(issued) => issued,
        Err(IssueTokenError::Storage(e)) => return Err(e.into()),
        Err(e) => bail!("{e}"),
    };
    repo.commit().await?;
    let uses = match issued.usage_limit {
        Some(1) => "once".to_owned(),
        Some(n) => format!("{n} times"),
        None => "any number of times".to_owned(),
    };
    let until = match issued.expires_at {
        Some(at) => format!(", until {}", at.format("%Y-%m-%d %H:%M:%S UTC")),
        None => String::new(),
    };
    eprintln!("Registration token created: usable {uses}{until}.");
    println!("{}", issued.token);
    Ok(ExitCode::SUCCESS)
}
