//! `GET|POST /recover/progress/{id}`: "check your email", and a button to
//! send the link again (limited per address). The page shows the address
//! that was typed and nothing about whether an account has it.

use axum::{
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::Response,
};
use mxauth_model::RecoverySession;
use serde::Deserialize;
use ulid::Ulid;

use super::recovery_on;
use crate::{
    errors::PageError,
    extract::{cookie_with_csrf, CsrfForm, CsrfProtected},
    handlers::pages::render,
    i18n::t,
    ops::recovery::{self, RecoveryStartError},
    state::AppState,
    templates::RecoverProgressContext,
    urls::paths,
};

#[derive(Deserialize)]
pub struct ResendForm {
    #[serde(default)]
    csrf: String,
}

impl CsrfProtected for ResendForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

async fn session(state: &AppState, id: &str) -> Result<RecoverySession, PageError> {
    recovery_on(state)?;
    let not_found = || {
        PageError::new(
            StatusCode::NOT_FOUND,
            t!("Not found"),
            t!("This password recovery does not exist. Start again."),
        )
    };
    let id: Ulid = id.parse().map_err(|_| not_found())?;
    let mut repo = state.db.read().await?;
    let found = repo.recovery().find_session(id).await?;
    found.ok_or_else(not_found)
}

fn page(
    state: &AppState,
    session: &RecoverySession,
    csrf: &str,
    error: Option<String>,
    notice: Option<String>,
) -> RecoverProgressContext {
    let action = paths::RECOVER_PROGRESS.replace("{id}", &session.id.to_string());
    RecoverProgressContext {
        action: state.urls.relative(&action),
        csrf: csrf.to_owned(),
        email: session.email.clone(),
        error,
        notice,
        login_href: state.urls.relative(paths::LOGIN),
    }
}

pub async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let session = session(&state, &id).await?;
    let (_, csrf, set) = cookie_with_csrf(&state, &headers);
    Ok(render(
        &state,
        &page(&state, &session, &csrf, None, None),
        set,
    ))
}

pub async fn resend(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm { form, .. }: CsrfForm<ResendForm>,
) -> Result<Response, PageError> {
    let session = session(&state, &id).await?;
    let (status, error, notice) = match recovery::resend(&state, &session).await {
        Ok(()) => (StatusCode::OK, None, Some(t!("We sent the link again."))),
        Err(RecoveryStartError::Storage(e)) => return Err(e.into()),
        Err(e) => (StatusCode::TOO_MANY_REQUESTS, Some(e.message()), None),
    };
    let mut response = render(
        &state,
        &page(&state, &session, &form.csrf, error, notice),
        None,
    );
    *response.status_mut() = status;
    Ok(response)
}
