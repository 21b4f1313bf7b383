//! `GET|POST /recover`: the address (`email`) to send a recovery link to.
//! Any plausible address leads to the same "check your email" page.

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use super::recovery_on;
use crate::{
    errors::PageError,
    extract::{cookie_with_csrf, ClientIp, CsrfForm, CsrfProtected},
    handlers::pages::render,
    i18n,
    ops::recovery::{self, RecoveryStartError},
    state::AppState,
    templates::RecoverContext,
    urls::paths,
};

#[derive(Deserialize)]
pub struct RecoverForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
}

impl CsrfProtected for RecoverForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

fn page(state: &AppState, csrf: &str, email: &str, error: Option<String>) -> RecoverContext {
    RecoverContext {
        action: state.urls.relative(paths::RECOVER),
        csrf: csrf.to_owned(),
        email: email.to_owned(),
        error,
        login_href: state.urls.relative(paths::LOGIN),
    }
}

pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    recovery_on(&state)?;
    let (_, csrf, set) = cookie_with_csrf(&state, &headers);
    Ok(render(&state, &page(&state, &csrf, "", None), set))
}

pub async fn submit(
    State(state): State<AppState>,
    ip: ClientIp,
    headers: HeaderMap,
    CsrfForm { form, .. }: CsrfForm<RecoverForm>,
) -> Result<Response, PageError> {
    recovery_on(&state)?;
    let user_agent = crate::extract::user_agent(&headers);
    let email = form.email.trim();
    let language = i18n::current();
    match recovery::start(&state, &ip, user_agent, email, language.tag()).await {
        Ok(session) => {
            let to = paths::RECOVER_PROGRESS.replace("{id}", &session.id.to_string());
            Ok(Redirect::to(&state.urls.relative(&to)).into_response())
        }
        Err(RecoveryStartError::Storage(e)) => Err(e.into()),
        Err(e) => {
            let status = match e {
                RecoveryStartError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
                _ => StatusCode::BAD_REQUEST,
            };
            let mut response = render(
                &state,
                &page(&state, &form.csrf, email, Some(e.message())),
                None,
            );
            *response.status_mut() = status;
            Ok(response)
        }
    }
}
