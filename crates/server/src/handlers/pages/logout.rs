//! `POST /logout`: ends the browser session (CSRF-protected, so another site
//! cannot log people out).

use axum::{extract::State, http::header, response::Response};
use serde::Deserialize;

use super::render;
use crate::{
    errors::PageError,
    extract::{CsrfForm, CsrfProtected},
    state::AppState,
    templates::LoggedOutContext,
};

#[derive(Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

impl CsrfProtected for LogoutForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

pub async fn submit(
    State(state): State<AppState>,
    CsrfForm { mut cookie, .. }: CsrfForm<LogoutForm>,
) -> Result<Response, PageError> {
    if let Some(id) = cookie.browser_session.take() {
        let mut repo = state.db.begin().await?;
        crate::ops::sessions::end_browser(&mut repo, (&state).into(), id).await?;
        repo.commit().await?;
    }
    let mut response = render(&state, &LoggedOutContext {}, None);
    response
        .headers_mut()
        .append(header::SET_COOKIE, state.cookies.header(&cookie));
    Ok(response)
}
