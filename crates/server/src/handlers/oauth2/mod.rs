//! Resource `oauth`: the OAuth 2.0 / OpenID Connect API endpoints, and the
//! pieces they share (error bodies, redirects). Client authentication is
//! an extractor, in `crate::extract`.

pub mod authorize;
pub mod bearer;
pub mod introspect;
pub mod registration;
pub mod revoke;
pub mod token;
pub mod userinfo;

use axum::{
    routing::{get, post},
    Router,
};

use crate::{state::AppState, urls::paths};

/// The API endpoints (resource `oauth`).
/// `/authorize`, served with the pages (the `human` resource, as MAS
/// does): it starts the browser's part of the flow.
pub fn authorize_router() -> Router<AppState> {
    Router::new().route(paths::AUTHORIZE, get(authorize::handler))
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::TOKEN, post(token::handler))
        .route(paths::INTROSPECT, post(introspect::handler))
        .route(paths::REVOKE, post(revoke::handler))
        .route(
            paths::USERINFO,
            get(userinfo::handler).post(userinfo::handler),
        )
        .route(paths::REGISTRATION, post(registration::handler))
}

#[cfg(test)]
pub(crate) mod tests;
