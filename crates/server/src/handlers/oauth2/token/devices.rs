//! Creating a session's device on the homeserver while tokens are issued.

use axum::http::StatusCode;
use mxauth_model::User;

use crate::{handlers::oauth2::error::OAuthError, homeserver, state::AppState};

/// Upserts `device` for `user`, or answers `temporarily_unavailable`.
pub async fn ensure_device(state: &AppState, user: &User, device: &str) -> Result<(), OAuthError> {
    homeserver::ensure_device(state.homeserver.as_ref(), user, device, None)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, user = %user.username, device, "creating the device on the homeserver");
            OAuthError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                code: "temporarily_unavailable",
                description: "the homeserver could not be reached to create this device; try again".into(),
                basic_challenge: false,
            }
        })
}
