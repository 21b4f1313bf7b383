//! Creating a session's device on the homeserver while tokens are issued.

use axum::http::StatusCode;
use mxauth_model::User;

use crate::{
    handlers::oauth2::error::OAuthError,
    homeserver::{HomeserverError, ProvisionRequest},
    http::AppState,
};

/// Upserts `device` for `user`; a user the homeserver does not know yet (its
/// provisioning job has not run) is provisioned first.
pub async fn ensure_device(state: &AppState, user: &User, device: &str) -> Result<(), OAuthError> {
    let hs = state.homeserver.as_ref();
    let first = hs.upsert_device(&user.username, device, None).await;
    let result = match first {
        Err(HomeserverError::Refused { status, .. }) if status == 404 || status == 500 => {
            let request = ProvisionRequest {
                localpart: user.username.clone(),
                locked: user.locked_at.is_some(),
                ..ProvisionRequest::default()
            };
            match hs.provision_user(&request).await {
                Ok(_) => hs.upsert_device(&user.username, device, None).await,
                Err(e) => Err(e),
            }
        }
        other => other,
    };
    result.map_err(|e| {
        tracing::error!(error = %e, user = %user.username, device, "creating the device on the homeserver");
        OAuthError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "temporarily_unavailable",
            description: "the homeserver could not be reached to create this device; try again".into(),
            basic_challenge: false,
        }
    })
}
