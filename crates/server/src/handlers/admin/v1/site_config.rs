//! `GET /api/admin/v1/site-config` and `GET /api/admin/v1/version`: what
//! this server lets people do, and which mxauth answers.

use axum::{extract::State, Json};
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::AdminCaller;
use crate::state::AppState;

/// The server's features, as MAS names them.
#[derive(Debug, Serialize, ToSchema)]
pub struct SiteConfig {
    pub server_name: String,
    pub password_login_enabled: bool,
    pub password_registration_enabled: bool,
    pub password_registration_email_required: bool,
    pub registration_token_required: bool,
    pub email_change_allowed: bool,
    pub displayname_change_allowed: bool,
    pub password_change_allowed: bool,
    pub account_recovery_allowed: bool,
    pub account_deactivation_allowed: bool,
    pub captcha_enabled: bool,
    /// The zxcvbn score new passwords need (0–4).
    pub minimum_password_complexity: u8,
}

/// The server's configuration as it affects users.
#[utoipa::path(
    get,
    path = "/site-config",
    tag = "server",
    responses((status = 200, description = "The features", body = SiteConfig)),
    security(("bearer" = ["urn:mas:admin"]))
)]
pub async fn site_config(_caller: AdminCaller, State(state): State<AppState>) -> Json<SiteConfig> {
    let account = &state.site.account;
    let passwords = state.passwords.as_ref();
    Json(SiteConfig {
        server_name: state.site.server_name.clone(),
        password_login_enabled: passwords.is_some(),
        password_registration_enabled: passwords.is_some() && account.password_registration_enabled,
        password_registration_email_required: account.password_registration_email_required,
        registration_token_required: account.password_registration_token_required,
        email_change_allowed: account.email_change_allowed,
        displayname_change_allowed: account.displayname_change_allowed,
        password_change_allowed: passwords.is_some() && account.password_change_allowed,
        account_recovery_allowed: passwords.is_some() && account.password_recovery_enabled,
        account_deactivation_allowed: account.account_deactivation_allowed,
        captcha_enabled: state.site.captcha.is_some(),
        minimum_password_complexity: passwords.map_or(0, |p| p.minimum_complexity()),
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Version {
    /// mxauth's version.
    pub version: &'static str,
}

/// The version of this server.
#[utoipa::path(
    get,
    path = "/version",
    tag = "server",
    responses((status = 200, description = "The version", body = Version)),
    security(("bearer" = ["urn:mas:admin"]))
)]
pub async fn version(_caller: AdminCaller) -> Json<Version> {
    Json(Version {
        version: env!("CARGO_PKG_VERSION"),
    })
}
