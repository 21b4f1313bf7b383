//! `GET /account/`: the account page. For now it shows who is logged in;
//! profile, emails, sessions and password management come with the account
//! management issue.

use super::{cookie_with_csrf, current_user, internal_error, render};
use crate::{state::AppState, templates::AccountContext, urls::paths};
use axum::{
    extract::State,
    http::HeaderMap,
    response::{IntoResponse, Redirect, Response},
};

pub async fn redirect_to_slash(State(state): State<AppState>) -> Response {
    Redirect::to(&state.urls.relative(paths::ACCOUNT)).into_response()
}

pub async fn show(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (cookie, csrf, set) = cookie_with_csrf(&state, &headers);
    let user = match current_user(&state, &cookie).await {
        Ok(user) => user,
        Err(e) => return internal_error(&state, &e),
    };
    let Some((_, user)) = user else {
        let next = state.urls.relative(paths::ACCOUNT);
        let login = state.urls.login_redirect(&next, None, false);
        return Redirect::to(&login).into_response();
    };
    let ctx = AccountContext {
        mxid: user.mxid(&state.site.server_name),
        csrf,
        logout_action: state.urls.relative(paths::LOGOUT),
    };
    render(&state, &ctx, set)
}
