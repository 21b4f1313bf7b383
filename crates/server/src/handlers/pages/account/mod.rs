//! The account pages at `account_management_uri` (`/account/`): profile
//! and email addresses (`profile.rs`), password change (`password.rs`),
//! sessions (`sessions.rs`), deactivation (`deactivate.rs`) and approving a
//! cross-signing reset (`cross_signing.rs`). Clients deep-link into them
//! with `?action=` (MSC4191, `actions.rs`).
//!
//! Every page needs a signed-in browser: without one it sends the person to
//! log in and come back to the same page (with the same `action`). Every
//! form carries the CSRF token and changes nothing on bad input. The words
//! are in the templates; refusals shown on the error page are in
//! `refusals.rs`.

mod actions;
mod cross_signing;
mod deactivate;
mod email_add;
mod password;
mod profile;
mod refusals;
pub(crate) mod sessions;
#[cfg(test)]
mod tests;

use axum::{
    extract::{RawQuery, State},
    response::{IntoResponse, Redirect, Response},
    routing::get,
    Router,
};
use chrono::{DateTime, Utc};
use mxauth_model::User;

use crate::{
    homeserver::{HomeserverError, ProvisionRequest},
    state::AppState,
    templates::{AccountNav, AccountSection},
    urls::paths,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::ACCOUNT, get(profile::show).post(profile::submit))
        .route(paths::ACCOUNT_NO_SLASH, get(redirect_to_slash))
        .route(
            paths::ACCOUNT_EMAILS,
            axum::routing::post(profile::remove_email),
        )
        .route(
            paths::ACCOUNT_PASSWORD,
            get(password::show).post(password::submit),
        )
        .route(
            paths::ACCOUNT_SESSIONS,
            get(sessions::list).post(sessions::end_others),
        )
        .route(
            paths::ACCOUNT_SESSION,
            get(sessions::show).post(sessions::end),
        )
        .route(
            paths::ACCOUNT_DEACTIVATE,
            get(deactivate::show).post(deactivate::submit),
        )
        .route(
            paths::ACCOUNT_CROSS_SIGNING_RESET,
            get(cross_signing::show).post(cross_signing::submit),
        )
        .route(
            paths::ACCOUNT_EMAIL_ADD,
            get(email_add::show).post(email_add::start),
        )
        .route(
            paths::ACCOUNT_EMAIL_VERIFY,
            get(email_add::show_code).post(email_add::verify),
        )
        .route(paths::CHANGE_PASSWORD, get(change_password))
}

/// `/account` → `/account/`, keeping the query (a client's `action`).
pub async fn redirect_to_slash(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Response {
    let target = state.urls.relative(paths::ACCOUNT);
    let target = match query {
        Some(query) => format!("{target}?{}", reencode(&query)),
        None => target,
    };
    Redirect::to(&target).into_response()
}

/// The query's pairs encoded again by us, so nothing but what the URL
/// parser read goes into the `Location` header.
fn reencode(query: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(url::form_urlencoded::parse(query.as_bytes()))
        .finish()
}

/// `GET /.well-known/change-password` (W3C "A Well-Known URL for Changing
/// Passwords" §3): password managers send people here; it redirects to the
/// password page.
pub async fn change_password(State(state): State<AppState>) -> Response {
    Redirect::to(&state.urls.relative(paths::ACCOUNT_PASSWORD)).into_response()
}

/// The login page, coming back to `path` (one of ours) with `query`.
fn log_in_first(state: &AppState, path: &str, query: &[(&str, &str)]) -> Response {
    let mut next = state.urls.relative(path);
    if !query.is_empty() {
        let encoded = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(query)
            .finish();
        next = format!("{next}?{encoded}");
    }
    Redirect::to(&state.urls.login_redirect(&next, None, false)).into_response()
}

/// A redirect to an account page after a form, with what succeeded.
fn see_other(state: &AppState, path: &str, notice: &str) -> Response {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("notice", notice)
        .finish();
    Redirect::to(&format!("{}?{query}", state.urls.relative(path))).into_response()
}

/// Whether this server lets people change their password here: passwords
/// are on and `account.password_change_allowed`.
fn password_change_enabled(state: &AppState) -> bool {
    state.passwords.is_some() && state.site.account.password_change_allowed
}

/// The navigation of the account pages for `user`.
fn nav(state: &AppState, user: &User, csrf: &str, current: AccountSection) -> AccountNav {
    let urls = &state.urls;
    let account = &state.site.account;
    AccountNav {
        mxid: user.mxid(&state.site.server_name),
        current,
        profile: urls.relative(paths::ACCOUNT),
        sessions: urls.relative(paths::ACCOUNT_SESSIONS),
        password: password_change_enabled(state).then(|| urls.relative(paths::ACCOUNT_PASSWORD)),
        deactivate: account
            .account_deactivation_allowed
            .then(|| urls.relative(paths::ACCOUNT_DEACTIVATE)),
        logout_action: urls.relative(paths::LOGOUT),
        csrf: csrf.to_owned(),
    }
}

/// A form that is only a button (end a session, allow a reset): its CSRF
/// token is all it carries.
#[derive(serde::Deserialize)]
pub struct ButtonForm {
    #[serde(default)]
    pub csrf: String,
}

impl crate::extract::CsrfProtected for ButtonForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// Runs `call` on the homeserver for `user`; a user it does not know yet
/// (their provisioning job has not run) is provisioned first, as creating
/// a device does. No transaction may be open while this runs.
async fn on_homeserver<T, F, Fut>(
    state: &AppState,
    user: &User,
    call: F,
) -> Result<T, HomeserverError>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, HomeserverError>>,
{
    match call().await {
        Err(HomeserverError::Refused { status: 404, .. }) => {
            let request = ProvisionRequest {
                localpart: user.username.clone(),
                locked: user.locked_at.is_some(),
                ..ProvisionRequest::default()
            };
            state.homeserver.provision_user(&request).await?;
            call().await
        }
        other => other,
    }
}

/// A time as the pages show it: minutes, UTC.
pub(crate) fn shown_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A notice code from the query; one we do not know is ignored.
pub(crate) fn notice<'de, T: serde::Deserialize<'de>>(value: Option<&'de str>) -> Option<T> {
    use serde::de::IntoDeserializer;
    let value = value?;
    T::deserialize(IntoDeserializer::<serde::de::value::Error>::into_deserializer(value)).ok()
}
