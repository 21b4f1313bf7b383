//! The HTTP side: one router per listener, built from the resources that
//! listener serves and nested under its path prefix.

mod conn;
mod health;
mod request_log;
mod serve;
pub mod text_guard;
mod tls;

use axum::Router;

use crate::{handlers, state::AppState, urls::paths};
use mxauth_config::{ListenerConfig, ResourceName};

pub use serve::{bind_listeners, serve_listeners, BoundListener, ServeError};

/// Resources mxauth serves today; the others are accepted in the config
/// and reported by `config check`.
pub fn is_built(resource: ResourceName) -> bool {
    matches!(
        resource,
        ResourceName::Health
            | ResourceName::Discovery
            | ResourceName::Oauth
            | ResourceName::Human
            | ResourceName::Compat
    )
}

/// The paths a resource serves, relative to the listener's prefix, for the
/// start-up banner.
pub fn resource_paths(resource: ResourceName) -> &'static [&'static str] {
    match resource {
        ResourceName::Health => &[paths::HEALTH],
        ResourceName::Discovery => &[paths::DISCOVERY],
        ResourceName::Oauth => &[paths::JWKS, paths::TOKEN],
        ResourceName::Human => &[paths::AUTHORIZE, paths::LOGIN],
        ResourceName::Compat => &[paths::COMPAT_LOGIN],
        _ => &[],
    }
}

/// The router of one listener: its resources, its prefix, the request log.
pub fn listener_router(listener: &ListenerConfig, state: AppState) -> Router {
    let mut router = Router::new();
    for resource in &listener.resources {
        router = match resource.name {
            ResourceName::Health => router.merge(health::router()),
            ResourceName::Discovery => router.merge(handlers::discovery::router()),
            ResourceName::Oauth => router
                .merge(handlers::discovery::keys_router())
                .merge(handlers::oauth2::router()),
            ResourceName::Human => router.merge(handlers::pages::router()),
            ResourceName::Compat => router.merge(handlers::compat::router()),
            _ => router,
        };
    }
    // Inside the nest, so the guard sees paths without the prefix.
    let router = router.layer(axum::middleware::from_fn_with_state(
        state.clone(),
        text_guard::guard,
    ));
    let prefix = listener.normalized_prefix();
    let router = if prefix.is_empty() {
        router
    } else {
        Router::new().nest(&prefix, router)
    };
    router
        .fallback(not_found)
        .layer(axum::middleware::from_fn(request_log::log_request))
        .with_state(state)
}

async fn not_found() -> (axum::http::StatusCode, &'static str) {
    (axum::http::StatusCode::NOT_FOUND, "Not found\n")
}

#[cfg(test)]
mod db_fault_tests;
#[cfg(test)]
mod slow_client_tests;
#[cfg(test)]
mod sweep;
#[cfg(test)]
mod tests;
