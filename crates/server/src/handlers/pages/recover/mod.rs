//! Password recovery pages (`account.password_recovery_enabled`):
//! `/recover` asks for an address, `/recover/progress/{id}` says "check
//! your email" (the same words whether or not an account has it) and can
//! send the link again, and the mailed link's page
//! `/account/password/recovery?ticket=…` sets the new password
//! (`new_password`, `new_password_confirm`), optionally ending every
//! session of the account. The rules are `ops::recovery`'s.

mod progress;
mod reset;
mod start;

use axum::{http::StatusCode, routing::get, Router};

use crate::{errors::PageError, i18n::t, state::AppState, urls::paths};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::RECOVER, get(start::show).post(start::submit))
        .route(
            paths::RECOVER_PROGRESS,
            get(progress::show).post(progress::resend),
        )
        .route(
            paths::ACCOUNT_PASSWORD_RECOVERY,
            get(reset::show).post(reset::submit),
        )
}

/// Refuses every page while recovery is off.
fn recovery_on(state: &AppState) -> Result<(), PageError> {
    if state.site.account.password_recovery_enabled && state.passwords.is_some() {
        return Ok(());
    }
    Err(PageError::new(
            StatusCode::NOT_FOUND,
            t!("Password recovery is off"),
            t!("This server does not recover passwords by email. Ask its administrator to set a new one."),
        ))
}

#[cfg(test)]
mod tests;
