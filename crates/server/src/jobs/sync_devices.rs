//! `sync-devices`: makes the user's device list on the homeserver exactly
//! the devices of their active sessions, after a session ends.

use std::collections::BTreeSet;

use mxauth_model::User;
use serde::{Deserialize, Serialize};
use ulid::Ulid;

use super::{JobContext, JobError};

/// The payload, as MAS stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncDevices {
    pub user_id: Ulid,
}

impl SyncDevices {
    pub const QUEUE: &'static str = "sync-devices";

    /// Idempotent: the list is recomputed from the database on every run.
    pub(super) async fn run(&self, ctx: &JobContext, user: &User) -> Result<(), JobError> {
        let devices = active_devices(ctx, user).await?;
        ctx.homeserver
            .sync_devices(&user.username, &devices)
            .await?;
        Ok(())
    }
}

/// Every device the user should have on the homeserver: those of active
/// OAuth sessions (from their device scope) and active compat sessions.
async fn active_devices(ctx: &JobContext, user: &User) -> Result<Vec<String>, JobError> {
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
