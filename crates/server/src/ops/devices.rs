//! Devices on the homeserver. Synapse refuses a token whose device it does
//! not know, so every surface that issues a token with a device creates the
//! device first, before opening its transaction: no write transaction (on
//! SQLite, the write lock) waits on the homeserver, and if the homeserver is
//! down nothing is written. Ending a session removes its device through the
//! sync job instead ([`super::sessions`]).

use crate::homeserver::{Homeserver, HomeserverError, ProvisionRequest};

/// Creates `device` for `localpart`; a user the homeserver does not know yet
/// (its provisioning job has not run) is provisioned first. Used wherever a
/// token with a device is issued: Synapse refuses tokens of unknown devices.
pub async fn ensure(
    hs: &dyn Homeserver,
    user: &mxauth_model::User,
    device: &str,
    display_name: Option<&str>,
) -> Result<(), HomeserverError> {
    let created = upsert_provisioning(hs, user, device, display_name).await;
    if let Err(e) = &created {
        // Logged once here, for every surface; callers answer in their own
        // words.
        tracing::error!(error = %e, user = %user.username, device, "creating the device on the homeserver");
    }
    created
}

async fn upsert_provisioning(
    hs: &dyn Homeserver,
    user: &mxauth_model::User,
    device: &str,
    display_name: Option<&str>,
) -> Result<(), HomeserverError> {
    match hs.upsert_device(&user.username, device, display_name).await {
        Err(HomeserverError::Refused { status, .. }) if status == 404 || status == 500 => {
            let request = ProvisionRequest {
                localpart: user.username.clone(),
                locked: user.locked_at.is_some(),
                ..ProvisionRequest::default()
            };
            hs.provision_user(&request).await?;
            hs.upsert_device(&user.username, device, display_name).await
        }
        other => other,
    }
}
