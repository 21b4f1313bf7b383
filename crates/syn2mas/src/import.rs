//! The import itself: Synapse's users in pages of `batch_users` (see
//! [`ImportSettings`]), each page with its emails, external ids, devices
//! and tokens, written as one batch in one transaction.
//!
//! One task reads the pages from Synapse in name order while up to
//! `writers` batches are written at the same time, each on its own
//! connection. A real run commits every batch on its own, and records each
//! user it writes in `syn2mas_imported_users` in the same transaction. So a
//! run that stops half-way leaves whole batches, and the next run skips the
//! users already there and carries on; it also picks up users, devices and
//! tokens that appeared in Synapse since. A dry run rolls every batch back.
//!
//! Into an empty target, a real run first suspends the secondary indexes and
//! foreign keys of the tables it fills and rebuilds them at the end
//! ([`bulk_load`]); a target that has users keeps them throughout. On SQLite
//! the batches go through a connection of their own with settings for bulk
//! writes (storage's `import_writer`), closed at the end.
//!
//! Tokens are stored as SHA-256 digests only, like every token mxauth
//! issues; the token strings themselves never leave Synapse's database.

// The importer is not a request: its ids come from the thread's generator
// and the wall clock.
#![allow(clippy::disallowed_methods)]

use std::{collections::HashMap, sync::Arc, time::Instant};

use chrono::{DateTime, TimeZone, Utc};
use mxauth_model::{tokens::token_digest, user_id_localpart};
use mxauth_storage::{
    new_ulid, Backend, Database, ImportAccessToken, ImportBatch, ImportRefreshToken, ImportSession,
    ImportUser, ImportWriter, Repository,
};
use rand::{rngs::StdRng, SeedableRng};
use tokio::{sync::mpsc, task::JoinSet};
use ulid::Ulid;

use crate::{
    progress::{ImportProgress, Tally, Timings},
    source::{
        SynapseAccessToken, SynapseDevice, SynapseExternalId, SynapseSource, SynapseThreepid,
        SynapseUser,
    },
    Syn2masError,
};

mod bulk_load;

type Result<T, E = Syn2masError> = std::result::Result<T, E>;

/// Users per batch: large enough that a batch is a few statements of
/// thousands of rows each, small enough that a batch (with two devices and
/// tokens per user) stays a few megabytes and a stopped run loses little.
pub const DEFAULT_BATCH_USERS: i64 = 2000;

/// Batches written at the same time, each on a connection of its own.
pub const DEFAULT_WRITERS: usize = 3;

pub struct ImportSettings<'a> {
    pub server_name: &'a str,
    pub providers: &'a HashMap<String, Ulid>,
    pub dry_run: bool,
    /// Users per batch, more than zero ([`DEFAULT_BATCH_USERS`] unless the
    /// operator chose otherwise).
    pub batch_users: i64,
    /// Batches in flight at once, at least one ([`DEFAULT_WRITERS`]).
    pub writers: usize,
    /// Suspend indexes and foreign keys while filling an empty target (on
    /// unless the operator turned it off).
    pub bulk_load: bool,
}

/// What a writer task needs, owned.
struct Shared {
    server_name: String,
    providers: HashMap<String, Ulid>,
    dry_run: bool,
}

fn millis(ms: Option<i64>) -> Option<DateTime<Utc>> {
    ms.and_then(|ms| Utc.timestamp_millis_opt(ms).single())
}

/// A text shown to people (a device's name, user agent or address) without
/// its NUL characters: SQLite stores them, PostgreSQL's `text` refuses them,
/// and one stray NUL in a Synapse SQLite database would otherwise stop the
/// import into PostgreSQL. Identifiers are not touched: changing one would
/// change what it names.
fn display_text(text: &Option<String>) -> Option<String> {
    text.as_ref().map(|text| text.replace('\0', ""))
}

/// Runs the import, telling `progress` after each batch; returns what was
/// (or, in a dry run, would have been) written, with the time per table.
pub async fn run(
    source: &SynapseSource,
    target: &Database,
    settings: &ImportSettings<'_>,
    progress: &mut dyn ImportProgress,
) -> Result<Tally> {
    let mut tally = Tally::default();
    let suspended = if settings.dry_run {
        false
    } else {
        bulk_load::prepare(
            target,
            settings.bulk_load,
            settings.writers,
            &mut tally.timings,
        )
        .await?
    };
    // On SQLite, a connection of its own with settings for a bulk write;
    // no fsync while an empty target is bulk-loaded (see storage's
    // `import_writer`).
    let writer = target
        .import_writer(if suspended {
            ImportWriter::Bulk
        } else {
            ImportWriter::Safe
        })
        .await?;
    let shared = Arc::new(Shared {
        server_name: settings.server_name.to_owned(),
        providers: settings.providers.clone(),
        dry_run: settings.dry_run,
    });
    // SQLite takes one writer at a time: a second one prepares its batch
    // meanwhile, more would only hold pages in memory.
    let writers = match target.backend() {
        Backend::Sqlite => settings.writers.clamp(1, 2),
        Backend::Postgres => settings.writers.max(1),
    };
    // The reader stays at most one page ahead of the writers.
    let (pages_in, mut pages) = mpsc::channel(1);
    let mut reader = tokio::spawn(read_pages(
        source.clone(),
        settings.batch_users.max(1),
        pages_in,
    ));
    let mut in_flight = JoinSet::new();
    let mut batches = 0;
    let mut reading = true;
    loop {
        while reading && in_flight.len() < writers {
            match pages.recv().await {
                Some(page) => {
                    in_flight.spawn(write_batch(writer.clone(), shared.clone(), page));
                }
                None => reading = false,
            }
        }
        let Some(done) = in_flight.join_next().await else {
            break;
        };
        let written = done.map_err(|e| Syn2masError::Task(e.to_string()))??;
        tally.add(&written);
        batches += 1;
        progress.batch_written(&tally, batches);
    }
    let read_timings = (&mut reader)
        .await
        .map_err(|e| Syn2masError::Task(e.to_string()))??;
    tally.timings.add(&read_timings);
    if suspended {
        bulk_load::restore(target, writers, &mut tally.timings).await?;
    }
    // Closes the writer's connection (and so its settings) and makes
    // everything durable.
    let started = Instant::now();
    target.finish_import(writer).await?;
    if target.backend() == Backend::Sqlite {
        tally.timings.record("checkpoint WAL", 0, started.elapsed());
    }
    Ok(tally)
}

/// Reads every page in turn and hands it to the writers; returns the time
/// spent per Synapse table. Stops early when the writers stopped listening.
async fn read_pages(
    source: SynapseSource,
    size: i64,
    pages: mpsc::Sender<SourcePage>,
) -> Result<Timings> {
    let mut timings = Timings::default();
    let mut after = String::new();
    while let Some(page) = read_page(&source, &after, size, &mut timings).await? {
        after.clone_from(&page.last);
        if pages.send(page).await.is_err() {
            break;
        }
    }
    Ok(timings)
}

/// Writes one page in a transaction of its own: committed on a real run,
/// rolled back on a dry run.
async fn write_batch(target: Database, shared: Arc<Shared>, page: SourcePage) -> Result<Tally> {
    // Hashing the tokens needs no connection: done before the transaction
    // (on SQLite, before taking the write lock).
    let digests = TokenDigests::of(&page.tokens);
    let mut repo = target.begin().await?;
    let mut tally = write_page(&mut repo, &shared, &page, &digests).await?;
    let started = Instant::now();
    if shared.dry_run {
        repo.rollback().await?;
    } else {
        repo.commit().await?;
    }
    tally.timings.record("commit batches", 1, started.elapsed());
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
async fn read_page(
    source: &SynapseSource,
    after: &str,
    size: i64,
    timings: &mut Timings,
) -> Result<Option<SourcePage>> {
    let started = Instant::now();
    let users = source.users_after(after, size).await?;
    timings.read("users", users.len(), started.elapsed());
    let (Some(first), Some(last)) = (users.first(), users.last()) else {
        return Ok(None);
    };
    let (first, last) = (first.name.clone(), last.name.clone());
    let started = Instant::now();
    let threepids = source.threepids(&first, &last).await?;
    timings.read("user_threepids", threepids.len(), started.elapsed());
    let started = Instant::now();
    let external_ids = source.external_ids(&first, &last).await?;
    timings.read("user_external_ids", external_ids.len(), started.elapsed());
    let started = Instant::now();
    let devices = source.devices(&first, &last).await?;
    timings.read("devices", devices.len(), started.elapsed());
    let started = Instant::now();
    let tokens = source.access_tokens(&first, &last).await?;
    timings.read(
        "access_tokens+refresh_tokens",
        tokens.len(),
        started.elapsed(),
    );
    Ok(Some(SourcePage {
        threepids,
        external_ids,
        devices,
        tokens,
        users,
        last,
    }))
}

/// The SHA-256 digests of a page's tokens, by position in `tokens`.
struct TokenDigests {
    access: Vec<String>,
    refresh: Vec<Option<String>>,
}

impl TokenDigests {
    fn of(tokens: &[SynapseAccessToken]) -> Self {
        Self {
            access: tokens.iter().map(|t| token_digest(&t.token)).collect(),
            refresh: tokens
                .iter()
                .map(|t| t.refresh_token.as_deref().map(token_digest))
                .collect(),
        }
    }
}

/// Writes what the target lacks of one page.
async fn write_page(
    repo: &mut Repository,
    settings: &Shared,
    page: &SourcePage,
    digests: &TokenDigests,
) -> Result<Tally> {
    let users = &page.users;
    let now = Utc::now();
    // Held across awaits in a task that may move between threads, so not
    // the thread's own generator.
    let mut rng = StdRng::from_entropy();
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
        .filter_map(|u| Some((u, user_id_localpart(&u.name, &settings.server_name)?)))
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
            human_name: display_text(&device.display_name),
            user_agent: display_text(&device.user_agent),
            last_active_at: millis(device.last_seen),
            last_active_ip: display_text(&device.ip),
        });
    }

    // Tokens, unless stored already.
    let tokens = &page.tokens;
    let (stored_access, stored_refresh) = if earlier.is_empty() {
        Default::default()
    } else {
        let refresh: Vec<String> = digests.refresh.iter().flatten().cloned().collect();
        (
            repo.syn2mas()
                .existing_token_digests(&digests.access, false)
                .await?,
            repo.syn2mas()
                .existing_token_digests(&refresh, true)
                .await?,
        )
    };
    let paired = tokens.iter().zip(&digests.access).zip(&digests.refresh);
    for ((token, digest), refresh) in paired {
        // A pair whose refresh token was already exchanged is dead: the
        // client holds the newer pair.
        if token.refresh_consumed || stored_access.contains(digest) {
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
            digest: digest.clone(),
            expires_at: millis(token.valid_until_ms),
        });
        if let Some(digest) = refresh.as_ref().filter(|d| !stored_refresh.contains(*d)) {
            batch.refresh_tokens.push(ImportRefreshToken {
                id: new_ulid(now, &mut rng),
                session_id: session,
                access_token_id: Some(access_id),
                digest: digest.clone(),
            });
        }
    }

    let timings = &mut tally.timings;
    repo.syn2mas()
        .write_timed(&batch, now, &mut |table, rows, took| {
            timings.wrote(table, rows, took);
        })
        .await?;
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
