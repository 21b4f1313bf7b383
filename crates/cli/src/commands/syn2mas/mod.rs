//! `mxauth syn2mas check|migrate`: moving an existing Synapse homeserver's
//! accounts and sessions into mxauth (MAS's `syn2mas`, same flags).
//!
//! `check` runs every check and writes nothing. `migrate` runs the same
//! checks, then imports (see [`import`]). Exit codes follow MAS: 10 when a
//! check failed, 11 when there are only warnings (for `migrate`, unless
//! `--accept-warnings`).

mod checks;
mod import;
mod progress;
mod source;
mod synapse_config;

use std::process::ExitCode;

use anyhow::Result;
use mxauth_storage::Database;

use self::{
    checks::{CheckOptions, Findings, Severity},
    source::SynapseSource,
    synapse_config::SynapseConfig,
};
use super::{database, Context};
use crate::{
    args::{Syn2masArgs, Syn2masCommand},
    resolve,
};

const EXIT_ERRORS: u8 = 10;
const EXIT_WARNINGS: u8 = 11;

pub async fn run(ctx: &Context, args: &Syn2masArgs) -> Result<ExitCode> {
    let (dry_run, real_run) = match &args.command {
        Syn2masCommand::Check => (false, false),
        Syn2masCommand::Migrate { dry_run } => (*dry_run, !*dry_run),
    };
    let synapse = SynapseConfig::load(&args.synapse_config)?;
    let synapse_db = synapse
        .database
        .clone()
        .ok_or_else(|| anyhow::anyhow!("the Synapse config has no database"))?;
    let source = SynapseSource::open(&synapse_db, args.synapse_database_uri.as_deref()).await?;
    eprintln!("Reading Synapse's database: {}", source.description);

    // The target gets its schema first, as `database migrate` would.
    let target = Database::connect(&resolve::database_settings(&ctx.config.database)?).await?;
    database::apply(&target).await?;
    let lock = lock_target(&target).await?;

    let options = CheckOptions {
        mappings: &args.upstream_provider_mapping,
        ignore_missing_auth_providers: args.ignore_missing_auth_providers,
        real_run,
    };
    let mut findings = Findings::default();
    let providers = checks::check_configs(&synapse, &ctx.config, &options, &mut findings);
    checks::check_data(
        &synapse,
        &source,
        &target,
        &providers,
        &options,
        &mut findings,
    )
    .await?;
    for finding in &findings.0 {
        eprintln!("{finding}");
    }
    let counts = source.counts().await?;
    eprintln!(
        "Synapse has {} users, {} devices, {} access tokens, {} third-party ids.",
        counts.users, counts.devices, counts.access_tokens, counts.threepids
    );
    let outcome = match findings.worst() {
        Some(Severity::Error) => {
            eprintln!("Checks failed: fix the errors above; nothing was written.");
            Some(EXIT_ERRORS)
        }
        worst if matches!(args.command, Syn2masCommand::Check) => {
            if worst.is_some() {
                eprintln!("Checks passed with warnings (above): `migrate` will ask for --accept-warnings.");
                Some(EXIT_WARNINGS)
            } else {
                eprintln!("Checks passed: `mxauth syn2mas migrate` can run.");
                None
            }
        }
        Some(Severity::Warning) if !args.accept_warnings && !dry_run => {
            eprintln!(
                "There are warnings (above). Read them, then run again with --accept-warnings to go ahead."
            );
            Some(EXIT_WARNINGS)
        }
        _ => {
            let settings = import::ImportSettings {
                server_name: &synapse.server_name,
                providers: &providers,
                dry_run,
            };
            let tally =
                import::run(&source, &target, &settings, counts.users.max(0) as u64).await?;
            eprintln!(
                "{}\n{}",
                if dry_run {
                    "It would have imported:"
                } else {
                    "Imported:"
                },
                tally.summary()
            );
            None
        }
    };
    source.close().await;
    // The pool only closes once every connection is back, the lock's too.
    drop(lock);
    target.close().await;
    Ok(match outcome {
        Some(code) => ExitCode::from(code),
        None => ExitCode::SUCCESS,
    })
}

/// On PostgreSQL, one syn2mas at a time per target database: a session
/// advisory lock held by a connection kept for the whole run. (On SQLite,
/// two runs would still not corrupt anything: each batch is one transaction
/// and usernames are unique, so the slower run fails its batch.)
async fn lock_target(
    target: &Database,
) -> Result<Option<sqlx::pool::PoolConnection<sqlx::Postgres>>> {
    let Database::Postgres(pool) = target else {
        return Ok(None);
    };
    let mut conn = pool.acquire().await?;
    let locked: bool =
        sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtext('mxauth-syn2mas'))")
            .fetch_one(&mut *conn)
            .await?;
    if !locked {
        anyhow::bail!(
            "another `mxauth syn2mas` is running against this database; wait for it to finish"
        );
    }
    Ok(Some(conn))
}
