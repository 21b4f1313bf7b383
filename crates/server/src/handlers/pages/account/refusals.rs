//! What the account pages answer when they refuse outright, on the error
//! page: one function per refusal, in the request's language (`t!`). Form
//! mistakes are not here: the form is shown again, and its template says
//! what was wrong.

use axum::http::StatusCode;

use crate::{errors::PageError, homeserver::HomeserverError, i18n::t};

/// The configuration does not let people do this here.
pub fn display_name_change_disabled() -> PageError {
    PageError::new(
        StatusCode::FORBIDDEN,
        t!("Display names cannot be changed here"),
        t!("This server does not let people change their display name (account.displayname_change_allowed)."),
    )
}

pub fn email_change_disabled() -> PageError {
    PageError::new(
        StatusCode::FORBIDDEN,
        t!("Email addresses cannot be changed here"),
        t!("This server does not let people change their email addresses (account.email_change_allowed)."),
    )
}

pub fn password_change_disabled() -> PageError {
    PageError::new(
        StatusCode::FORBIDDEN,
        t!("Passwords cannot be changed here"),
        t!("This server does not let people change their password here."),
    )
}

pub fn deactivation_disabled() -> PageError {
    PageError::new(
        StatusCode::FORBIDDEN,
        t!("Accounts cannot be deactivated here"),
        t!("This server does not let people deactivate their own account. Ask its administrator."),
    )
}

/// A form field the page always sends is missing: not our form.
pub fn incomplete_form(field: &str) -> PageError {
    PageError::new(
        StatusCode::BAD_REQUEST,
        t!("Incomplete form"),
        t!(
            "The form has no field {field}. Go back, reload the page and try again.",
            field = field
        ),
    )
}

pub fn email_not_found() -> PageError {
    PageError::new(
        StatusCode::NOT_FOUND,
        t!("Email address not found"),
        t!("Your account has no such email address. It may have been removed already."),
    )
}

pub fn session_not_found() -> PageError {
    PageError::new(
        StatusCode::NOT_FOUND,
        t!("Session not found"),
        t!("You have no active session with this ID. It may have ended already."),
    )
}

pub fn device_not_found(device_id: &str) -> PageError {
    PageError::new(
        StatusCode::NOT_FOUND,
        t!("Session not found"),
        t!(
            "You have no active session with the device {device}. It may have ended already.",
            device = device_id
        ),
    )
}

/// Too many password checks for this account or address.
pub fn too_many_attempts(seconds: i64) -> PageError {
    PageError::new(
        StatusCode::TOO_MANY_REQUESTS,
        t!("Too many attempts"),
        t!(
            "Too many password attempts. Try again in {seconds} seconds.",
            seconds = seconds
        ),
    )
    .with_retry_after(seconds)
}

/// The homeserver did not do what was asked; nothing changed here. Logged
/// once, here, with the homeserver's answer.
pub fn homeserver_failed(error: &HomeserverError) -> PageError {
    tracing::error!(error = %error, "the homeserver refused or failed an account page's request");
    let status = match error {
        HomeserverError::Unreachable { .. } => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_GATEWAY,
    };
    PageError::new(
        status,
        t!("The homeserver did not answer"),
        t!("Your homeserver could not do this right now, so nothing was changed. Try again in a moment."),
    )
}
