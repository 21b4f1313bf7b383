//! `GET|POST /register/steps/{id}/display-name`: the name others see
//! (`display_name`, `action=set`), or `action=skip`, which keeps the
//! username as the display name (what the homeserver would show anyway).

use axum::{
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::Response,
};
use mxauth_model::{
    user::{check_display_name, DISPLAY_NAME_MAX},
    RegistrationStep,
};
use serde::Deserialize;

use super::{load, to_next_step, with_status};
use crate::{
    errors::PageError,
    extract::{cookie_with_csrf, CsrfForm, CsrfProtected},
    handlers::pages::render,
    i18n::t,
    ops::registration::Progress,
    state::AppState,
    templates::RegisterDisplayNameContext,
    urls::paths,
};

#[derive(Deserialize)]
pub struct DisplayNameForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    action: String,
}

impl CsrfProtected for DisplayNameForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

fn page(
    state: &AppState,
    progress: &Progress,
    csrf: &str,
    typed: &str,
    error: Option<String>,
) -> RegisterDisplayNameContext {
    let id = progress.registration.id.to_string();
    RegisterDisplayNameContext {
        action: state
            .urls
            .relative(&paths::REGISTER_DISPLAY_NAME.replace("{id}", &id)),
        csrf: csrf.to_owned(),
        display_name: typed.to_owned(),
        max_length: DISPLAY_NAME_MAX,
        error,
    }
}

pub async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let (cookie, csrf, set) = cookie_with_csrf(&state, &headers);
    let progress = match load(&state, &cookie, &id, RegistrationStep::DisplayName).await? {
        Ok(progress) => progress,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let username = progress.registration.username.clone();
    Ok(render(
        &state,
        &page(&state, &progress, &csrf, &username, None),
        set,
    ))
}

pub async fn submit(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm { cookie, form }: CsrfForm<DisplayNameForm>,
) -> Result<Response, PageError> {
    let mut progress = match load(&state, &cookie, &id, RegistrationStep::DisplayName).await? {
        Ok(progress) => progress,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let typed = form.display_name.trim();
    let chosen = if form.action == "skip" || typed.is_empty() {
        progress.registration.username.clone()
    } else {
        typed.to_owned()
    };
    if check_display_name(&chosen).is_err() {
        let error = t!(
            "A display name has at most {max} characters, and no control characters.",
            max = DISPLAY_NAME_MAX
        );
        let ctx = page(&state, &progress, &form.csrf, typed, Some(error));
        return Ok(with_status(
            render(&state, &ctx, None),
            StatusCode::BAD_REQUEST,
        ));
    }
    let mut repo = state.db.begin().await?;
    repo.registrations()
        .set_display_name(progress.registration.id, &chosen)
        .await?;
    repo.commit().await?;
    progress.registration.display_name = Some(chosen);
    Ok(to_next_step(&state, &progress, None))
}
