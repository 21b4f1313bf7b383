//! Resource `compat`: the legacy Matrix login API (`/_matrix/client/{v}/login`,
//! `/logout`, `/logout/all`, `/refresh`) for clients, bots and bridges that
//! do not speak OAuth. The reverse proxy routes these paths of the
//! homeserver's domain here. Errors are Matrix JSON (`errcode`, `error`),
//! and every answer allows cross-origin use (browser clients; `http/cors.rs`).

mod error;
pub mod login;
mod logout;
mod refresh;
pub mod sso;

use axum::{
    routing::{get, post},
    Router,
};

pub use error::MatrixError;

use crate::{state::AppState, urls::paths};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::COMPAT_LOGIN, get(login::flows).post(login::login))
        .route(paths::COMPAT_SSO_REDIRECT, get(sso::redirect))
        .route(
            paths::COMPAT_SSO_REDIRECT_IDP,
            get(sso::redirect_to_provider),
        )
        .route(paths::COMPAT_LOGOUT, post(logout::logout))
        .route(paths::COMPAT_LOGOUT_ALL, post(logout::logout_all))
        .route(paths::COMPAT_REFRESH, post(refresh::refresh))
}

#[cfg(test)]
mod tests;
