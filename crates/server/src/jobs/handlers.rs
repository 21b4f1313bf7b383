//! What each queue does. Every handler is idempotent: running it twice has
//! the effect of running it once, which at-least-once delivery needs.

use std::collections::BTreeSet;

use mxauth_model::User;
use serde::Deserialize;
use ulid::Ulid;

use super::{queues, JobContext};
use crate::homeserver::{HomeserverError, ProvisionRequest};
use mxauth_storage::QueuedJob;

#[derive(Debug)]
pub enum JobError {
    /// Try again later.
    Retry(String),
    /// Will never work (bad payload, unknown queue, unknown user).
    Permanent(String),
}

/// A refusal the homeserver will repeat (`M_INVALID_USERNAME`, a read-only
/// connection…) fails the job at once: retrying it for an hour changes
/// nothing and hides the reason. Everything else is retried with backoff,
/// including 404 (the user's provisioning job may not have run yet); see
/// [`HomeserverError::is_permanent`].
impl From<HomeserverError> for JobError {
    fn from(e: HomeserverError) -> Self {
        if e.is_permanent() {
            JobError::Permanent(format!("{e} (the homeserver refuses this for good)"))
        } else {
            JobError::Retry(e.to_string())
        }
    }
}

impl JobError {
    /// The same error, its message prefixed with the user it is about.
    fn about(self, username: &str) -> Self {
        match self {
            Self::Retry(reason) => Self::Retry(format!("user {username}: {reason}")),
            Self::Permanent(reason) => Self::Permanent(format!("user {username}: {reason}")),
        }
    }
}

impl From<mxauth_storage::StorageError> for JobError {
    fn from(e: mxauth_storage::StorageError) -> Self {
        JobError::Retry(format!("database: {e}"))
    }
}

#[derive(Deserialize)]
struct UserPayload {
    user_id: Ulid,
    #[serde(default)]
    set_display_name: Option<String>,
    #[serde(default)]
    hs_erase: bool,
}

pub async fn run(ctx: &JobContext, job: &QueuedJob) -> Result<(), JobError> {
    let payload: UserPayload = serde_json::from_str(&job.payload)
        .map_err(|e| JobError::Permanent(format!("malformed payload: {e}")))?;
    let user = load_user(ctx, payload.user_id).await?;
    deliver(ctx, &job.queue_name, payload, &user)
        .await
        .map_err(|e| e.about(&user.username))
}

/// Does what the job's queue asks for `user` on the homeserver.
async fn deliver(
    ctx: &JobContext,
    queue: &str,
    payload: UserPayload,
    user: &User,
) -> Result<(), JobError> {
    let hs = ctx.homeserver.as_ref();
    match queue {
        queues::PROVISION_USER => {
            let mut repo = ctx.db.read().await?;
            let emails = repo.user_emails().list(user).await?;
            drop(repo);
            let request = ProvisionRequest {
                localpart: user.username.clone(),
                display_name: payload.set_display_name.map(Some),
                emails: Some(emails.into_iter().map(|e| e.email).collect()),
                locked: user.locked_at.is_some(),
            };
            let created = hs.provision_user(&request).await?;
            tracing::info!(user = %user.username, created, "user provisioned on the homeserver");
            Ok(())
        }
        queues::SYNC_DEVICES => {
            let devices = active_devices(ctx, user).await?;
            hs.sync_devices(&user.username, &devices).await?;
            Ok(())
        }
        queues::DEACTIVATE_USER => Ok(hs.delete_user(&user.username, payload.hs_erase).await?),
        queues::REACTIVATE_USER => Ok(hs.reactivate_user(&user.username).await?),
        other => Err(JobError::Permanent(format!("unknown queue {other:?}"))),
    }
}

async fn load_user(ctx: &JobContext, id: Ulid) -> Result<User, JobError> {
    let mut repo = ctx.db.read().await?;
    let user = repo.users().find_by_id(id).await?;
    drop(repo);
    user.ok_or_else(|| JobError::Permanent(format!("user {id} does not exist")))
}

/// Every device the user should have on the homeserver: those of active
/// OAuth sessions (from their device scope) and active compat sessions.
pub async fn active_devices(ctx: &JobContext, user: &User) -> Result<Vec<String>, JobError> {
    let mut repo = ctx.db.read().await?;
    let (scopes, compat) = repo.users().active_session_devices(user.id).await?;
    drop(repo);
    let mut devices: BTreeSet<String> = compat.into_iter().collect();
    for scope in scopes {
        if let Ok(Some(device)) = scope.device_id() {
            devices.insert(device.to_owned());
        }
    }
    Ok(devices.into_iter().collect())
}
