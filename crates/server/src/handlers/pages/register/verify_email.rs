//! `GET|POST /register/steps/{id}/verify-email`: the 6-digit code mailed
//! to the form's address (`code`), or `action=resend` for another one.
//! When mail is broken, the code is in the server's log at WARN.

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
    handlers::pages::{code_refusal, render},
    i18n::{self, t},
    ops::{
        email_codes::{EmailCodes, StartError},
        registration::Progress,
    },
    rate_limit::RetryAfter,
    state::AppState,
    templates::RegisterVerifyEmailContext,
    urls::paths,
};

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    action: String,
}

impl CsrfProtected for CodeForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

fn page(
    state: &AppState,
    progress: &Progress,
    csrf: &str,
    error: Option<String>,
    notice: Option<String>,
) -> RegisterVerifyEmailContext {
    let id = progress.registration.id.to_string();
    RegisterVerifyEmailContext {
        action: state
            .urls
            .relative(&paths::REGISTER_VERIFY_EMAIL.replace("{id}", &id)),
        csrf: csrf.to_owned(),
        email: progress
            .email
            .as_ref()
            .map(|a| a.email.clone())
            .unwrap_or_default(),
        error,
        notice,
    }
}

pub async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let (cookie, csrf, set) = cookie_with_csrf(&state, &headers);
    let progress = match load(&state, &cookie, &id, RegistrationStep::VerifyEmail).await? {
        Ok(progress) => progress,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let ctx = page(&state, &progress, &csrf, None, None);
    Ok(render(&state, &ctx, set))
}

pub async fn submit(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm { cookie, form }: CsrfForm<CodeForm>,
) -> Result<Response, PageError> {
    let progress = match load(&state, &cookie, &id, RegistrationStep::VerifyEmail).await? {
        Ok(progress) => progress,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let Some(authentication_id) = progress.registration.email_authentication_id else {
        return Ok(to_next_step(&state, &progress, None));
    };
    let codes = EmailCodes::from(&state);
    let mut repo = state.db.begin().await?;
    if form.action == "resend" {
        let language = i18n::current();
        let outcome = codes
            .resend(&mut repo, authentication_id, language.tag())
            .await;
        let (status, error, notice) = match outcome {
            Ok(()) => {
                repo.commit().await?;
                (StatusCode::OK, None, Some(t!("We sent another code.")))
            }
            Err(StartError::Storage(e)) => return Err(e.into()),
            Err(e) => (
                StatusCode::TOO_MANY_REQUESTS,
                Some(resend_refusal(&e)),
                None,
            ),
        };
        let ctx = page(&state, &progress, &form.csrf, error, notice);
        return Ok(with_status(render(&state, &ctx, None), status));
    }
    let (status, why) = match codes.verify(&mut repo, authentication_id, &form.code).await {
        Ok(authentication) => {
            repo.commit().await?;
            let progress = Progress {
                email: Some(authentication),
                ..progress
            };
            return Ok(to_next_step(&state, &progress, None));
        }
        Err(e) => code_refusal(e)?,
    };
    drop(repo);
    let ctx = page(&state, &progress, &form.csrf, Some(why), None);
    Ok(with_status(render(&state, &ctx, None), status))
}

/// Why no new code was sent.
fn resend_refusal(e: &StartError) -> String {
    match e {
        StartError::RateLimited(RetryAfter(wait)) => t!(
            "No new code now: too many were sent. Try again in {seconds} seconds.",
            seconds = wait.num_seconds().max(1)
        ),
        _ => t!("No new code now: this confirmation is finished. Start again."),
    }
}
