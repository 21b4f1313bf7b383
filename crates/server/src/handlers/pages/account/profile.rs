//! `GET /account/`: the profile (Matrix ID, display name, email addresses),
//! or, with a client's `action`, the page it asks for. `POST /account/`
//! changes the display name on the homeserver; `POST /account/emails`
//! removes an email address.
//!
//! The display name lives on the homeserver, not here: the page asks the
//! homeserver for it and sets it there directly. No transaction is open
//! while the homeserver is asked, and nothing is written here.

use axum::{
    extract::{Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use mxauth_model::User;
use serde::Deserialize;
use ulid::Ulid;

use super::{
    actions::Action, log_in_first, nav, notice, on_homeserver, refusals, see_other, sessions,
};
use crate::{
    errors::PageError,
    extract::{current_user, CsrfForm, CsrfProtected, PageSession},
    handlers::pages::render,
    homeserver::HomeserverError,
    ops,
    state::AppState,
    templates::{AccountContext, AccountSection, EmailEntry, ProfileError},
    urls::paths,
};

use mxauth_model::user::DISPLAY_NAME_MAX;

#[derive(Deserialize)]
pub struct AccountQuery {
    action: Option<String>,
    device_id: Option<String>,
    notice: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    Query(q): Query<AccountQuery>,
    page: PageSession,
) -> Result<Response, PageError> {
    let Some((_, user)) = &page.user else {
        let mut query = Vec::new();
        if let Some(action) = &q.action {
            query.push(("action", action.as_str()));
        }
        if let Some(device) = &q.device_id {
            query.push(("device_id", device.as_str()));
        }
        return Ok(log_in_first(&state, paths::ACCOUNT, &query));
    };
    let to = |path: &str| Ok(Redirect::to(&state.urls.relative(path)).into_response());
    match Action::parse(q.action.as_deref()) {
        Action::Profile => {}
        Action::SessionsList => return to(paths::ACCOUNT_SESSIONS),
        Action::Deactivate => return to(paths::ACCOUNT_DEACTIVATE),
        Action::CrossSigningReset => return to(paths::ACCOUNT_CROSS_SIGNING_RESET),
        action @ (Action::SessionView | Action::SessionEnd) => {
            let Some(device) = q.device_id.as_deref() else {
                return to(paths::ACCOUNT_SESSIONS);
            };
            let id = sessions::of_device(&state, user, device)
                .await?
                .ok_or_else(|| refusals::device_not_found(device))?;
            let mut target = state.urls.account_session(&id.to_string());
            if action == Action::SessionEnd {
                target.push_str("?confirm=end");
            }
            return Ok(Redirect::to(&target).into_response());
        }
    }
    let ctx = context(&state, user, &page.csrf, None).await?;
    let ctx = AccountContext {
        notice: notice(q.notice.as_deref()),
        ..ctx
    };
    Ok(render(&state, &ctx, page.set_cookie))
}

/// The profile page of `user`, with `error` about the display name form.
async fn context(
    state: &AppState,
    user: &User,
    csrf: &str,
    error: Option<ProfileError>,
) -> Result<AccountContext, PageError> {
    let account = &state.site.account;
    let mut repo = state.db.read().await?;
    let emails = repo.user_emails().list(user).await?;
    drop(repo);
    let profile = state.homeserver.query_user(&user.username).await;
    if let Err(e) = &profile {
        tracing::warn!(error = %e, user = %user.username, "cannot read the display name from the homeserver");
    }
    let urls = &state.urls;
    Ok(AccountContext {
        nav: nav(state, user, csrf, AccountSection::Profile),
        csrf: csrf.to_owned(),
        display_name_known: profile.is_ok(),
        display_name: profile.ok().flatten().and_then(|u| u.display_name),
        display_name_action: account
            .displayname_change_allowed
            .then(|| urls.relative(paths::ACCOUNT)),
        display_name_max: DISPLAY_NAME_MAX,
        emails: emails
            .into_iter()
            .map(|e| EmailEntry {
                id: e.id.to_string(),
                email: e.email,
            })
            .collect(),
        email_remove_action: account
            .email_change_allowed
            .then(|| urls.relative(paths::ACCOUNT_EMAILS)),
        // Adding is proven by a mailed code (email_add.rs).
        email_add_action: account
            .email_change_allowed
            .then(|| urls.relative(paths::ACCOUNT_EMAIL_ADD)),
        notice: None,
        error,
    })
}

#[derive(Deserialize)]
pub struct DisplayNameForm {
    #[serde(default)]
    csrf: String,
    /// Missing only when the form is not ours; empty removes the name.
    display_name: Option<String>,
}

impl CsrfProtected for DisplayNameForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

pub async fn submit(
    State(state): State<AppState>,
    CsrfForm { cookie, form }: CsrfForm<DisplayNameForm>,
) -> Result<Response, PageError> {
    let Some((_, user)) = current_user(&state, &cookie).await? else {
        return Ok(log_in_first(&state, paths::ACCOUNT, &[]));
    };
    if !state.site.account.displayname_change_allowed {
        return Err(refusals::display_name_change_disabled());
    }
    let name = form
        .display_name
        .ok_or_else(|| refusals::incomplete_form("display_name"))?;
    let name = name.trim();
    if name.chars().count() > DISPLAY_NAME_MAX {
        // The form's token matched the cookie's: the page shows it again.
        let error = Some(ProfileError::DisplayNameTooLong);
        let ctx = context(&state, &user, &form.csrf, error).await?;
        let mut response = render(&state, &ctx, None);
        *response.status_mut() = StatusCode::BAD_REQUEST;
        return Ok(response);
    }
    set_display_name(&state, &user, name)
        .await
        .map_err(|e| refusals::homeserver_failed(&e))?;
    tracing::info!(user = %user.username, "display name changed");
    let notice = if name.is_empty() {
        "display_name_removed"
    } else {
        "display_name_saved"
    };
    Ok(see_other(&state, paths::ACCOUNT, notice))
}

/// Sets (or, when empty, removes) the name on the homeserver.
async fn set_display_name(
    state: &AppState,
    user: &User,
    name: &str,
) -> Result<(), HomeserverError> {
    let hs = state.homeserver.as_ref();
    on_homeserver(state, user, || async {
        if name.is_empty() {
            hs.unset_display_name(&user.username).await
        } else {
            hs.set_display_name(&user.username, name).await
        }
    })
    .await
}

#[derive(Deserialize)]
pub struct RemoveEmailForm {
    #[serde(default)]
    csrf: String,
    email_id: Option<String>,
}

impl CsrfProtected for RemoveEmailForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

pub async fn remove_email(
    State(state): State<AppState>,
    CsrfForm { cookie, form }: CsrfForm<RemoveEmailForm>,
) -> Result<Response, PageError> {
    let Some((_, user)) = current_user(&state, &cookie).await? else {
        return Ok(log_in_first(&state, paths::ACCOUNT, &[]));
    };
    if !state.site.account.email_change_allowed {
        return Err(refusals::email_change_disabled());
    }
    let id = form
        .email_id
        .ok_or_else(|| refusals::incomplete_form("email_id"))?;
    // Not an id at all, or not one of this user's: the same answer.
    let id = id
        .parse::<Ulid>()
        .map_err(|_| refusals::email_not_found())?;
    let mut repo = state.db.begin().await?;
    if !ops::users::remove_email(&mut repo, (&state).into(), &user, id).await? {
        repo.rollback().await?;
        return Err(refusals::email_not_found());
    }
    repo.commit().await?;
    tracing::info!(user = %user.username, "email address removed");
    Ok(see_other(&state, paths::ACCOUNT, "email_removed"))
}
