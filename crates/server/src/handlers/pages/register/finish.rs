//! `GET /register/steps/{id}/finish`: creates the user of a registration
//! whose steps are done (`ops::registration::finish`), signs them in, and
//! sends them to where the registration was asked from. A username taken
//! in the meantime, or a token used up in the meantime, is a page saying
//! so.

use axum::{
    extract::{Path, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use mxauth_model::RegistrationStep;

use super::load;
use crate::{
    errors::PageError,
    i18n::t,
    ops::{
        registration::{self, FinishError},
        username::UsernameRefusal,
    },
    state::AppState,
};

pub async fn finish(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let mut cookie = state.cookies.read(&headers);
    let progress = match load(&state, &cookie, &id, RegistrationStep::Finish).await? {
        Ok(progress) => progress,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let user_agent = crate::extract::user_agent(&headers);
    let (_, session) = match registration::finish(&state, &progress, user_agent).await {
        Ok(done) => done,
        Err(FinishError::Storage(e)) => return Err(e.into()),
        Err(FinishError::Username(UsernameRefusal::Storage(e))) => return Err(e.into()),
        Err(e) => {
            let status = match &e {
                FinishError::Username(refusal) => refusal.status(),
                FinishError::Expired => StatusCode::GONE,
                _ => StatusCode::CONFLICT,
            };
            return Err(PageError::new(
                status,
                t!("The account cannot be created"),
                t!("{why} Start the registration again.", why = e.message()),
            ));
        }
    };
    cookie.browser_session = Some(session.id);
    cookie
        .registrations
        .retain(|r| *r != progress.registration.id);
    let mut response = Redirect::to(&progress.registration.post_auth_next).into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, state.cookies.header(&cookie));
    Ok(response)
}
