//! `GET|POST /account/password/change`: the current password, then the new
//! one twice. Offered when passwords are on and
//! `account.password_change_allowed`, to accounts that have a password.
//!
//! The cheap checks come first (every field, the two new passwords equal,
//! `passwords.minimum_complexity`), then the current password, through the
//! same rate limit as a login (`rate_limiting.login`, per IP and per
//! account), then the new hash, on the blocking pool and before the
//! transaction that stores it. A refusal changes nothing.

use axum::{extract::State, http::StatusCode, response::Response};
use mxauth_model::User;
use serde::Deserialize;

use super::{log_in_first, nav, password_change_enabled, refusals, see_other};
use crate::{
    errors::PageError,
    extract::{current_user, ClientIp, CsrfForm, CsrfProtected, PageSession},
    handlers::pages::render,
    ops::{
        self,
        login::{check_user_password, PasswordCheck},
    },
    rate_limit::RetryAfter,
    state::AppState,
    templates::{AccountSection, PasswordChangeContext, PasswordChangeError, PasswordPageMode},
    urls::paths,
};

pub async fn show(State(state): State<AppState>, page: PageSession) -> Result<Response, PageError> {
    let Some((_, user)) = &page.user else {
        return Ok(log_in_first(&state, paths::ACCOUNT_PASSWORD, &[]));
    };
    if !password_change_enabled(&state) {
        return Err(refusals::password_change_disabled());
    }
    let mode = mode_of(&state, user).await?;
    let ctx = context(&state, user, &page.csrf, mode, None);
    Ok(render(&state, &ctx, page.set_cookie))
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    new_password_confirm: String,
}

impl CsrfProtected for PasswordForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

pub async fn submit(
    State(state): State<AppState>,
    ip: ClientIp,
    CsrfForm { cookie, form }: CsrfForm<PasswordForm>,
) -> Result<Response, PageError> {
    let Some((_, user)) = current_user(&state, &cookie).await? else {
        return Ok(log_in_first(&state, paths::ACCOUNT_PASSWORD, &[]));
    };
    let Some(passwords) = state
        .passwords
        .as_ref()
        .filter(|_| password_change_enabled(&state))
    else {
        return Err(refusals::password_change_disabled());
    };
    let refuse = |mode, error| {
        let ctx = context(&state, &user, &form.csrf, mode, error);
        let mut response = render(&state, &ctx, None);
        *response.status_mut() = StatusCode::BAD_REQUEST;
        Ok(response)
    };
    let form_with = |error| refuse(PasswordPageMode::Form, Some(error));
    if mode_of(&state, &user).await? == PasswordPageMode::NoPassword {
        return refuse(PasswordPageMode::NoPassword, None);
    }
    if [
        &form.current_password,
        &form.new_password,
        &form.new_password_confirm,
    ]
    .iter()
    .any(|field| field.is_empty())
    {
        return form_with(PasswordChangeError::Missing);
    }
    if form.new_password != form.new_password_confirm {
        return form_with(PasswordChangeError::Mismatch);
    }
    if !passwords.is_complex_enough(&form.new_password, &[&user.username]) {
        return form_with(PasswordChangeError::TooWeak);
    }
    if let Err(RetryAfter(wait)) = ops::login::check_rate(&state, &ip, &user.username) {
        return Err(refusals::too_many_attempts(wait.num_seconds().max(1)));
    }
    let check = check_user_password(
        &state.db,
        passwords,
        state.clock.as_ref(),
        &mut state.random.rng(),
        &user,
        form.current_password.clone(),
    )
    .await?;
    match check {
        PasswordCheck::Valid => {}
        PasswordCheck::Invalid => return form_with(PasswordChangeError::WrongCurrent),
        PasswordCheck::NoPassword => return refuse(PasswordPageMode::NoPassword, None),
    }
    let hashed = passwords.hash(form.new_password.clone()).await?;
    let mut repo = state.db.begin().await?;
    ops::users::set_password(&mut repo, (&state).into(), &user, &hashed).await?;
    repo.commit().await?;
    tracing::info!(user = %user.username, "password changed on the account page");
    Ok(see_other(&state, paths::ACCOUNT, "password_changed"))
}

/// Whether `user` has a password to change.
async fn mode_of(state: &AppState, user: &User) -> Result<PasswordPageMode, PageError> {
    let mut repo = state.db.read().await?;
    let stored = repo.user_passwords().active(user).await?;
    drop(repo);
    Ok(match stored {
        Some(_) => PasswordPageMode::Form,
        None => PasswordPageMode::NoPassword,
    })
}

fn context(
    state: &AppState,
    user: &User,
    csrf: &str,
    mode: PasswordPageMode,
    error: Option<PasswordChangeError>,
) -> PasswordChangeContext {
    PasswordChangeContext {
        nav: nav(state, user, csrf, AccountSection::Password),
        csrf: csrf.to_owned(),
        action: state.urls.relative(paths::ACCOUNT_PASSWORD),
        mode,
        error,
        minimum_complexity: state
            .passwords
            .as_ref()
            .map_or(0, |p| p.minimum_complexity()),
    }
}
