//! The personal access token forms of a user's page: issue one
//! (`ops::personal_tokens::issue`, owned by the signed-in admin, acting as
//! the user) and show its `mpt_…` text on the answer page, once: only its
//! digest is stored, and the answer is not cached (`render`'s headers).
//! Revoke one (`repo.personal_sessions().revoke`): it stops working at
//! once on mxauth; the homeserver may keep a cached answer for a short
//! while (Synapse: two minutes).

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::Response,
};
use mxauth_model::{PersonalOwner, Scope};
use serde::Deserialize;
use ulid::Ulid;

use super::{
    admin_and_target, audit, commit_audited, refusals, see_other,
    user::{respond, Shown},
    user_page, Target,
};
use crate::{
    errors::PageError,
    extract::{CsrfForm, CsrfProtected},
    ops::personal_tokens::{self, PersonalError},
    state::AppState,
    templates::{AdminUserError, IssuedToken},
};

/// The longest expiry the form accepts, in days (a hundred years, as the
/// admin API's `expires_in`).
const MAX_DAYS: u64 = 36_500;

#[derive(Deserialize)]
pub struct IssueForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    scope: String,
    /// Whole days; empty: the token does not expire.
    #[serde(default)]
    expires_in_days: String,
}

impl CsrfProtected for IssueForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// Seconds from the form's days; `Err` for anything but empty or a whole
/// number of days from 1 to [`MAX_DAYS`].
fn expires_in(days: &str) -> Result<Option<u64>, AdminUserError> {
    let days = days.trim();
    if days.is_empty() {
        return Ok(None);
    }
    match days.parse::<u64>() {
        Ok(n) if (1..=MAX_DAYS).contains(&n) => Ok(Some(n * 24 * 3600)),
        _ => Err(AdminUserError::TokenExpiry),
    }
}

fn refusal(e: PersonalError) -> Result<AdminUserError, PageError> {
    Ok(match e {
        PersonalError::BadName => AdminUserError::TokenName,
        PersonalError::EmptyScope => AdminUserError::TokenScope,
        PersonalError::DeviceScope => AdminUserError::TokenDeviceScope,
        PersonalError::AdminScope => AdminUserError::TokenAdminScope,
        PersonalError::InactiveUser => AdminUserError::TokenInactiveUser,
        PersonalError::BadExpiry => AdminUserError::TokenExpiry,
        PersonalError::Storage(e) => return Err(e.into()),
    })
}

pub async fn issue(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm { cookie, form }: CsrfForm<IssueForm>,
) -> Result<Response, PageError> {
    let (_, admin, user) = match admin_and_target(&state, &cookie, &id).await? {
        Ok(found) => found,
        Err(log_in) => return Ok(log_in),
    };
    let refuse = |error| Shown {
        error: Some(error),
        token_name: form.name.clone(),
        token_scope: form.scope.clone(),
        token_expires_in_days: form.expires_in_days.clone(),
        ..Shown::default()
    };
    let checked = form
        .scope
        .trim()
        .parse::<Scope>()
        .map_err(|_| AdminUserError::TokenScope)
        .and_then(|scope| Ok((scope, expires_in(&form.expires_in_days)?)));
    let (scope, expires_in) = match checked {
        Ok(checked) => checked,
        Err(error) => {
            let (shown, status) = (refuse(error), StatusCode::BAD_REQUEST);
            return respond(&state, &admin, &form.csrf, &user, shown, status, None).await;
        }
    };
    let owner = PersonalOwner::User(admin.id);
    let mut repo = state.db.begin().await?;
    let issued = personal_tokens::issue(
        &mut repo,
        (&state).into(),
        &state.policy.current(),
        owner,
        &user,
        &form.name,
        scope,
        expires_in,
    )
    .await;
    let issued = match issued {
        Ok(issued) => issued,
        Err(e) => {
            repo.rollback().await?;
            let (shown, status) = (refuse(refusal(e)?), StatusCode::BAD_REQUEST);
            return respond(&state, &admin, &form.csrf, &user, shown, status, None).await;
        }
    };
    let target = Target {
        kind: "personal-session",
        id: issued.session.id,
        name: &user.username,
    };
    commit_audited(repo, &state, &admin, "issue_personal_token", target).await?;
    // The answer itself shows the token: a redirect would have to carry it.
    let shown = Shown {
        issued: Some(IssuedToken {
            name: issued.session.human_name,
            token: issued.text,
        }),
        ..Shown::default()
    };
    let ok = StatusCode::OK;
    respond(&state, &admin, &form.csrf, &user, shown, ok, None).await
}

#[derive(Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    csrf: String,
    token_id: Option<String>,
}

impl CsrfProtected for RevokeForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

pub async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm { cookie, form }: CsrfForm<RevokeForm>,
) -> Result<Response, PageError> {
    let (_, admin, user) = match admin_and_target(&state, &cookie, &id).await? {
        Ok(found) => found,
        Err(log_in) => return Ok(log_in),
    };
    let token_id = form
        .token_id
        .ok_or_else(|| refusals::bad_form("token_id"))?;
    // Not an id, or not a token acting as this user: the same answer.
    let token_id: Ulid = token_id
        .parse()
        .map_err(|_| refusals::personal_token_not_found())?;
    let mut repo = state.db.begin().await?;
    let session = repo.personal_sessions().find(token_id).await?;
    if session.is_none_or(|s| s.actor_user_id != user.id) {
        repo.rollback().await?;
        return Err(refusals::personal_token_not_found());
    }
    let revoked = repo
        .personal_sessions()
        .revoke(token_id, state.clock.now())
        .await?;
    if revoked {
        let target = Target {
            kind: "personal-session",
            id: token_id,
            name: &user.username,
        };
        audit(&mut repo, &state, &admin, "revoke_personal_token", target).await?;
    }
    repo.commit().await?;
    let page = user_page(&state, &user);
    Ok(see_other(&page, "token_revoked"))
}
