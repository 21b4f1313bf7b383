//! `GET|POST /complete-compat-sso/{id}`: the confirmation step of the legacy
//! SSO login. The person logs in (if needed) and confirms; the browser then
//! goes back to the client's `redirectUrl` with a one-time `loginToken`.
//! A login must be confirmed within 30 minutes of starting.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use chrono::Duration;
use mxauth_model::{token_digest, tokens::generate_alphanumeric};
use mxauth_storage::CompatSsoLogin;
use ulid::Ulid;
use url::Url;

use super::{display_host, render, DecisionForm};
use crate::{
    errors::PageError,
    extract::{current_user, CsrfForm, PageSession},
    i18n::t,
    state::AppState,
    templates::CompatSsoContext,
    urls::paths,
};

const CONFIRM_WITHIN_MINUTES: i64 = 30;

fn action(id: &Ulid) -> String {
    paths::COMPLETE_COMPAT_SSO.replace("{id}", &id.to_string())
}

/// The login waiting for confirmation; gone once used or expired.
async fn load(state: &AppState, id: &str) -> Result<CompatSsoLogin, PageError> {
    let gone = || {
        PageError::new(
            StatusCode::NOT_FOUND,
            t!("Sign-in not found"),
            t!("This sign-in request does not exist or was already used. Start again from the application."),
        )
    };
    let id: Ulid = id.parse().map_err(|_| gone())?;
    let mut repo = state.db.read().await?;
    let login = repo.compat_sso_logins().find(id).await?.ok_or_else(gone)?;
    let expired = state.clock.now() - login.created_at > Duration::minutes(CONFIRM_WITHIN_MINUTES);
    if login.fulfilled_at.is_some() || expired {
        return Err(gone());
    }
    Ok(login)
}

pub async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
    page: PageSession,
) -> Result<Response, PageError> {
    let login = load(&state, &id).await?;
    let Some((_, user)) = page.user else {
        let next = state.urls.relative(&action(&login.id));
        let url = state.urls.login_redirect(&next, None, false);
        return Ok(Redirect::to(&url).into_response());
    };
    let ctx = CompatSsoContext {
        action: state.urls.relative(&action(&login.id)),
        csrf: page.csrf,
        host: display_host(&login.redirect_uri),
        mxid: user.mxid(&state.site.server_name),
    };
    Ok(render(&state, &ctx, page.set_cookie))
}

pub async fn submit(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm { cookie, form }: CsrfForm<DecisionForm>,
) -> Result<Response, PageError> {
    let login = load(&state, &id).await?;
    let mut target = Url::parse(&login.redirect_uri).map_err(|_| {
        PageError::new(
            StatusCode::BAD_REQUEST,
            t!("Invalid request"),
            t!("The application's redirect URL is invalid."),
        )
    })?;
    if form.decision != "allow" {
        // Nothing was granted; the request stays unconfirmed and expires.
        return Ok(PageError::new(
            StatusCode::OK,
            t!("Sign-in cancelled"),
            t!("Nothing was shared with the application. You can close this page."),
        )
        .into_response());
    }
    let Some((session, _)) = current_user(&state, &cookie).await? else {
        return Err(PageError::new(
            StatusCode::FORBIDDEN,
            t!("Not signed in"),
            t!("Sign in first, then confirm."),
        ));
    };
    let token = generate_alphanumeric(&mut state.random.rng(), 32);
    let now = state.clock.now();
    let mut repo = state.db.begin().await?;
    let fulfilled = repo
        .compat_sso_logins()
        .fulfill(login.id, session.id, &token_digest(&token), now)
        .await?;
    repo.commit().await?;
    if !fulfilled {
        return Err(PageError::new(
            StatusCode::BAD_REQUEST,
            t!("Sign-in already completed"),
            t!("This sign-in request was already used."),
        ));
    }
    target.query_pairs_mut().append_pair("loginToken", &token);
    Ok(Redirect::to(target.as_str()).into_response())
}
