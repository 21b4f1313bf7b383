//! What the admin console answers when it refuses outright, on the error
//! page, in the request's language. Form mistakes are not here: the page
//! is shown again and its template says what was wrong.

use axum::http::StatusCode;

use crate::{errors::PageError, i18n::t};

/// Signed in, but not as a user allowed to request admin rights.
pub fn not_an_admin() -> PageError {
    PageError::new(
        StatusCode::FORBIDDEN,
        t!("Administrators only"),
        t!("The admin console is for users allowed to request admin rights. Ask an administrator, or sign in as one."),
    )
}

pub fn user_not_found() -> PageError {
    PageError::new(
        StatusCode::NOT_FOUND,
        t!("User not found"),
        t!("There is no user with this id."),
    )
}

/// Locking, deactivating or demoting oneself: the last admin would be
/// locked out.
pub fn own_account() -> PageError {
    PageError::new(
        StatusCode::BAD_REQUEST,
        t!("Not on your own account"),
        t!("The admin console does not lock, deactivate or take admin rights from the account you are signed in with. Another administrator can, or mxauth manage."),
    )
}

pub fn email_not_found() -> PageError {
    PageError::new(
        StatusCode::NOT_FOUND,
        t!("Email address not found"),
        t!("The user has no such email address. It may have been removed already."),
    )
}

pub fn session_not_found() -> PageError {
    PageError::new(
        StatusCode::NOT_FOUND,
        t!("Session not found"),
        t!("The user has no such active session. It may have ended already."),
    )
}

pub fn personal_token_not_found() -> PageError {
    PageError::new(
        StatusCode::NOT_FOUND,
        t!("Token not found"),
        t!("The user has no such personal access token."),
    )
}

pub fn registration_token_not_found() -> PageError {
    PageError::new(
        StatusCode::NOT_FOUND,
        t!("Token not found"),
        t!("There is no registration token with this id."),
    )
}

/// A `search`/`after`/`before` link that is not one of ours.
pub fn bad_page_link() -> PageError {
    PageError::new(
        StatusCode::BAD_REQUEST,
        t!("This page link is not valid"),
        t!("Go back to the first page of the list and follow its links."),
    )
}

/// A form field the page always sends is missing or has a value the page
/// never sends: not our form.
pub fn bad_form(field: &str) -> PageError {
    PageError::new(
        StatusCode::BAD_REQUEST,
        t!("Incomplete form"),
        t!(
            "The form has no field {field}. Go back, reload the page and try again.",
            field = field
        ),
    )
}

pub fn passwords_disabled() -> PageError {
    PageError::new(
        StatusCode::BAD_REQUEST,
        t!("Passwords are off"),
        t!("This server does not use passwords (passwords.enabled is false)."),
    )
}
