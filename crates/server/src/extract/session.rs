//! Who the browser is logged in as: [`current_user`] (an active browser
//! session of a valid user, from the cookie) and [`PageSession`], the
//! extractor of pages that show a form: the cookie with a CSRF token ensured
//! and the logged-in person, if any.

use axum::{
    extract::FromRequestParts,
    http::{request::Parts, HeaderMap, HeaderValue},
};
use mxauth_model::{browser_session::BrowserSession, tokens::generate_alphanumeric, User};
use mxauth_storage::StorageError;

use crate::{cookies::CookieData, errors::PageError, state::AppState};

/// The browser's cookie for a page with a form, and who is logged in.
pub struct PageSession {
    pub cookie: CookieData,
    /// The CSRF token the page's forms carry.
    pub csrf: String,
    /// `Set-Cookie` for the page's answer, when the token is new.
    pub set_cookie: Option<HeaderValue>,
    /// The active browser session and its user; `None` when logged out.
    pub user: Option<(BrowserSession, User)>,
}

impl FromRequestParts<AppState> for PageSession {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let (cookie, csrf, set_cookie) = cookie_with_csrf(state, &parts.headers);
        let user = current_user(state, &cookie).await?;
        if let Some((session, _)) = &user {
            let Ok(ip) = super::ClientIp::from_request_parts(parts, state).await;
            let now = state.clock.now();
            state
                .activity
                .record(mxauth_storage::SessionKind::Browser, session.id, now, ip.0);
        }
        Ok(Self {
            cookie,
            csrf,
            set_cookie,
            user,
        })
    }
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
) -> Result<Option<(BrowserSession, User)>, StorageError> {
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
