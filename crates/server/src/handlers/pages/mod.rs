//! Resource `human`: server-rendered pages (login, consent, logout, the
//! account pages, the admin console) and what they share: rendering, the browser cookie, the
//! logged-in user. Every page sets `X-Frame-Options: DENY` (clickjacking) and every form
//! carries the CSRF token of the cookie.

pub mod account;
pub mod admin;
pub mod compat_sso;
pub mod consent;
pub mod login;
pub mod logout;
pub mod recover;
pub mod register;

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{Html, IntoResponse, Response},
    routing::get,
    Router,
};
use mxauth_model::oauth2::Client;
use url::Url;

use crate::{
    errors::{page::secure_headers, PageError},
    extract::CsrfProtected,
    i18n::t,
    ops::email_codes::VerifyError,
    rate_limit::RetryAfter,
    state::AppState,
    templates::TemplateContext,
    urls::paths,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::LOGIN, get(login::show).post(login::submit))
        .route(paths::LOGOUT, axum::routing::post(logout::submit))
        .route(paths::CONSENT, get(consent::show).post(consent::submit))
        .route(
            paths::COMPLETE_COMPAT_SSO,
            get(compat_sso::show).post(compat_sso::submit),
        )
        .merge(account::router())
        .merge(admin::router())
        .merge(register::router())
        .merge(recover::router())
        .merge(super::upstream::router())
}

/// Renders the page of `ctx`, 200, no framing, no caching.
pub fn render(
    state: &AppState,
    ctx: &impl TemplateContext,
    cookie: Option<HeaderValue>,
) -> Response {
    let html = match state.templates.render(ctx) {
        Ok(html) => html,
        Err(e) => return PageError::from(e).render(state),
    };
    let mut response = (StatusCode::OK, Html(html)).into_response();
    secure_headers(response.headers_mut());
    if let Some(cookie) = cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// The form of a page that asks yes or no (consent, SSO confirmation).
#[derive(serde::Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    pub csrf: String,
    /// `allow`, anything else declines.
    #[serde(default)]
    pub decision: String,
}

impl CsrfProtected for DecisionForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// The status and words of a form refusing a typed email code (adding an
/// address, registering); a storage failure is the error page.
pub fn code_refusal(e: VerifyError) -> Result<(StatusCode, String), PageError> {
    Ok(match e {
        VerifyError::Storage(e) => return Err(e.into()),
        VerifyError::WrongCode => (
            StatusCode::BAD_REQUEST,
            t!("Wrong code: check the email and type it again."),
        ),
        VerifyError::Expired => (
            StatusCode::BAD_REQUEST,
            t!("This code has expired: ask for a new one."),
        ),
        VerifyError::AlreadyUsed => (StatusCode::BAD_REQUEST, t!("This code was already used.")),
        VerifyError::TooManyAttempts(RetryAfter(wait)) => (
            StatusCode::TOO_MANY_REQUESTS,
            t!(
                "Too many attempts. Try again in {seconds} seconds.",
                seconds = wait.num_seconds().max(1)
            ),
        ),
        VerifyError::NotFound => (
            StatusCode::NOT_FOUND,
            t!("This email confirmation does not exist or is finished."),
        ),
    })
}

/// How pages name an OAuth client: its `client_name`, else its id.
pub fn client_display_name(client: &Client) -> String {
    client
        .client_name
        .clone()
        .unwrap_or_else(|| client.client_id())
}

/// The host of a URL to show people where they are sent; the scheme for
/// an app's custom URI scheme (`io.element.app:/callback`), which has none.
pub fn display_host(url: &str) -> String {
    Url::parse(url)
        .ok()
        .map(|u| {
            u.host_str()
                .map(str::to_owned)
                .unwrap_or_else(|| u.scheme().to_owned())
        })
        .unwrap_or_default()
}

/// Where to go after logging in: only a plain path on this site
/// ([`crate::urls::is_local_path`]), never another origin (no open
/// redirect); anything else goes to the account page.
pub fn safe_next(state: &AppState, next: Option<&str>) -> String {
    match next {
        Some(next) if crate::urls::is_local_path(next, state.urls.base_path()) => next.to_owned(),
        _ => state.urls.relative(paths::ACCOUNT),
    }
}
