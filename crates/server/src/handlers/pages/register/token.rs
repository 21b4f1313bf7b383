//! `GET|POST /register/steps/{id}/token`: the registration token (`token`)
//! while `account.password_registration_token_required` is on. The token
//! is checked here and counted as used when the user is created.

use axum::{
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::Response,
};
use mxauth_model::RegistrationStep;
use serde::Deserialize;

use super::{load, to_next_step, with_status};
use crate::{
    errors::PageError,
    extract::{cookie_with_csrf, CsrfForm, CsrfProtected},
    handlers::pages::render,
    ops::registration::{self, Progress, TokenError},
    state::AppState,
    templates::RegisterTokenContext,
    urls::paths,
};

#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    token: String,
}

impl CsrfProtected for TokenForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

fn page(
    state: &AppState,
    progress: &Progress,
    csrf: &str,
    error: Option<String>,
) -> RegisterTokenContext {
    let id = progress.registration.id.to_string();
    RegisterTokenContext {
        action: state
            .urls
            .relative(&paths::REGISTER_TOKEN.replace("{id}", &id)),
        csrf: csrf.to_owned(),
        error,
    }
}

pub async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let (cookie, csrf, set) = cookie_with_csrf(&state, &headers);
    let progress = match load(&state, &cookie, &id, RegistrationStep::Token).await? {
        Ok(progress) => progress,
        Err(elsewhere) => return Ok(elsewhere),
    };
    Ok(render(&state, &page(&state, &progress, &csrf, None), set))
}

pub async fn submit(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm { cookie, form }: CsrfForm<TokenForm>,
) -> Result<Response, PageError> {
    let progress = match load(&state, &cookie, &id, RegistrationStep::Token).await? {
        Ok(progress) => progress,
        Err(elsewhere) => return Ok(elsewhere),
    };
    match registration::set_token(&state, &progress.registration, &form.token).await {
        Ok(()) => {
            let mut progress = progress;
            // Only whether one is set matters to the next step.
            progress.registration.registration_token_id = Some(ulid::Ulid::nil());
            Ok(to_next_step(&state, &progress, None))
        }
        Err(TokenError::Storage(e)) => Err(e.into()),
        Err(e) => {
            let ctx = page(&state, &progress, &form.csrf, Some(e.message()));
            Ok(with_status(
                render(&state, &ctx, None),
                StatusCode::BAD_REQUEST,
            ))
        }
    }
}
