//! `GET|POST /account/reset-cross-signing`: approving a cross-signing
//! reset. A client that wants to replace the person's cross-signing keys
//! gets a user-interactive-auth challenge from the homeserver pointing
//! here (`org.matrix.cross_signing_reset`); the button asks the homeserver
//! to let the user replace their keys without that challenge for a while
//! (`allow_cross_signing_reset`, ten minutes on Synapse), and the person
//! goes back to the client to finish.

use axum::{extract::State, response::Response};
use mxauth_model::User;

use super::{log_in_first, nav, on_homeserver, refusals, ButtonForm};
use crate::{
    errors::PageError,
    extract::{current_user, CsrfForm, PageSession},
    handlers::pages::render,
    state::AppState,
    templates::{AccountSection, CrossSigningContext},
    urls::paths,
};

/// How long Synapse lets the keys be replaced after the approval.
const MINUTES: u32 = 10;

pub async fn show(State(state): State<AppState>, page: PageSession) -> Result<Response, PageError> {
    let Some((_, user)) = &page.user else {
        return Ok(log_in_first(
            &state,
            paths::ACCOUNT_CROSS_SIGNING_RESET,
            &[],
        ));
    };
    let ctx = context(&state, user, &page.csrf, false);
    Ok(render(&state, &ctx, page.set_cookie))
}

pub async fn submit(
    State(state): State<AppState>,
    CsrfForm { cookie, form }: CsrfForm<ButtonForm>,
) -> Result<Response, PageError> {
    let Some((_, user)) = current_user(&state, &cookie).await? else {
        return Ok(log_in_first(
            &state,
            paths::ACCOUNT_CROSS_SIGNING_RESET,
            &[],
        ));
    };
    // No transaction is open: nothing is written here.
    let hs = state.homeserver.as_ref();
    on_homeserver(&state, &user, || {
        hs.allow_cross_signing_reset(&user.username)
    })
    .await
    .map_err(|e| refusals::homeserver_failed(&e))?;
    tracing::info!(user = %user.username, "cross-signing reset allowed");
    let ctx = context(&state, &user, &form.csrf, true);
    Ok(render(&state, &ctx, None))
}

fn context(state: &AppState, user: &User, csrf: &str, approved: bool) -> CrossSigningContext {
    CrossSigningContext {
        nav: nav(state, user, csrf, AccountSection::CrossSigning),
        csrf: csrf.to_owned(),
        action: state.urls.relative(paths::ACCOUNT_CROSS_SIGNING_RESET),
        approved,
        minutes: MINUTES,
    }
}
