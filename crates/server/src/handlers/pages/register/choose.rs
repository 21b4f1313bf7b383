//! `GET /register`: how to create an account — a username and password
//! (when password registration is on) or an upstream provider. With only
//! the password way, it goes straight to the form.

use axum::{
    extract::{Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use crate::{
    errors::PageError,
    handlers::{
        pages::{render, safe_next},
        upstream,
    },
    i18n::t,
    state::AppState,
    templates::RegisterContext,
    urls::paths,
};

#[derive(Deserialize)]
pub struct RegisterQuery {
    next: Option<String>,
}

/// `path?next=…`, relative to this site.
pub(super) fn with_next(state: &AppState, path: &str, next: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("next", next)
        .finish();
    format!("{}?{query}", state.urls.relative(path))
}

pub async fn show(
    State(state): State<AppState>,
    Query(q): Query<RegisterQuery>,
) -> Result<Response, PageError> {
    let next = safe_next(&state, q.next.as_deref());
    let password = state.site.account.password_registration_enabled && state.passwords.is_some();
    let providers = upstream::provider_buttons(&state, &next).await?;
    if password && providers.is_empty() {
        let to = with_next(&state, paths::REGISTER_PASSWORD, &next);
        return Ok(Redirect::to(&to).into_response());
    }
    if !password && providers.is_empty() {
        return Err(PageError::new(
            StatusCode::NOT_FOUND,
            t!("Registration is closed"),
            t!("This server does not let people create accounts."),
        ));
    }
    let ctx = RegisterContext {
        password_href: password.then(|| with_next(&state, paths::REGISTER_PASSWORD, &next)),
        providers,
        login_href: with_next(&state, paths::LOGIN, &next),
    };
    Ok(render(&state, &ctx, None))
}
