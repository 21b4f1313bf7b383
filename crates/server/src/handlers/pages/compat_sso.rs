//! `GET|POST /complete-compat-sso/{id}`: the confirmation step of the legacy
//! SSO login. The person logs in (if needed) and confirms; the browser then
//! goes back to the client's `redirectUrl` with a one-time `loginToken`.
//! A login must be confirmed within 30 minutes of starting.

use axum::{
    extract::{Path, State},
    http::HeaderMap,
    response::{IntoResponse, Redirect, Response},
    Form,
};
use chrono::Duration;
use mxauth_model::{token_digest, tokens::generate_alphanumeric};
use mxauth_storage::CompatSsoLogin;
use ulid::Ulid;
use url::Url;

use super::{
    cookie_with_csrf, current_user, display_host, error_page, expired_form_page, internal_error,
    render, DecisionForm,
};
use crate::{state::AppState, templates::CompatSsoContext, urls::paths};

const CONFIRM_WITHIN_MINUTES: i64 = 30;

fn action(id: &Ulid) -> String {
    paths::COMPLETE_COMPAT_SSO.replace("{id}", &id.to_string())
}

async fn load(state: &AppState, id: &str) -> Result<CompatSsoLogin, Response> {
    let gone = || {
        error_page(state, 404, "Sign-in not found", "This sign-in request does not exist or was already used. Start again from the application.")
    };
    let id: Ulid = id.parse().map_err(|_| gone())?;
    let mut repo = state
        .db
        .read()
        .await
        .map_err(|e| internal_error(state, &e))?;
    let login = repo
        .compat_sso_logins()
        .find(id)
        .await
        .map_err(|e| internal_error(state, &e))?
        .ok_or_else(gone)?;
    let expired = state.clock.now() - login.created_at > Duration::minutes(CONFIRM_WITHIN_MINUTES);
    if login.fulfilled_at.is_some() || expired {
        return Err(gone());
    }
    Ok(login)
}

pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let login = match load(&state, &id).await {
        Ok(login) => login,
        Err(page) => return page,
    };
    let (cookie, csrf, set) = cookie_with_csrf(&state, &headers);
    let user = match current_user(&state, &cookie).await {
        Ok(Some((_, user))) => user,
        Ok(None) => {
            let next = state.urls.relative(&action(&login.id));
            let url = state.urls.login_redirect(&next, None, false);
            return Redirect::to(&url).into_response();
        }
        Err(e) => return internal_error(&state, &e),
    };
    let ctx = CompatSsoContext {
        action: state.urls.relative(&action(&login.id)),
        csrf,
        host: display_host(&login.redirect_uri),
        mxid: user.mxid(&state.site.server_name),
    };
    render(&state, &ctx, set)
}

pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(input): Form<DecisionForm>,
) -> Response {
    let now = state.clock.now();
    let cookie = state.cookies.read(&headers);
    if !cookie.check_csrf(&input.csrf, now) {
        return expired_form_page(&state);
    }
    let login = match load(&state, &id).await {
        Ok(login) => login,
        Err(page) => return page,
    };
    let Ok(mut target) = Url::parse(&login.redirect_uri) else {
        return error_page(
            &state,
            400,
            "Invalid request",
            "The application's redirect URL is invalid.",
        );
    };
    if input.decision != "allow" {
        // Nothing was granted; the request stays unconfirmed and expires.
        return error_page(
            &state,
            200,
            "Sign-in cancelled",
            "Nothing was shared with the application. You can close this page.",
        );
    }
    let (session, _) = match current_user(&state, &cookie).await {
        Ok(Some(found)) => found,
        Ok(None) => {
            return error_page(&state, 403, "Not signed in", "Sign in first, then confirm.")
        }
        Err(e) => return internal_error(&state, &e),
    };
    let token = generate_alphanumeric(&mut state.random.rng(), 32);
    let fulfilled = async {
        let mut repo = state.db.begin().await?;
        let ok = repo
            .compat_sso_logins()
            .fulfill(login.id, session.id, &token_digest(&token), now)
            .await?;
        repo.commit().await?;
        Ok::<_, mxauth_storage::StorageError>(ok)
    }
    .await;
    match fulfilled {
        Ok(true) => {
            target.query_pairs_mut().append_pair("loginToken", &token);
            Redirect::to(target.as_str()).into_response()
        }
        Ok(false) => error_page(
            &state,
            400,
            "Sign-in already completed",
            "This sign-in request was already used.",
        ),
        Err(e) => internal_error(&state, &e),
    }
}
