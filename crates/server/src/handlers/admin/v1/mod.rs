//! The admin API, version 1 (`/api/admin/v1`), MAS's paths, filters and
//! shapes: one file per resource, [`auth`] for who may call it,
//! [`response`] for the JSON:API-like answers and cursor pagination,
//! [`error`] for the error bodies. The routes and the OpenAPI document
//! come from the same `#[utoipa::path]` annotations ([`routes`]), so the
//! document cannot describe a route that is not served, or miss one.

pub mod audit_log;
pub mod auth;
pub mod document;
pub mod error;
pub mod oauth2_clients;
pub mod personal_sessions;
pub mod policy_data;
pub mod registration_tokens;
pub mod response;
pub mod sessions;
pub mod site_config;
pub mod upstream;
pub mod user_emails;
pub mod users;

use axum::Router;
use utoipa::{
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    Modify, OpenApi,
};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "mxauth admin API",
        description = "Manage users, sessions and registration tokens of mxauth, with the paths and shapes of the Matrix Authentication Service's admin API. Every call needs a bearer access token with the `urn:mas:admin` scope.",
    ),
    modifiers(&BearerScheme),
    tags(
        (name = "server", description = "The server itself"),
        (name = "user", description = "Users"),
        (name = "user-registration-token", description = "Registration tokens"),
        (name = "user-email", description = "Users' email addresses"),
        (name = "personal-session", description = "Personal access tokens"),
        (name = "audit", description = "What admins did (mxauth only)"),
        (name = "policy-data", description = "Policy data set at run time"),
        (name = "user-session", description = "Browser sessions"),
        (name = "oauth2-client", description = "OAuth 2.0 clients"),
        (name = "oauth2-session", description = "OAuth 2.0 sessions"),
        (name = "compat-session", description = "Sessions of the legacy login API"),
        (name = "upstream-oauth-link", description = "Links to accounts at upstream providers"),
        (name = "upstream-oauth-provider", description = "Upstream providers (from the configuration)"),
    )
)]
struct ApiDoc;

/// The `bearer` security scheme every operation names.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The routes under `/api/admin/v1` and their OpenAPI document.
pub fn routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let v1 = OpenApiRouter::new()
        .routes(routes!(site_config::site_config))
        .routes(routes!(site_config::version))
        .routes(routes!(users::list, users::add))
        .routes(routes!(users::get))
        .routes(routes!(users::by_username))
        .routes(routes!(users::set_password))
        .routes(routes!(users::set_admin))
        .routes(routes!(users::lock))
        .routes(routes!(users::unlock))
        .routes(routes!(users::deactivate))
        .routes(routes!(users::reactivate))
        .routes(routes!(registration_tokens::list, registration_tokens::add))
        .routes(routes!(
            registration_tokens::get,
            registration_tokens::update
        ))
        .routes(routes!(registration_tokens::revoke))
        .routes(routes!(registration_tokens::unrevoke))
        .routes(routes!(user_emails::list, user_emails::add))
        .routes(routes!(user_emails::get, user_emails::remove))
        .routes(routes!(personal_sessions::list, personal_sessions::add))
        .routes(routes!(personal_sessions::get))
        .routes(routes!(personal_sessions::revoke))
        .routes(routes!(personal_sessions::regenerate))
        .routes(routes!(audit_log::list))
        .routes(routes!(policy_data::set))
        .routes(routes!(policy_data::latest))
        .routes(routes!(policy_data::get))
        .routes(routes!(sessions::list_user_sessions))
        .routes(routes!(sessions::get_user_session))
        .routes(routes!(sessions::finish_user_session))
        .routes(routes!(sessions::list_oauth2_sessions))
        .routes(routes!(sessions::get_oauth2_session))
        .routes(routes!(sessions::finish_oauth2_session))
        .routes(routes!(sessions::list_compat_sessions))
        .routes(routes!(sessions::get_compat_session))
        .routes(routes!(sessions::finish_compat_session))
        .routes(routes!(upstream::list_links, upstream::add_link))
        .routes(routes!(upstream::get_link, upstream::remove_link))
        .routes(routes!(upstream::list_providers))
        .routes(routes!(upstream::get_provider))
        .routes(routes!(oauth2_clients::list))
        .routes(routes!(oauth2_clients::get));
    let (router, mut api) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest(response::BASE, v1)
        .split_for_parts();
    // What every operation shares: 400/401/403/503, `{id}` as a ULID.
    document::complete(&mut api);
    (router, api)
}

#[cfg(test)]
mod tests;
