//! The HTTP side: one router per listener, built from the resources that
//! listener serves and nested under its path prefix.

mod health;
mod request_log;
mod serve;

use std::sync::Arc;

use axum::Router;
use mxauth_model::Clock;
use mxauth_storage::Database;

use crate::config::{ListenerConfig, ResourceName};

pub use serve::{bind_listeners, serve_listeners, BoundListener, ServeError};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: Database,
    pub clock: Arc<dyn Clock>,
}

/// Resources mxauth serves today; the others are accepted in the config
/// and reported by `config check`.
pub fn is_built(resource: ResourceName) -> bool {
    matches!(resource, ResourceName::Health)
}

/// The paths a resource serves, relative to the listener's prefix, for the
/// start-up banner.
pub fn resource_paths(resource: ResourceName) -> &'static [&'static str] {
    match resource {
        ResourceName::Health => &["/health"],
        _ => &[],
    }
}

/// The router of one listener: its resources, its prefix, the request log.
pub fn listener_router(listener: &ListenerConfig, state: AppState) -> Router {
    let mut router = Router::new();
    for resource in &listener.resources {
        if resource.name == ResourceName::Health {
            router = router.merge(health::router());
        }
    }
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
mod tests;
