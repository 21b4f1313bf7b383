//! Self-service registration pages (`account.password_registration_enabled`):
//! `/register` (a password, or an upstream provider), `/register/password`
//! (MAS's form fields), then the steps of the registration it starts, in
//! `UserRegistration::next_step`'s order: the email code, the registration
//! token, the display name, and `finish`, which creates the user, signs
//! them in and sends them on to `next` (the consent page of the OAuth
//! authorization that asked with `prompt=create`, or the account page).
//!
//! Only the browser that started a registration can take its steps: its
//! id must be in the cookie ([`load`]).

mod choose;
mod display_name;
mod finish;
mod password;
mod token;
mod verify_email;

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Redirect, Response},
    routing::get,
    Router,
};
use mxauth_model::RegistrationStep;
use ulid::Ulid;

use crate::{
    cookies::CookieData, errors::PageError, i18n::t, ops::registration::Progress, state::AppState,
    urls::paths,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::REGISTER, get(choose::show))
        .route(
            paths::REGISTER_PASSWORD,
            get(password::show).post(password::submit),
        )
        .route(
            paths::REGISTER_VERIFY_EMAIL,
            get(verify_email::show).post(verify_email::submit),
        )
        .route(paths::REGISTER_TOKEN, get(token::show).post(token::submit))
        .route(
            paths::REGISTER_DISPLAY_NAME,
            get(display_name::show).post(display_name::submit),
        )
        .route(paths::REGISTER_FINISH, get(finish::finish))
}

/// Refuses every page while password registration is off.
fn password_registration_on(state: &AppState) -> Result<(), PageError> {
    if state.site.account.password_registration_enabled && state.passwords.is_some() {
        return Ok(());
    }
    Err(PageError::new(
        StatusCode::NOT_FOUND,
        t!("Registration is closed"),
        t!("This server does not let people create accounts with a password."),
    ))
}

/// The path of `step` of registration `id`.
fn step_path(state: &AppState, step: RegistrationStep, id: Ulid) -> String {
    let path = match step {
        RegistrationStep::VerifyEmail => paths::REGISTER_VERIFY_EMAIL,
        RegistrationStep::Token => paths::REGISTER_TOKEN,
        RegistrationStep::DisplayName => paths::REGISTER_DISPLAY_NAME,
        RegistrationStep::Finish => paths::REGISTER_FINISH,
    };
    state.urls.relative(&path.replace("{id}", &id.to_string()))
}

/// Sends the browser to the step the registration needs next (303: the
/// answer to a form is a GET).
fn to_next_step(state: &AppState, progress: &Progress, cookie: Option<HeaderValue>) -> Response {
    let step = progress.next_step(state.site.account.password_registration_token_required);
    let mut response =
        Redirect::to(&step_path(state, step, progress.registration.id)).into_response();
    if let Some(cookie) = cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// The registration `id` of this browser, unfinished and in time;
/// `expected` is the step the page is for: a registration that needs
/// another step is sent there instead (`Err(Ok(redirect))`).
async fn load(
    state: &AppState,
    cookie: &CookieData,
    id: &str,
    expected: RegistrationStep,
) -> Result<Result<Progress, Response>, PageError> {
    password_registration_on(state)?;
    let not_found = || {
        PageError::new(
            StatusCode::NOT_FOUND,
            t!("Registration not found"),
            t!("This registration does not exist, was started in another browser, or is finished. Start again."),
        )
    };
    let id: Ulid = id.parse().map_err(|_| not_found())?;
    if !cookie.registrations.contains(&id) {
        return Err(not_found());
    }
    let progress = Progress::load(state, id).await?.ok_or_else(not_found)?;
    if progress.registration.completed_at.is_some() {
        return Err(not_found());
    }
    if progress.registration.is_expired(state.clock.now()) {
        return Err(PageError::new(
            StatusCode::GONE,
            t!("Registration expired"),
            t!("This registration took longer than an hour. Start again."),
        ));
    }
    let step = progress.next_step(state.site.account.password_registration_token_required);
    if step != expected {
        return Ok(Err(to_next_step(state, &progress, None)));
    }
    Ok(Ok(progress))
}

/// A page rendered with `status` (a form shown again with its error).
fn with_status(mut response: Response, status: StatusCode) -> Response {
    *response.status_mut() = status;
    response
}

#[cfg(test)]
mod tests;
