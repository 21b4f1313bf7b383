//! The email forms of a user's page: add an address as confirmed (the
//! admin vouches for it; no code is sent) through `ops::users::add_email`,
//! and remove one through `ops::users::remove_email`. Both queue the
//! provisioning job that gives the homeserver the new list, and record
//! the change on the user in the audit trail, as the admin API does.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::Response,
};
use mxauth_model::is_plausible_email;
use mxauth_storage::StorageError;
use serde::Deserialize;
use ulid::Ulid;

use super::{
    admin_and_target, commit_audited, refusals, see_other,
    user::{respond, Shown},
    user_page, Target,
};
use crate::{
    errors::PageError,
    extract::{CsrfForm, CsrfProtected},
    ops,
    state::AppState,
    templates::AdminUserError,
};

#[derive(Deserialize)]
pub struct AddForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
}

impl CsrfProtected for AddForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

pub async fn add(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm { cookie, form }: CsrfForm<AddForm>,
) -> Result<Response, PageError> {
    let (_, admin, user) = match admin_and_target(&state, &cookie, &id).await? {
        Ok(found) => found,
        Err(log_in) => return Ok(log_in),
    };
    let email = form.email.trim();
    let refuse = |error| Shown {
        error: Some(error),
        email: email.to_owned(),
        ..Shown::default()
    };
    if !is_plausible_email(email) {
        let shown = refuse(AdminUserError::EmailInvalid);
        let status = StatusCode::BAD_REQUEST;
        return respond(&state, &admin, &form.csrf, &user, shown, status, None).await;
    }
    let mut repo = state.db.begin().await?;
    let added = match ops::users::add_email(&mut repo, (&state).into(), &user, email).await {
        Ok(added) => added,
        // The same address in another letter case.
        Err(StorageError::Conflict(_)) => false,
        Err(e) => return Err(e.into()),
    };
    if !added {
        repo.rollback().await?;
        let shown = refuse(AdminUserError::EmailExists);
        let status = StatusCode::CONFLICT;
        return respond(&state, &admin, &form.csrf, &user, shown, status, None).await;
    }
    commit_audited(repo, &state, &admin, "add_email", Target::user(&user)).await?;
    let page = user_page(&state, &user);
    Ok(see_other(&page, "email_added"))
}

#[derive(Deserialize)]
pub struct RemoveForm {
    #[serde(default)]
    csrf: String,
    email_id: Option<String>,
}

impl CsrfProtected for RemoveForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

pub async fn remove(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm { cookie, form }: CsrfForm<RemoveForm>,
) -> Result<Response, PageError> {
    let (_, admin, user) = match admin_and_target(&state, &cookie, &id).await? {
        Ok(found) => found,
        Err(log_in) => return Ok(log_in),
    };
    let email_id = form
        .email_id
        .ok_or_else(|| refusals::bad_form("email_id"))?;
    // Not an id, or not one of this user's addresses: the same answer.
    let email_id: Ulid = email_id.parse().map_err(|_| refusals::email_not_found())?;
    let mut repo = state.db.begin().await?;
    if !ops::users::remove_email(&mut repo, (&state).into(), &user, email_id).await? {
        repo.rollback().await?;
        return Err(refusals::email_not_found());
    }
    commit_audited(repo, &state, &admin, "remove_email", Target::user(&user)).await?;
    let page = user_page(&state, &user);
    Ok(see_other(&page, "email_removed"))
}
