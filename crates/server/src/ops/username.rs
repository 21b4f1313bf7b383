//! Whether a new account may take a username: the Matrix localpart rules,
//! this server's users (letter case ignored, as Synapse does), then the
//! homeserver (taken there, reserved for an application service, against
//! its rules). Registration and the upstream registration form also obey
//! the policy data's `registration` rules; the admin API, the console and
//! `mxauth manage` do not. All ask here. The homeserver is asked with
//! no transaction open.

use axum::http::StatusCode;
use mxauth_model::{validate_localpart, UsernameError};
use mxauth_storage::StorageError;

use crate::{homeserver::Availability, i18n::t, state::AppState};

/// Why a username cannot be used, each with what the form says.
#[derive(Debug, thiserror::Error)]
pub enum UsernameRefusal {
    #[error("This username cannot be used: {0}.")]
    Invalid(UsernameError),
    #[error("This username is taken.")]
    Taken,
    /// The policy data's `registration` rules refuse it.
    #[error("{0}")]
    Policy(crate::policy::Violation),
    #[error("The homeserver does not accept this username: {0}")]
    RefusedByHomeserver(String),
    /// The homeserver did not answer: try again later.
    #[error("The homeserver cannot be reached to check this username. Try again in a moment.")]
    HomeserverDown,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl UsernameRefusal {
    /// The words of the form, in the page's language.
    pub fn message(&self) -> String {
        match self {
            Self::Invalid(e) => t!("This username cannot be used: {why}.", why = e),
            Self::Taken => t!("This username is taken."),
            Self::Policy(violation) => violation.message(),
            Self::RefusedByHomeserver(message) => t!(
                "The homeserver does not accept this username: {why}",
                why = message
            ),
            Self::HomeserverDown | Self::Storage(_) => t!(
                "The homeserver cannot be reached to check this username. Try again in a moment."
            ),
        }
    }

    /// The status of the form shown again with this refusal.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Invalid(_) | Self::Policy(_) => StatusCode::BAD_REQUEST,
            Self::Taken | Self::RefusedByHomeserver(_) => StatusCode::CONFLICT,
            Self::HomeserverDown | Self::Storage(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// Checks `username` for an account someone makes for themselves
/// (registration, upstream registration): the policy data's
/// `registration` rules too.
pub async fn check_available(state: &AppState, username: &str) -> Result<(), UsernameRefusal> {
    validate_localpart(username, &state.site.server_name).map_err(UsernameRefusal::Invalid)?;
    state
        .policy
        .current()
        .check_username(username)
        .map_err(UsernameRefusal::Policy)?;
    check_local(state, username).await?;
    ask_homeserver(state, username).await
}

/// An admin's new user: the rules and this server's users, then the
/// homeserver unless the admin chose not to ask it. Admins are not bound by
/// the policy's username rules, as in MAS.
pub async fn check_for_admin(
    state: &AppState,
    username: &str,
    ask_homeserver: bool,
) -> Result<(), UsernameRefusal> {
    check_local(state, username).await?;
    match ask_homeserver {
        true => self::ask_homeserver(state, username).await,
        false => Ok(()),
    }
}

/// The rules and this server's users only, for an admin who chose not to
/// ask the homeserver (a user it already has, or while it is down).
pub async fn check_local(state: &AppState, username: &str) -> Result<(), UsernameRefusal> {
    validate_localpart(username, &state.site.server_name).map_err(UsernameRefusal::Invalid)?;
    let mut repo = state.db.read().await?;
    let taken = !repo
        .users()
        .find_by_username_ignoring_case(username)
        .await?
        .is_empty();
    drop(repo);
    if taken {
        return Err(UsernameRefusal::Taken);
    }
    Ok(())
}

async fn ask_homeserver(state: &AppState, username: &str) -> Result<(), UsernameRefusal> {
    match state.homeserver.localpart_availability(username).await {
        Ok(Availability::Available) => Ok(()),
        Ok(Availability::Unavailable { message, .. }) => {
            Err(UsernameRefusal::RefusedByHomeserver(message))
        }
        Err(e) => {
            tracing::warn!("cannot ask the homeserver about a username: {e}");
            Err(UsernameRefusal::HomeserverDown)
        }
    }
}
