//! Resource `human`: server-rendered pages (login, consent, logout) and
//! what they share: rendering, the browser cookie, the logged-in user.
//! Every page sets `X-Frame-Options: DENY` (clickjacking) and every form
//! carries the CSRF token of the cookie.

pub mod account;
pub mod compat_sso;
pub mod consent;
pub mod login;
pub mod logout;

use axum::{
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{Html, IntoResponse, Response},
    routing::get,
    Router,
};
use mxauth_model::{
    browser_session::BrowserSession, oauth2::Client, tokens::generate_alphanumeric, User,
};
use url::Url;

use crate::{
    cookies::CookieData,
    handlers::unavailable,
    state::AppState,
    templates::{ErrorContext, TemplateContext},
    urls::paths,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::LOGIN, get(login::show).post(login::submit))
        .route(paths::LOGOUT, axum::routing::post(logout::submit))
        .route(paths::CONSENT, get(consent::show).post(consent::submit))
        .route(paths::ACCOUNT, get(account::show))
        .route(paths::ACCOUNT_NO_SLASH, get(account::redirect_to_slash))
        .route(
            paths::COMPLETE_COMPAT_SSO,
            get(compat_sso::show).post(compat_sso::submit),
        )
}

/// Renders the page of `ctx`, 200, no framing, no caching.
pub fn render(
    state: &AppState,
    ctx: &impl TemplateContext,
    cookie: Option<HeaderValue>,
) -> Response {
    let html = match state.templates.render(ctx) {
        Ok(html) => html,
        Err(e) => return internal_error(state, &e),
    };
    let mut response = (StatusCode::OK, Html(html)).into_response();
    secure_headers(response.headers_mut());
    if let Some(cookie) = cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

pub fn secure_headers(headers: &mut HeaderMap) {
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("frame-ancestors 'none'"),
    );
}

/// An HTML error page with `status`.
pub fn error_page(state: &AppState, status: u16, title: &str, message: &str) -> Response {
    let mut response = render(state, &ErrorContext::new(title, message), None);
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    response
}

/// The answer to a form whose CSRF token does not match (expired, or not
/// from our page).
pub fn expired_form_page(state: &AppState) -> Response {
    error_page(
        state,
        403,
        "This form has expired",
        "Go back, reload the page and try again (the form's CSRF token did not match).",
    )
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

/// Logs an internal failure once, with its cause, and shows a page that
/// says only that something failed on our side; a 503 page with
/// `Retry-After` when the cause is the database being unavailable.
pub fn internal_error(state: &AppState, cause: &(dyn std::error::Error + 'static)) -> Response {
    let (status, title, message) = if unavailable::is_unavailable(cause) {
        unavailable::log(cause);
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "Temporarily unavailable",
            "The service cannot reach its database right now. Please try again in a few seconds.",
        )
    } else {
        tracing::error!(error = %cause, "internal error while rendering a page");
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong",
            "The server could not complete this request. Please try again later.",
        )
    };
    let html = state
        .templates
        .render(&ErrorContext::new(title, message))
        .unwrap_or_default();
    let mut response = (status, Html(html)).into_response();
    secure_headers(response.headers_mut());
    if status == StatusCode::SERVICE_UNAVAILABLE {
        unavailable::set_retry_after(response.headers_mut());
    }
    response
}

/// The cookie of a request, with a CSRF token ensured; the `Set-Cookie`
/// header is returned when the cookie changed.
pub fn cookie_with_csrf(
    state: &AppState,
    headers: &HeaderMap,
) -> (CookieData, String, Option<HeaderValue>) {
    let mut cookie = state.cookies.read(headers);
    let (csrf, changed) = cookie.ensure_csrf(state.clock.now(), || {
        generate_alphanumeric(&mut state.random.rng(), 32)
    });
    let set = changed.then(|| state.cookies.header(&cookie));
    (cookie, csrf, set)
}

/// The logged-in person: an active browser session of a valid user.
pub async fn current_user(
    state: &AppState,
    cookie: &CookieData,
) -> Result<Option<(BrowserSession, User)>, mxauth_storage::StorageError> {
    let Some(session_id) = cookie.browser_session else {
        return Ok(None);
    };
    let mut repo = state.db.read().await?;
    let session = repo.browser_sessions().find(session_id).await?;
    let result = match session.filter(BrowserSession::is_active) {
        Some(session) => repo
            .users()
            .find_by_id(session.user_id)
            .await?
            .filter(User::is_valid)
            .map(|user| (session, user)),
        None => None,
    };
    drop(repo);
    Ok(result)
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
