//! The job worker: runs what requests queued (provisioning users on the
//! homeserver, syncing devices…). Jobs live in the database, so they survive
//! restarts and several workers share them (see `claim_jobs`). Delivery is
//! at least once: a job whose worker died is requeued; handlers are
//! idempotent. A worker holds its jobs on a lease: every [`HEARTBEAT_EVERY`]
//! it renews the heartbeat of every job it claimed and has not finished
//! (from a task of its own, so a job stuck on the network does not stop
//! it); a running job whose heartbeat is older than [`LEASE_SECONDS`] belongs to a
//! worker that was killed or cut off, and the next worker to poll requeues
//! it. A worker cut off from the database longer than the lease may see its
//! job run a second time elsewhere, which at-least-once delivery allows. Failures that may pass (the homeserver is down, busy or
//! does not know the user yet) retry with exponential backoff (5 s, 10 s,
//! 20 s…, at most an hour apart) up to 10 attempts; a refusal the homeserver
//! will repeat (`M_INVALID_USERNAME`) fails the job at once. Email codes
//! (`send_email_code.rs`) retry the same way when delivery fails.
//!
//! Each kind of job is a variant of [`Job`] with its own file here
//! (`provision_user.rs` …) holding its payload and its `run`.

mod cleanup;
mod deactivate_user;
mod error;
mod job;
mod provision_user;
mod reactivate_user;
mod send_email_code;
mod send_recovery_emails;
mod sync_devices;

use std::{sync::Arc, time::Duration as StdDuration};

use chrono::Duration;
use mxauth_crypto::encrypter::Encrypter;
use mxauth_model::{Clock, RandomSource};
use mxauth_storage::{new_ulid, Database, QueuedJob, Repository, StorageError};

use crate::{email::Mailer, homeserver::Homeserver, state::AppState, templates::Templates};

pub use cleanup::{cleanup, Removed, KEEP_FOR};
pub use deactivate_user::DeactivateUser;
pub use error::JobError;
pub use job::Job;
pub use provision_user::ProvisionUser;
pub use reactivate_user::ReactivateUser;
pub use send_email_code::{code_digest, SendEmailAuthenticationCode};
pub use send_recovery_emails::SendAccountRecoveryEmails;
pub use sync_devices::SyncDevices;

pub const MAX_ATTEMPTS: i64 = 10;
/// How often a worker renews the heartbeat of the jobs it holds.
pub const HEARTBEAT_EVERY: StdDuration = StdDuration::from_secs(5);
/// A running job whose heartbeat is older than this is presumed lost with
/// its worker: three heartbeats missed.
pub const LEASE_SECONDS: i64 = 15;
const BATCH: i64 = 10;

/// What jobs need.
#[derive(Clone)]
pub struct JobContext {
    pub db: Database,
    pub homeserver: Arc<dyn Homeserver>,
    pub clock: Arc<dyn Clock>,
    /// New email codes and row ids.
    pub random: Arc<dyn RandomSource>,
    pub mailer: Arc<dyn Mailer>,
    /// The email templates (with the operator's overrides).
    pub templates: Arc<Templates>,
    /// Keys the digests of email codes (`secrets.encryption`).
    pub encrypter: Encrypter,
    /// Links in emails (the recovery link).
    pub urls: Arc<crate::urls::UrlBuilder>,
    /// Matrix IDs in emails.
    pub server_name: String,
    /// Failed attempts are counted here (`mxauth_jobs_failed_total`).
    pub metrics: Arc<crate::metrics::Metrics>,
}

impl JobContext {
    /// The server's own parts: `mxauth server` runs its worker with them.
    pub fn from_state(state: &AppState) -> Self {
        Self {
            db: state.db.clone(),
            homeserver: state.homeserver.clone(),
            clock: state.clock.clone(),
            random: state.random.clone(),
            mailer: state.mailer.clone(),
            templates: state.templates.clone(),
            encrypter: state.encrypter.clone(),
            urls: state.urls.clone(),
            server_name: state.site.server_name.clone(),
            metrics: state.metrics.clone(),
        }
    }
}

/// Queues a job inside the caller's transaction, so it exists exactly when
/// the change that needs it is committed.
pub async fn enqueue(
    repo: &mut Repository,
    clock: &dyn Clock,
    random: &dyn RandomSource,
    job: &Job,
) -> Result<QueuedJob, StorageError> {
    // Unreachable in practice: payloads hold only ids, strings and flags.
    let payload = job.payload().map_err(|e| StorageError::Malformed {
        table: "queue_jobs",
        column: "payload",
        reason: e.to_string(),
    })?;
    let now = clock.now();
    repo.jobs()
        .enqueue(
            new_ulid(now, &mut random.rng()),
            job.queue_name(),
            &payload,
            now,
        )
        .await
}

/// The delay before attempt `attempt + 1`.
pub fn backoff(attempt: i64) -> Duration {
    let exponent = u32::try_from((attempt - 1).clamp(0, 20)).unwrap_or(20);
    let seconds = 5i64.saturating_mul(2i64.saturating_pow(exponent));
    Duration::seconds(seconds.min(3600))
}

/// Claims and runs one batch of due jobs; returns how many ran.
pub async fn run_batch(ctx: &JobContext, worker: &str) -> Result<usize, StorageError> {
    let now = ctx.clock.now();
    let mut repo = ctx.db.begin().await?;
    repo.jobs()
        .requeue_stale(now - Duration::seconds(LEASE_SECONDS))
        .await?;
    let jobs = repo.jobs().claim(worker, BATCH, now).await?;
    repo.commit().await?;
    for job in &jobs {
        let run = async { Job::decode(&job.queue_name, &job.payload)?.run(ctx).await };
        let outcome = tokio::time::timeout(StdDuration::from_secs(60), run).await;
        let result =
            outcome.unwrap_or_else(|_| Err(JobError::Retry("timed out after 60 s".into())));
        if result.is_err() {
            ctx.metrics.record_job_failure(&job.queue_name);
        }
        let now = ctx.clock.now();
        let mut repo = ctx.db.begin().await?;
        match result {
            Ok(()) => repo.jobs().complete(job.id, now).await?,
            Err(JobError::Retry(reason)) if job.attempt < MAX_ATTEMPTS => {
                let at = now + backoff(job.attempt);
                tracing::warn!(job = %job.id, queue = %job.queue_name, attempt = job.attempt, retry_at = %at, "job failed, will retry: {reason}");
                repo.jobs().fail(job.id, &reason, Some(at), now).await?;
            }
            Err(JobError::Retry(reason)) => {
                tracing::error!(job = %job.id, queue = %job.queue_name, attempt = job.attempt, "job failed for good after {MAX_ATTEMPTS} attempts: {reason}");
                repo.jobs().fail(job.id, &reason, None, now).await?;
            }
            Err(JobError::Permanent(reason)) => {
                tracing::error!(job = %job.id, queue = %job.queue_name, attempt = job.attempt, "job failed for good, not retried: {reason}");
                repo.jobs().fail(job.id, &reason, None, now).await?;
            }
        }
        repo.commit().await?;
    }
    Ok(jobs.len())
}

/// How often the worker removes expired rows ([`cleanup`]).
const CLEANUP_EVERY: StdDuration = StdDuration::from_secs(3600);

/// Renews, every [`HEARTBEAT_EVERY`], the lease on the jobs `worker` holds.
async fn keep_heartbeat(ctx: JobContext, worker: String) {
    let mut every = tokio::time::interval(HEARTBEAT_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let renewed = async {
            let mut repo = ctx.db.begin().await?;
            repo.jobs().heartbeat(&worker, ctx.clock.now()).await?;
            repo.commit().await
        };
        if let Err(e) = renewed.await {
            tracing::warn!(error = %e, "job worker: renewing the lease of its jobs failed");
        }
    }
}

/// Runs jobs until `shutdown` turns true, polling every second when idle.
pub async fn run_worker(
    ctx: JobContext,
    worker: String,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    tracing::info!(worker = %worker, "job worker started");
    let heartbeat = tokio::spawn(keep_heartbeat(ctx.clone(), worker.clone()));
    let mut last_cleanup: Option<std::time::Instant> = None;
    loop {
        if *shutdown.borrow() {
            break;
        }
        if last_cleanup.is_none_or(|at| at.elapsed() >= CLEANUP_EVERY) {
            last_cleanup = Some(std::time::Instant::now());
            if let Err(e) = cleanup(&ctx).await {
                tracing::warn!(error = %e, "cleanup of expired rows failed; trying again in an hour");
            }
        }
        let ran = match run_batch(&ctx, &worker).await {
            Ok(ran) => ran,
            Err(e) => {
                tracing::error!(error = %e, "job worker: database error");
                0
            }
        };
        if ran == 0 {
            tokio::select! {
                _ = tokio::time::sleep(StdDuration::from_secs(1)) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
    heartbeat.abort();
    tracing::info!(worker = %worker, "job worker stopped");
}

#[cfg(test)]
mod tests;
