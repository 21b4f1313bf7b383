//! The import itself: Synapse's users in pages of `batch_users` (see
//! [`ImportSettings`]), each page with its emails, external ids, devices
//! and tokens, written as one batch.
//!
//! A real run commits every batch on its own, and records each user it
//! writes in `syn2mas_imported_users` in the same transaction. So a run that
//! stops half-way leaves whole batches, and the next run skips the users
//! already there and carries on; it also picks up users, devices and tokens
//! that appeared in Synapse since. A dry run writes everything in one
//! transaction and rolls it back.
//!
//! Tokens are stored as SHA-256 digests only, like every token mxauth
//! issues; the token strings themselves never leave Synapse's database.

// The importer is not a request: its ids come from the thread's generator
// and the wall clock.
#![allow(clippy::disallowed_methods)]

use std::collections::HashMap;

use chrono::{DateTime, TimeZone, Utc};
use mxauth_model::{tokens::token_digest, user_id_localpart};
use mxauth_storage::{
    new_ulid, Database, ImportAccessToken, ImportBatch, ImportRefreshToken, ImportSession,
    ImportUser, Repository,
};
use ulid::Ulid;

use crate::{
    progress::{ImportProgress, Tally},
    source::{
        SynapseAccessToken, SynapseDevice, SynapseExternalId, SynapseSource, SynapseThreepid,
        SynapseUser,
    },
    Syn2masError,
};

type Result<T, E = Syn2masError> = std::result::Result<T, E>;

/// Users per batch: large enough for few round trips, small enough that a
/// batch (with two devices and tokens per user) stays a few megabytes.
pub const DEFAULT_BATCH_USERS: i64 = 1000;

pub struct ImportSettings<'a> {
    pub server_name: &'a str,
    pub providers: &'a HashMap<String, Ulid>,
    pub dry_run: bool,
    /// Users per batch, more than zero ([`DEFAULT_BATCH_USERS`] unless the
    /// operator chose otherwise).
    pub batch_users: i64,
}

fn millis(ms: Option<i64>) -> Option<DateTime<Utc>> {
    ms.and_then(|ms| Utc.timestamp_millis_opt(ms).single())
}

/// Runs the import, telling `progress` after each batch; returns what was
/// (or, in a dry run, would have been) written.
pub async fn run(
    source: &SynapseSource,
    target: &Database,
    settings: &ImportSettings<'_>,
    progress: &mut dyn ImportProgress,
) -> Result<Tally> {
    let mut tally = Tally::default();
    let mut dry_run_tx = if settings.dry_run {
        Some(target.begin().await?)
    } else {
        None
    };
    let size = settings.batch_users.max(1);
    let mut batches = 0;
    // Reading the next page from Synapse overlaps with writing this one.
    let mut next = read_page(source, "", size).await?;
    while let Some(page) = next {
        let write = async {
            match dry_run_tx.as_mut() {
                Some(repo) => write_page(repo, settings, &page).await,
                None => {
                    let mut repo = target.begin().await?;
                    let written = write_page(&mut repo, settings, &page).await?;
                    repo.commit().await?;
                    Ok(written)
                }
            }
        };
        let (written, following) = tokio::join!(write, read_page(source, &page.last, size));
        tally.add(&written?);
        batches += 1;
        progress.batch_written(&tally, batches);
        next = following?;
    }
    if let Some(repo) = dry_run_tx {
        repo.rollback().await?;
    }
    Ok(tally)
}

/// One page of Synapse users with the rows that belong to them.
struct SourcePage {
    users: Vec<SynapseUser>,
    last: String,
    threepids: Vec<SynapseThreepid>,
    external_ids: Vec<SynapseExternalId>,
    devices: Vec<SynapseDevice>,
    tokens: Vec<SynapseAccessToken>,
}

/// The users after `after` and their rows; `None` when there are no more.
async fn read_page(source: &SynapseSource, after: &str, size: i64) -> Result<Option<SourcePage>> {
    let users = source.users_after(after, size).await?;
    let (Some(first), Some(last)) = (users.first(), users.last()) else {
        return Ok(None);
    };
    let (first, last) = (first.name.clone(), last.name.clone());
    Ok(Some(SourcePage {
        threepids: source.threepids(&first, &last).await?,
        external_ids: source.external_ids(&first, &last).await?,
        devices: source.devices(&first, &last).await?,
        tokens: source.access_tokens(&first, &last).await?,
        users,
        last,
    }))
}

/// Writes what the target lacks of one page.
async fn write_page(
    repo: &mut Repository,
    settings: &ImportSettings<'_>,
    page: &SourcePage,
) -> Result<Tally> {
    let users = &page.users;
    let now = Utc::now();
    let mut rng = rand::thread_rng();
    let mut tally = Tally {
        users_seen: users.len() as u64,
        ..Tally::default()
    };
    let mut batch = ImportBatch::default();

    // Users: new ones are written; ones an earlier run wrote only get
    // what is missing below; appservice users and guests are skipped.
    let wanted: Vec<(&SynapseUser, &str)> = users
        .iter()
        .filter(|u| u.appservice_id.is_none() && !u.is_guest)
        .filter_map(|u| Some((u, user_id_localpart(&u.name, settings.server_name)?)))
        .collect();
    tally.users_skipped = (users.len() - wanted.len()) as u64;
    let names: Vec<String> = wanted.iter().map(|(_, name)| (*name).to_owned()).collect();
    let existing = repo.syn2mas().existing_users(&names).await?;
    // Synapse user id → (mxauth id, is new, is admin)
    let mut ids: HashMap<&str, (Ulid, bool, bool)> = HashMap::new();
    for &(user, name) in &wanted {
        if let Some(found) = existing.get(name) {
            if !found.imported {
                return Err(Syn2masError::ForeignUser(name.to_owned()));
            }
            tally.users_skipped += 1;
            ids.insert(&user.name, (found.id, false, user.admin));
            continue;
        }
        let created_at = user
            .creation_ts
            .and_then(|s| Utc.timestamp_opt(s, 0).single())
            .unwrap_or(now);
        let id = new_ulid(created_at, &mut rng);
        ids.insert(&user.name, (id, true, user.admin));
        batch.users.push(ImportUser {
            id,
            username: name.to_owned(),
            created_at,
            locked: user.locked,
            deactivated: user.deactivated,
            can_request_admin: user.admin,
        });
        // Synapse's bcrypt hashes become scheme version 1 (checked to be
        // bcrypt with Synapse's pepper); other hashes come from password
        // provider modules and cannot be verified here.
        if let Some(hash) = user
            .password_hash
            .as_deref()
            .filter(|h| h.starts_with("$2"))
        {
            batch.passwords.push((id, hash.to_owned(), 1));
        }
    }
    let new_user = |user_id: &str| ids.get(user_id).filter(|(_, new, _)| *new).map(|u| u.0);

    for threepid in &page.threepids {
        let Some(user) = new_user(&threepid.user_id) else {
            continue;
        };
        if threepid.medium == "email" {
            batch.emails.push((user, threepid.address.clone()));
        } else {
            batch.other_third_party_ids.push((
                user,
                threepid.medium.clone(),
                threepid.address.clone(),
            ));
        }
    }
    for link in &page.external_ids {
        let (Some(user), Some(provider)) = (
            new_user(&link.user_id),
            settings.providers.get(&link.auth_provider),
        ) else {
            // Unmapped providers were refused by the checks unless the
            // admin chose to import those users without the link.
            continue;
        };
        batch
            .upstream_links
            .push((*provider, user, link.external_id.clone()));
    }

    // Devices → compat sessions, unless one exists from an earlier run.
    // Users new in this page cannot have sessions or tokens yet, so a page
    // of new users (every page of a first run) skips those lookups.
    let earlier: Vec<Ulid> = ids
        .values()
        .filter(|(_, new, _)| !new)
        .map(|u| u.0)
        .collect();
    let mut sessions = if earlier.is_empty() {
        HashMap::new()
    } else {
        repo.syn2mas().existing_devices(&earlier).await?
    };
    for device in &page.devices {
        let Some(&(user, _, admin)) = ids.get(device.user_id.as_str()) else {
            continue;
        };
        let key = (user, device.device_id.clone());
        if sessions.contains_key(&key) {
            continue;
        }
        let id = new_ulid(now, &mut rng);
        sessions.insert(key, id);
        batch.sessions.push(ImportSession {
            id,
            user_id: user,
            device_id: Some(device.device_id.clone()),
            is_synapse_admin: admin,
            human_name: device.display_name.clone(),
            user_agent: device.user_agent.clone(),
            last_active_at: millis(device.last_seen),
            last_active_ip: device.ip.clone(),
        });
    }

    // Tokens, unless stored already.
    let tokens = &page.tokens;
    let access_digests: Vec<String> = tokens.iter().map(|t| token_digest(&t.token)).collect();
    let refresh_digests: Vec<String> = tokens
        .iter()
        .filter_map(|t| t.refresh_token.as_deref().map(token_digest))
        .collect();
    let (stored_access, stored_refresh) = if earlier.is_empty() {
        Default::default()
    } else {
        (
            repo.syn2mas()
                .existing_token_digests(&access_digests, false)
                .await?,
            repo.syn2mas()
                .existing_token_digests(&refresh_digests, true)
                .await?,
        )
    };
    for (token, digest) in tokens.iter().zip(access_digests) {
        // A pair whose refresh token was already exchanged is dead: the
        // client holds the newer pair.
        if token.refresh_consumed || stored_access.contains(&digest) {
            continue;
        }
        let Some(&(user, _, admin)) = ids.get(token.user_id.as_str()) else {
            continue;
        };
        let session = match &token.device_id {
            Some(device) => match sessions.get(&(user, device.clone())) {
                Some(session) => *session,
                // The device is hidden or gone: so is the token's use.
                None => continue,
            },
            None => {
                // A token without a device (e.g. made through the admin
                // API) gets a session of its own.
                let id = new_ulid(now, &mut rng);
                batch.sessions.push(ImportSession {
                    id,
                    user_id: user,
                    device_id: None,
                    is_synapse_admin: admin,
                    human_name: None,
                    user_agent: None,
                    last_active_at: None,
                    last_active_ip: None,
                });
                id
            }
        };
        let access_id = new_ulid(now, &mut rng);
        batch.access_tokens.push(ImportAccessToken {
            id: access_id,
            session_id: session,
            digest,
            expires_at: millis(token.valid_until_ms),
        });
        if let Some(refresh) = token.refresh_token.as_deref() {
            let digest = token_digest(refresh);
            if !stored_refresh.contains(&digest) {
                batch.refresh_tokens.push(ImportRefreshToken {
                    id: new_ulid(now, &mut rng),
                    session_id: session,
                    access_token_id: Some(access_id),
                    digest,
                });
            }
        }
    }

    repo.syn2mas().write(&batch, now).await?;
    tally.users = batch.users.len() as u64;
    tally.passwords = batch.passwords.len() as u64;
    tally.emails = batch.emails.len() as u64;
    tally.other_third_party_ids = batch.other_third_party_ids.len() as u64;
    tally.upstream_links = batch.upstream_links.len() as u64;
    tally.sessions = batch.sessions.len() as u64;
    tally.access_tokens = batch.access_tokens.len() as u64;
    tally.refresh_tokens = batch.refresh_tokens.len() as u64;
    Ok(tally)
}
