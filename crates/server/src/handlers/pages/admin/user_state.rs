//! The forms of a user's page that change the account itself: lock and
//! unlock (`ops::users::lock`/`unlock`; unlocking leaves a deactivated
//! user deactivated), deactivate (`ops::users::deactivate`, erasing on the
//! homeserver when ticked) and reactivate (`ops::users::reactivate`: a
//! locked user stays locked, as with the admin API), allow or forbid
//! admin rights, and set a password (`passwords.minimum_complexity` unless
//! "skip the strength check" is ticked; hashed before the transaction
//! opens).
//!
//! Each queues the homeserver's job and records the audit event in the
//! transaction of its change, as the admin API does. Doing again what is
//! already done (locking a locked user) changes and records nothing and
//! says it is done.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::Response,
};
use serde::Deserialize;

use super::{
    admin_and_target, commit_audited, refusals, see_other,
    user::{respond, Shown},
    user_page, ButtonForm, Target,
};
use crate::{
    errors::PageError,
    extract::{CsrfForm, CsrfProtected},
    ops,
    state::AppState,
    templates::AdminUserError,
};

pub async fn lock(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm { cookie, .. }: CsrfForm<ButtonForm>,
) -> Result<Response, PageError> {
    let (_, admin, user) = match admin_and_target(&state, &cookie, &id).await? {
        Ok(found) => found,
        Err(log_in) => return Ok(log_in),
    };
    if user.id == admin.id {
        return Err(refusals::own_account());
    }
    let page = user_page(&state, &user);
    if user.locked_at.is_none() {
        let mut repo = state.db.begin().await?;
        let user = ops::users::lock(&mut repo, (&state).into(), user).await?;
        commit_audited(repo, &state, &admin, "lock_user", Target::user(&user)).await?;
    }
    Ok(see_other(&page, "locked"))
}

pub async fn unlock(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm { cookie, .. }: CsrfForm<ButtonForm>,
) -> Result<Response, PageError> {
    let (_, admin, user) = match admin_and_target(&state, &cookie, &id).await? {
        Ok(found) => found,
        Err(log_in) => return Ok(log_in),
    };
    let page = user_page(&state, &user);
    if user.locked_at.is_some() {
        let mut repo = state.db.begin().await?;
        let user = ops::users::unlock(&mut repo, (&state).into(), user, false).await?;
        commit_audited(repo, &state, &admin, "unlock_user", Target::user(&user)).await?;
    }
    Ok(see_other(&page, "unlocked"))
}

#[derive(Deserialize)]
pub struct DeactivateForm {
    #[serde(default)]
    csrf: String,
    /// Ticked: the homeserver erases the user's data too.
    erase: Option<String>,
}

impl CsrfProtected for DeactivateForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

pub async fn deactivate(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm { cookie, form }: CsrfForm<DeactivateForm>,
) -> Result<Response, PageError> {
    let (_, admin, user) = match admin_and_target(&state, &cookie, &id).await? {
        Ok(found) => found,
        Err(log_in) => return Ok(log_in),
    };
    if user.id == admin.id {
        return Err(refusals::own_account());
    }
    let page = user_page(&state, &user);
    if user.deactivated_at.is_none() {
        let erase = form.erase.is_some();
        let mut repo = state.db.begin().await?;
        let (user, _) = ops::users::deactivate(&mut repo, (&state).into(), user, erase).await?;
        commit_audited(repo, &state, &admin, "deactivate_user", Target::user(&user)).await?;
    }
    Ok(see_other(&page, "deactivated"))
}

pub async fn reactivate(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm { cookie, .. }: CsrfForm<ButtonForm>,
) -> Result<Response, PageError> {
    let (_, admin, user) = match admin_and_target(&state, &cookie, &id).await? {
        Ok(found) => found,
        Err(log_in) => return Ok(log_in),
    };
    let page = user_page(&state, &user);
    if user.deactivated_at.is_some() {
        let mut repo = state.db.begin().await?;
        let user = ops::users::reactivate(&mut repo, (&state).into(), user).await?;
        commit_audited(repo, &state, &admin, "reactivate_user", Target::user(&user)).await?;
    }
    Ok(see_other(&page, "reactivated"))
}

#[derive(Deserialize)]
pub struct AdminRightsForm {
    #[serde(default)]
    csrf: String,
    /// `allow` or `forbid`.
    #[serde(default)]
    admin: String,
}

impl CsrfProtected for AdminRightsForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

pub async fn admin_rights(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm { cookie, form }: CsrfForm<AdminRightsForm>,
) -> Result<Response, PageError> {
    let (_, admin, user) = match admin_and_target(&state, &cookie, &id).await? {
        Ok(found) => found,
        Err(log_in) => return Ok(log_in),
    };
    let allow = match form.admin.as_str() {
        "allow" => true,
        "forbid" => false,
        _ => return Err(refusals::bad_form("admin")),
    };
    if !allow && user.id == admin.id {
        return Err(refusals::own_account());
    }
    let page = user_page(&state, &user);
    let notice = if allow {
        "admin_allowed"
    } else {
        "admin_forbidden"
    };
    if user.can_request_admin != allow {
        let mut repo = state.db.begin().await?;
        let user = repo.users().set_can_request_admin(user, allow).await?;
        let action = if allow {
            "promote_admin"
        } else {
            "demote_admin"
        };
        commit_audited(repo, &state, &admin, action, Target::user(&user)).await?;
    }
    Ok(see_other(&page, notice))
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    password: String,
    /// Ticked: a password under `passwords.minimum_complexity` is fine.
    skip_password_check: Option<String>,
}

impl CsrfProtected for PasswordForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

pub async fn password(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm { cookie, form }: CsrfForm<PasswordForm>,
) -> Result<Response, PageError> {
    let (_, admin, user) = match admin_and_target(&state, &cookie, &id).await? {
        Ok(found) => found,
        Err(log_in) => return Ok(log_in),
    };
    let Some(passwords) = &state.passwords else {
        return Err(refusals::passwords_disabled());
    };
    let error = if form.password.is_empty() {
        Some(AdminUserError::PasswordEmpty)
    } else if form.skip_password_check.is_none()
        && !passwords.is_complex_enough(&form.password, &[&user.username])
    {
        Some(AdminUserError::PasswordTooWeak)
    } else {
        None
    };
    if let Some(error) = error {
        let shown = Shown {
            error: Some(error),
            ..Shown::default()
        };
        let status = StatusCode::BAD_REQUEST;
        return respond(&state, &admin, &form.csrf, &user, shown, status, None).await;
    }
    // Hashing is slow: before the transaction, never inside it.
    let hashed = passwords.hash(form.password).await?;
    let mut repo = state.db.begin().await?;
    ops::users::set_password(&mut repo, (&state).into(), &user, &hashed).await?;
    commit_audited(repo, &state, &admin, "set_password", Target::user(&user)).await?;
    let page = user_page(&state, &user);
    Ok(see_other(&page, "password_set"))
}
