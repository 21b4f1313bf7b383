//! `mxauth syn2mas check|migrate`: moving an existing Synapse homeserver's
//! accounts and sessions into mxauth (MAS's `syn2mas`, same flags). The
//! work is `mxauth-syn2mas`'s; this reads the files and the environment,
//! prints findings and progress, and chooses the exit code.
//!
//! `check` runs every check and writes nothing. `migrate` runs the same
//! checks, then imports. Exit codes follow MAS: 10 when a check failed, 11
//! when there are only warnings (for `migrate`, unless `--accept-warnings`).

use std::{
    io::{IsTerminal, Write},
    path::PathBuf,
    process::ExitCode,
    time::{Duration, Instant},
};

use anyhow::{bail, Context as _, Result};
use mxauth_storage::Database;
use mxauth_syn2mas::{
    checks, import, lock_target, CheckOptions, Findings, ImportProgress, ImportSettings, Severity,
    SynapseConfig, SynapseConfigFile, SynapseSource, Tally, DEFAULT_BATCH_USERS, DEFAULT_WRITERS,
};

use super::{database, Context};
use crate::{
    args::{Syn2masArgs, Syn2masCommand},
    resolve,
};

const EXIT_ERRORS: u8 = 10;
const EXIT_WARNINGS: u8 = 11;

pub async fn run(ctx: &Context, args: &Syn2masArgs) -> Result<ExitCode> {
    let (dry_run, real_run, writers, bulk_load) = match &args.command {
        Syn2masCommand::Check => (false, false, None, false),
        Syn2masCommand::Migrate {
            dry_run,
            writers,
            no_bulk_load,
        } => (*dry_run, !*dry_run, *writers, !*no_bulk_load),
    };
    let synapse = SynapseConfig::parse(&read_synapse_config(&args.synapse_config)?)?;
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

    let scheme_pepper =
        |i, scheme: &_| resolve::scheme_pepper(i, scheme).map_err(|e| format!("{e:#}"));
    let options = CheckOptions {
        mappings: &args.upstream_provider_mapping,
        ignore_missing_auth_providers: args.ignore_missing_auth_providers,
        real_run,
        scheme_pepper: &scheme_pepper,
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
            let settings = ImportSettings {
                server_name: &synapse.server_name,
                providers: &providers,
                dry_run,
                batch_users: batch_users(),
                writers: writers.map_or(DEFAULT_WRITERS, usize::from),
                bulk_load,
            };
            let mut progress = Progress::new(counts.users.max(0) as u64, dry_run);
            let tally = import::run(&source, &target, &settings, &mut progress).await?;
            let elapsed = progress.finish(&tally);
            eprintln!(
                "{} in {:.1} s ({:.0} users/s)",
                if dry_run {
                    "Dry run finished, nothing was written"
                } else {
                    "Import finished"
                },
                elapsed.as_secs_f64(),
                tally.users_seen as f64 / elapsed.as_secs_f64().max(0.001)
            );
            eprintln!("Time per step (writes of batches in parallel overlap):");
            for step in &tally.timings.0 {
                eprintln!(
                    "  {:<44} {:>8} rows {:>6.2} s",
                    step.name,
                    step.rows,
                    step.time.as_secs_f64()
                );
            }
            eprintln!(
                "{}\n{}",
                if dry_run {
                    "It would have imported:"
                } else {
                    "Imported:"
                },
                summary(&tally)
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

/// Reads Synapse's config files, in order, for the importer to parse.
pub(super) fn read_synapse_config(files: &[PathBuf]) -> Result<Vec<SynapseConfigFile>> {
    if files.is_empty() {
        bail!("--synapse-config is required: the path of Synapse's homeserver.yaml");
    }
    files
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the Synapse config {}", path.display()))?;
            Ok(SynapseConfigFile {
                path: path.clone(),
                text,
            })
        })
        .collect()
}

/// Users per batch: `MXAUTH_SYN2MAS_BATCH_USERS` changes the default.
fn batch_users() -> i64 {
    std::env::var("MXAUTH_SYN2MAS_BATCH_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(DEFAULT_BATCH_USERS)
}

/// The end-of-run summary, one line per table.
fn summary(tally: &Tally) -> String {
    format!(
        "  users:                 {}\n  passwords:             {}\n  emails:                {}\n  other third-party ids: {}\n  upstream links:        {}\n  sessions (devices):    {}\n  access tokens:         {}\n  refresh tokens:        {}\n  users skipped:         {} (appservice, guest, or already imported)",
        tally.users,
        tally.passwords,
        tally.emails,
        tally.other_third_party_ids,
        tally.upstream_links,
        tally.sessions,
        tally.access_tokens,
        tally.refresh_tokens,
        tally.users_skipped
    )
}

/// Progress of the import on standard error: a line redrawn in place on a
/// terminal, a plain line every few seconds otherwise (logs, CI, Ansible).
struct Progress {
    total_users: u64,
    started: Instant,
    last: Instant,
    terminal: bool,
    /// For the tests of resumption (`MXAUTH_SYN2MAS_TEST_CRASH_AFTER_BATCHES`,
    /// real runs only): end the process abruptly after this many committed
    /// batches, which leaves exactly what a crash or a kill there would leave.
    crash_after_batches: Option<u64>,
}

impl Progress {
    fn new(total_users: u64, dry_run: bool) -> Self {
        let now = Instant::now();
        let crash_after_batches = std::env::var("MXAUTH_SYN2MAS_TEST_CRASH_AFTER_BATCHES")
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|_| !dry_run);
        Self {
            total_users,
            started: now,
            last: now,
            terminal: std::io::stderr().is_terminal(),
            crash_after_batches,
        }
    }

    fn line(&self, tally: &Tally) -> String {
        let seconds = self.started.elapsed().as_secs_f64().max(0.001);
        let percent = if self.total_users == 0 {
            100.0
        } else {
            tally.users_seen as f64 * 100.0 / self.total_users as f64
        };
        format!(
            "users {}/{} ({percent:.0}%) · {:.0} users/s · sessions {} · access tokens {} · refresh tokens {} · emails {}",
            tally.users_seen,
            self.total_users,
            tally.users_seen as f64 / seconds,
            tally.sessions,
            tally.access_tokens,
            tally.refresh_tokens,
            tally.emails
        )
    }

    fn update(&mut self, tally: &Tally) {
        let every = if self.terminal {
            Duration::from_millis(200)
        } else {
            Duration::from_secs(5)
        };
        if self.last.elapsed() < every {
            return;
        }
        self.last = Instant::now();
        let line = self.line(tally);
        let mut err = std::io::stderr().lock();
        if self.terminal {
            let _ = write!(err, "\r\x1b[2K{line}");
        } else {
            let _ = writeln!(err, "{line}");
        }
        let _ = err.flush();
    }

    fn finish(&self, tally: &Tally) -> Duration {
        let line = self.line(tally);
        if self.terminal {
            eprintln!("\r\x1b[2K{line}");
        } else {
            eprintln!("{line}");
        }
        self.started.elapsed()
    }
}

impl ImportProgress for Progress {
    fn batch_written(&mut self, tally: &Tally, batches: u64) {
        self.update(tally);
        if self.crash_after_batches == Some(batches) {
            eprintln!(
                "stopping after {batches} batch(es) (MXAUTH_SYN2MAS_TEST_CRASH_AFTER_BATCHES)"
            );
            std::process::exit(70);
        }
    }
}
