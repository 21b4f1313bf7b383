//! `register-user --upstream-provider-mapping PROVIDER_ULID:SUBJECT`: the
//! new user's accounts at upstream providers, linked in the transaction that
//! creates the user, so the person signs in through the provider straight
//! away. Each mapping is checked before anything is written: the provider
//! must be in `upstream_oauth2.providers`, the subject must not be empty,
//! and no user may have that account linked already.

use anyhow::{bail, Result};
use mxauth_config::RootConfig;
use mxauth_model::{upstream::UpstreamLink, User};
use mxauth_server::ops;
use mxauth_storage::{Database, Repository, StorageError};
use ulid::Ulid;

/// One `--upstream-provider-mapping`, checked against the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pub provider_id: Ulid,
    /// How messages name the provider: its `human_name`, else its id.
    pub provider_name: String,
    pub subject: String,
}

/// Parses and checks the flags against `upstream_oauth2.providers`.
pub fn parse(config: &RootConfig, entries: &[String]) -> Result<Vec<Mapping>> {
    let mut mappings: Vec<Mapping> = Vec::new();
    for entry in entries {
        // A ULID has no colon; the subject may.
        let Some((provider, subject)) = entry.split_once(':') else {
            bail!("--upstream-provider-mapping {entry:?} is not PROVIDER_ULID:SUBJECT; nothing was changed");
        };
        let Ok(provider_id) = provider.trim().parse::<Ulid>() else {
            bail!("--upstream-provider-mapping {entry:?}: {provider:?} is not a ULID (the id of a provider in upstream_oauth2.providers); nothing was changed");
        };
        if subject.trim().is_empty() {
            bail!("--upstream-provider-mapping {entry:?}: the subject (the account's id at the provider) is empty; nothing was changed");
        }
        let Some(provider) = config
            .upstream_oauth2
            .providers
            .iter()
            .find(|p| p.id.parse::<Ulid>().ok() == Some(provider_id))
        else {
            let known: Vec<&str> = config
                .upstream_oauth2
                .providers
                .iter()
                .map(|p| p.id.as_str())
                .collect();
            bail!(
                "--upstream-provider-mapping: there is no upstream provider {provider_id} in upstream_oauth2.providers ({}); nothing was changed",
                if known.is_empty() {
                    "there are none".to_owned()
                } else {
                    format!("they are {}", known.join(", "))
                }
            );
        };
        let mapping = Mapping {
            provider_id,
            provider_name: provider
                .human_name
                .clone()
                .unwrap_or_else(|| provider_id.to_string()),
            subject: subject.to_owned(),
        };
        if mappings.contains(&mapping) {
            bail!("--upstream-provider-mapping {entry:?} is given twice; nothing was changed");
        }
        mappings.push(mapping);
    }
    Ok(mappings)
}

/// Refuses an account that some user has linked already (before asking
/// anything or hashing the password).
pub async fn check_free(db: &Database, mappings: &[Mapping]) -> Result<()> {
    let mut read = db.read().await?;
    for mapping in mappings {
        let link = read
            .upstream_links()
            .find_by_subject(mapping.provider_id, &mapping.subject)
            .await?;
        if let Some(UpstreamLink {
            user_id: Some(_), ..
        }) = link
        {
            bail!("{}; nothing was changed", taken(mapping));
        }
    }
    Ok(())
}

fn taken(mapping: &Mapping) -> String {
    format!(
        "the account {:?} at {} is already linked to a user",
        mapping.subject, mapping.provider_name
    )
}

/// Links `user` to each account, in the caller's transaction. A link left
/// by a sign-in that never chose a user is taken over; one that points at a
/// user is an error, and the caller's transaction is dropped.
pub async fn write(
    repo: &mut Repository,
    ctx: ops::Context<'_>,
    user: &User,
    mappings: &[Mapping],
) -> Result<()> {
    for mapping in mappings {
        let existing = repo
            .upstream_links()
            .find_by_subject(mapping.provider_id, &mapping.subject)
            .await?;
        match existing {
            Some(link) if link.user_id.is_none() => {
                if !repo.upstream_links().associate(link.id, user.id).await? {
                    bail!("{}; nothing was changed", taken(mapping));
                }
            }
            Some(_) => bail!("{}; nothing was changed", taken(mapping)),
            None => {
                let now = ctx.now();
                let link = UpstreamLink {
                    id: ctx.new_id(now),
                    provider_id: mapping.provider_id,
                    user_id: Some(user.id),
                    subject: mapping.subject.clone(),
                    human_account_name: None,
                    created_at: now,
                };
                match repo.upstream_links().add(&link).await {
                    Ok(()) => {}
                    // Someone linked it since the check.
                    Err(StorageError::Conflict(_)) => {
                        bail!("{}; nothing was changed", taken(mapping))
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
    Ok(())
}
