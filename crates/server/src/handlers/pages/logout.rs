//! `POST /logout`: ends the browser session (CSRF-protected, so another site
//! cannot log people out).

use axum::{
    extract::State,
    http::{header, HeaderMap},
    response::Response,
    Form,
};
use serde::Deserialize;

use super::{expired_form_page, internal_error, render};
use crate::{state::AppState, templates::LoggedOutContext};

#[derive(Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(input): Form<LogoutForm>,
) -> Response {
    let now = state.clock.now();
    let mut cookie = state.cookies.read(&headers);
    if !cookie.check_csrf(&input.csrf, now) {
        return expired_form_page(&state);
    }
    if let Some(id) = cookie.browser_session.take() {
        let result = async {
            let mut repo = state.db.begin().await?;
            crate::ops::sessions::end_browser(&mut repo, (&state).into(), id).await?;
            repo.commit().await
        }
        .await;
        if let Err(e) = result {
            return internal_error(&state, &e);
        }
    }
    let mut response = render(&state, &LoggedOutContext {}, None);
    response
        .headers_mut()
        .append(header::SET_COOKIE, state.cookies.header(&cookie));
    response
}
