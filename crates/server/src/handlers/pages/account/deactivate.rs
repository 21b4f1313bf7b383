//! `GET|POST /account/deactivate`: the person deactivates their own account
//! (`account.account_deactivation_allowed`). MSC4191 asks servers to make
//! sure of the person before this destructive action: those with a
//! password enter it (rate-limited like a login), those who sign in through
//! a provider type their username.
//!
//! Then, in one transaction: the account is locked and deactivated (the
//! homeserver deactivates the user through its job, without erasing their
//! data), every session ends (the tokens stop working at once), and this
//! browser is signed out.

use axum::{
    extract::State,
    http::{header, StatusCode},
    response::Response,
};
use mxauth_model::{localpart_of, User};
use serde::Deserialize;

use super::{log_in_first, nav, refusals};
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
    templates::{
        AccountDeactivatedContext, AccountSection, DeactivateConfirmation, DeactivateContext,
        DeactivateError,
    },
    urls::paths,
};

pub async fn show(State(state): State<AppState>, page: PageSession) -> Result<Response, PageError> {
    let Some((_, user)) = &page.user else {
        return Ok(log_in_first(&state, paths::ACCOUNT_DEACTIVATE, &[]));
    };
    if !state.site.account.account_deactivation_allowed {
        return Err(refusals::deactivation_disabled());
    }
    let confirm_with = confirmation_of(&state, user).await?;
    let ctx = context(&state, user, &page.csrf, confirm_with, None);
    Ok(render(&state, &ctx, page.set_cookie))
}

#[derive(Deserialize)]
pub struct DeactivateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    username: String,
}

impl CsrfProtected for DeactivateForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

pub async fn submit(
    State(state): State<AppState>,
    ip: ClientIp,
    CsrfForm { mut cookie, form }: CsrfForm<DeactivateForm>,
) -> Result<Response, PageError> {
    let Some((_, user)) = current_user(&state, &cookie).await? else {
        return Ok(log_in_first(&state, paths::ACCOUNT_DEACTIVATE, &[]));
    };
    if !state.site.account.account_deactivation_allowed {
        return Err(refusals::deactivation_disabled());
    }
    let confirm_with = confirmation_of(&state, &user).await?;
    let refuse = |error| -> Result<Response, PageError> {
        let ctx = context(&state, &user, &form.csrf, confirm_with, Some(error));
        let mut response = render(&state, &ctx, None);
        *response.status_mut() = StatusCode::BAD_REQUEST;
        Ok(response)
    };
    match confirm_with {
        DeactivateConfirmation::Password => {
            if form.password.is_empty() {
                return refuse(DeactivateError::WrongPassword);
            }
            if let Err(RetryAfter(wait)) = ops::login::check_rate(&state, &ip, &user.username) {
                return Err(refusals::too_many_attempts(wait.num_seconds().max(1)));
            }
            let Some(passwords) = &state.passwords else {
                return refuse(DeactivateError::WrongPassword);
            };
            let check = check_user_password(
                &state.db,
                passwords,
                state.clock.as_ref(),
                &mut state.random.rng(),
                &user,
                form.password.clone(),
            )
            .await?;
            if check != PasswordCheck::Valid {
                return refuse(DeactivateError::WrongPassword);
            }
        }
        DeactivateConfirmation::Username => {
            let typed = localpart_of(&form.username, &state.site.server_name);
            if !typed.is_some_and(|typed| typed.eq_ignore_ascii_case(&user.username)) {
                return refuse(DeactivateError::WrongUsername);
            }
        }
    }
    let mxid = user.mxid(&state.site.server_name);
    let mut repo = state.db.begin().await?;
    // The person's data stays on the homeserver: only an admin erases it.
    let (user, _) = ops::users::deactivate(&mut repo, (&state).into(), user, false).await?;
    repo.commit().await?;
    tracing::info!(user = %user.username, "account deactivated by its owner");
    cookie.browser_session = None;
    let mut response = render(&state, &AccountDeactivatedContext { mxid }, None);
    response
        .headers_mut()
        .append(header::SET_COOKIE, state.cookies.header(&cookie));
    Ok(response)
}

/// How `user` proves it is them: their password when they have one and
/// passwords are on, else their username.
async fn confirmation_of(
    state: &AppState,
    user: &User,
) -> Result<DeactivateConfirmation, PageError> {
    if state.passwords.is_none() {
        return Ok(DeactivateConfirmation::Username);
    }
    let mut repo = state.db.read().await?;
    let stored = repo.user_passwords().active(user).await?;
    drop(repo);
    Ok(match stored {
        Some(_) => DeactivateConfirmation::Password,
        None => DeactivateConfirmation::Username,
    })
}

fn context(
    state: &AppState,
    user: &User,
    csrf: &str,
    confirm_with: DeactivateConfirmation,
    error: Option<DeactivateError>,
) -> DeactivateContext {
    DeactivateContext {
        nav: nav(state, user, csrf, AccountSection::Deactivate),
        csrf: csrf.to_owned(),
        action: state.urls.relative(paths::ACCOUNT_DEACTIVATE),
        confirm_with,
        username: user.username.clone(),
        error,
    }
}
