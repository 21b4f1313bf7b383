//! The HTTP side: one router per listener, built from the resources that
//! listener serves and nested under its path prefix.

mod conn;
mod cors;
mod health;
pub mod request_id;
mod request_log;
mod serve;
pub mod text_guard;
mod tls;

use axum::Router;
use tower_http::{
    request_id::{PropagateRequestIdLayer, SetRequestIdLayer},
    timeout::TimeoutLayer,
};

use crate::{errors, handlers, i18n, state::AppState, urls::paths};
use mxauth_config::{ListenerConfig, ResourceName};

pub use serve::{bind_listeners, serve_listeners, BoundListener, ServeError};

/// Resources mxauth serves today; the others are accepted in the config
/// and reported by `config check`.
pub fn is_built(resource: ResourceName) -> bool {
    matches!(
        resource,
        ResourceName::Health
            | ResourceName::Prometheus
            | ResourceName::Discovery
            | ResourceName::Oauth
            | ResourceName::Human
            | ResourceName::Compat
            | ResourceName::Adminapi
    )
}

/// The paths a resource serves, relative to the listener's prefix, for the
/// start-up banner.
pub fn resource_paths(resource: ResourceName) -> &'static [&'static str] {
    match resource {
        ResourceName::Health => &[paths::HEALTH],
        ResourceName::Prometheus => &[paths::METRICS],
        ResourceName::Discovery => &[paths::DISCOVERY],
        ResourceName::Oauth => &[paths::JWKS, paths::TOKEN],
        ResourceName::Human => &[paths::AUTHORIZE, paths::LOGIN],
        ResourceName::Compat => &[paths::COMPAT_LOGIN],
        ResourceName::Adminapi => &[paths::API_SPEC, paths::API_DOC],
        _ => &[],
    }
}

/// The router of one listener: its resources, its prefix, and the layers
/// every request passes, outermost first: the request id (kept from a
/// trusted proxy, else fresh, and returned on the response), the request
/// log with its span, the handler deadline (503 past it), the language
/// (`Accept-Language`, see `i18n`), then, inside the prefix and per
/// resource, CORS where browsers call us and the text guard.
pub fn listener_router(listener: &ListenerConfig, state: AppState) -> Router {
    let guard = || axum::middleware::from_fn_with_state(state.clone(), text_guard::guard);
    let error_pages = || {
        axum::middleware::map_response_with_state(state.clone(), errors::page::render_error_pages)
    };
    let mut router = Router::new();
    for resource in &listener.resources {
        let routes = match resource.name {
            ResourceName::Health => health::router(),
            ResourceName::Prometheus => crate::metrics::router(),
            ResourceName::Discovery => handlers::discovery::router(),
            ResourceName::Oauth => {
                handlers::discovery::keys_router().merge(handlers::oauth2::router())
            }
            ResourceName::Human => {
                handlers::pages::router().merge(handlers::oauth2::authorize_router())
            }
            ResourceName::Compat => handlers::compat::router(),
            ResourceName::Adminapi => handlers::admin::router(),
            _ => continue,
        };
        // The guard sees paths without the prefix; its refusals pass
        // through CORS like any other answer.
        // A `PageError` becomes its page here, whichever resource answered it.
        let routes = routes.layer(error_pages()).layer(guard());
        let routes = match resource.name {
            ResourceName::Discovery
            | ResourceName::Oauth
            | ResourceName::Compat
            | ResourceName::Adminapi => routes.layer(cors::layer()),
            _ => routes,
        };
        router = router.merge(routes);
    }
    let router = router.route_layer(axum::middleware::from_fn(request_log::record_route));
    let prefix = listener.normalized_prefix();
    let router = if prefix.is_empty() {
        router
    } else {
        Router::new().nest(&prefix, router)
    };
    router
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.templates.translations().clone(),
            i18n::negotiate::layer,
        ))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            state.site.handler_timeout,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            request_log::log_request,
        ))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(request_id::MakeUlid::new(
            &state,
        )))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            request_id::keep_only_trusted,
        ))
        .with_state(state)
}

async fn not_found() -> (axum::http::StatusCode, &'static str) {
    (axum::http::StatusCode::NOT_FOUND, "Not found\n")
}

#[cfg(test)]
mod db_fault_tests;
#[cfg(test)]
mod edge_tests;
#[cfg(test)]
mod slow_client_tests;
#[cfg(test)]
mod sweep;
#[cfg(test)]
mod tests;
