//! Resource `compat`: the legacy Matrix login API (`/_matrix/client/{v}/login`,
//! `/logout`, `/logout/all`, `/refresh`) for clients, bots and bridges that
//! do not speak OAuth. The reverse proxy routes these paths of the
//! homeserver's domain here. Errors are Matrix JSON (`errcode`, `error`),
//! and every answer allows cross-origin use (browser clients).

mod error;
pub mod login;
mod logout;
mod refresh;
pub mod sso;
mod tokens;

use axum::{
    extract::Request,
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::{get, post},
    Router,
};

pub use error::MatrixError;

use crate::{state::AppState, urls::paths};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::COMPAT_LOGIN, get(login::flows).post(login::login))
        .route(paths::COMPAT_SSO_REDIRECT, get(sso::redirect))
        .route(paths::COMPAT_SSO_REDIRECT_IDP, get(sso::redirect))
        .route(paths::COMPAT_LOGOUT, post(logout::logout))
        .route(paths::COMPAT_LOGOUT_ALL, post(logout::logout_all))
        .route(paths::COMPAT_REFRESH, post(refresh::refresh))
        .layer(axum::middleware::from_fn(cors))
}

/// CORS as the Matrix spec asks of homeservers (C-S API "Web Browser
/// Clients"): any origin; preflights answered here.
async fn cors(request: Request, next: Next) -> Response {
    let mut response = if request.method() == Method::OPTIONS {
        StatusCode::NO_CONTENT.into_response()
    } else {
        next.run(request).await
    };
    add_cors_headers(response.headers_mut());
    response
}

/// The CORS headers of every compat answer, also of those given before a
/// handler runs (the text guard's refusals).
pub fn add_cors_headers(headers: &mut HeaderMap) {
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, PUT, DELETE, OPTIONS"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("X-Requested-With, Content-Type, Authorization"),
    );
}

#[cfg(test)]
mod tests;
