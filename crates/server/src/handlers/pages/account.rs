//! `GET /account/`: the account page. For now it shows who is logged in;
//! profile, emails, sessions and password management come with the account
//! management issue.

use super::render;
use crate::{extract::PageSession, state::AppState, templates::AccountContext, urls::paths};
use axum::{
    extract::State,
    response::{IntoResponse, Redirect, Response},
};

pub async fn redirect_to_slash(State(state): State<AppState>) -> Response {
    Redirect::to(&state.urls.relative(paths::ACCOUNT)).into_response()
}

pub async fn show(State(state): State<AppState>, page: PageSession) -> Response {
    let Some((_, user)) = page.user else {
        let next = state.urls.relative(paths::ACCOUNT);
        let login = state.urls.login_redirect(&next, None, false);
        return Redirect::to(&login).into_response();
    };
    let ctx = AccountContext {
        mxid: user.mxid(&state.site.server_name),
        csrf: page.csrf,
        logout_action: state.urls.relative(paths::LOGOUT),
    };
    render(&state, &ctx, page.set_cookie)
}
