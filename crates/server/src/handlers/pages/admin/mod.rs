//! The admin console at `/admin`: server-rendered pages, no JavaScript,
//! for a browser signed in as a user allowed to request admin rights
//! (`can_request_admin`, or `admin_users` of the policy data). The users
//! (`users.rs`: search, create), one user
//! (`user.rs`, with its forms in `user_state.rs`, `user_emails.rs`,
//! `user_sessions.rs`, `user_tokens.rs`) and the registration tokens
//! (`registration_tokens.rs`).
//!
//! Rules every page follows:
//! - Signed out: the login page, coming back here. Signed in as someone
//!   who may not request admin rights: the 403 page. Admin rights are read
//!   from the database on every request, so forbidding them takes effect at
//!   once.
//! - Every form posts with the CSRF token of the cookie ([`CsrfForm`]);
//!   a wrong or missing token is the "form has expired" page and changes
//!   nothing.
//! - Every change goes through `ops` or the storage accessors the admin
//!   API and `mxauth manage` use, so the three cannot drift, and is
//!   recorded in the admin audit trail in its own transaction, as the
//!   admin API records its changes ([`audit`], through `ops::audit`): who
//!   did what to which resource, stored and logged at INFO, the log line
//!   naming the target too (`console{target_name=bob}: … admin action
//!   admin=user alice action="lock_user" target_type="user" target=01H…`).
//! - An admin cannot lock or deactivate their own account, or forbid
//!   themself admin rights, here: the last admin would lock themself out.
//!
//! [`CsrfForm`]: crate::extract::CsrfForm

mod refusals;
mod registration_tokens;
#[cfg(test)]
mod tests;
mod user;
mod user_emails;
mod user_sessions;
mod user_state;
mod user_tokens;
mod users;

use axum::{
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
    Router,
};
use mxauth_model::{browser_session::BrowserSession, User};
use mxauth_storage::{Repository, StorageError};
use tracing::Instrument;
use ulid::Ulid;

/// A form that is only a button: its CSRF token is all it carries.
use super::account::ButtonForm;
use crate::{
    cookies::CookieData,
    errors::PageError,
    extract::current_user,
    ops,
    state::AppState,
    templates::{AdminNav, AdminSection},
    urls::paths,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::ADMIN, get(users::list).post(users::create))
        .route(paths::ADMIN_USER, get(user::show))
        .route(paths::ADMIN_USER_LOCK, post(user_state::lock))
        .route(paths::ADMIN_USER_UNLOCK, post(user_state::unlock))
        .route(paths::ADMIN_USER_DEACTIVATE, post(user_state::deactivate))
        .route(paths::ADMIN_USER_REACTIVATE, post(user_state::reactivate))
        .route(
            paths::ADMIN_USER_ADMIN_RIGHTS,
            post(user_state::admin_rights),
        )
        .route(paths::ADMIN_USER_PASSWORD, post(user_state::password))
        .route(paths::ADMIN_USER_EMAILS, post(user_emails::add))
        .route(paths::ADMIN_USER_EMAIL_REMOVE, post(user_emails::remove))
        .route(paths::ADMIN_USER_SESSION_END, post(user_sessions::end))
        .route(
            paths::ADMIN_USER_SESSIONS_END_ALL,
            post(user_sessions::end_all),
        )
        .route(paths::ADMIN_USER_TOKENS, post(user_tokens::issue))
        .route(paths::ADMIN_USER_TOKEN_REVOKE, post(user_tokens::revoke))
        .route(
            paths::ADMIN_REGISTRATION_TOKENS,
            get(registration_tokens::list).post(registration_tokens::issue),
        )
        .route(
            paths::ADMIN_REGISTRATION_TOKEN_REVOKE,
            post(registration_tokens::revoke),
        )
        .route(
            paths::ADMIN_REGISTRATION_TOKEN_UNREVOKE,
            post(registration_tokens::unrevoke),
        )
}

/// How many rows a list shows at once.
const PAGE_SIZE: usize = 50;

/// The signed-in browser's session and user, if that user may request
/// admin rights; `Ok(None)` when no one is signed in (the caller sends the
/// browser to log in); the 403 page for anyone else.
fn admin_of(
    state: &AppState,
    signed_in: Option<(BrowserSession, User)>,
) -> Result<Option<(BrowserSession, User)>, PageError> {
    match signed_in {
        None => Ok(None),
        Some((_, user)) if !state.policy.current().may_request_admin(&user) => {
            Err(refusals::not_an_admin())
        }
        Some(found) => Ok(Some(found)),
    }
}

/// [`admin_of`] for a posted form: the admin behind the cookie.
async fn admin_posting(
    state: &AppState,
    cookie: &CookieData,
) -> Result<Option<(BrowserSession, User)>, PageError> {
    admin_of(state, current_user(state, cookie).await?)
}

/// What a form about one user needs: the admin's session, the admin, the
/// user; or the answer to send instead (the login page, coming back to
/// the user's page).
async fn admin_and_target(
    state: &AppState,
    cookie: &CookieData,
    id: &str,
) -> Result<Result<(BrowserSession, User, User), Response>, PageError> {
    let Some((session, admin)) = admin_posting(state, cookie).await? else {
        return Ok(Err(log_in_first(state, &user_page_or_list(state, id))));
    };
    let user = target(state, id).await?;
    Ok(Ok((session, admin, user)))
}

/// The user of a console path's `{id}`: the 404 page for anything that
/// names no user.
async fn target(state: &AppState, id: &str) -> Result<User, PageError> {
    let id: Ulid = id.parse().map_err(|_| refusals::user_not_found())?;
    let mut repo = state.db.read().await?;
    let user = repo.users().find_by_id(id).await?;
    drop(repo);
    user.ok_or_else(refusals::user_not_found)
}

/// The page of user `id` when it is an id, else the list: where to come
/// back to after logging in (never a path built from arbitrary text).
fn user_page_or_list(state: &AppState, id: &str) -> String {
    match id.parse::<Ulid>() {
        Ok(id) => state.urls.with_id(paths::ADMIN_USER, &id.to_string()),
        Err(_) => state.urls.relative(paths::ADMIN),
    }
}

/// The login page, coming back to `next` (a relative path of ours).
fn log_in_first(state: &AppState, next: &str) -> Response {
    Redirect::to(&state.urls.login_redirect(next, None, false)).into_response()
}

/// A redirect to `target` (a relative path of ours) after a form, with
/// what succeeded.
fn see_other(target: &str, notice: &str) -> Response {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("notice", notice)
        .finish();
    Redirect::to(&format!("{target}?{query}")).into_response()
}

/// The navigation of the console's pages for `admin`.
fn nav(state: &AppState, admin: &User, csrf: &str, current: AdminSection) -> AdminNav {
    let urls = &state.urls;
    AdminNav {
        mxid: admin.mxid(&state.site.server_name),
        current,
        users: urls.relative(paths::ADMIN),
        registration_tokens: urls.relative(paths::ADMIN_REGISTRATION_TOKENS),
        account: urls.relative(paths::ACCOUNT),
        logout_action: urls.relative(paths::LOGOUT),
        csrf: csrf.to_owned(),
    }
}

/// What an action was done to: its resource type (the admin API's
/// names), its id, and its name for people (a username, a token's text).
struct Target<'a> {
    kind: &'static str,
    id: Ulid,
    name: &'a str,
}

impl<'a> Target<'a> {
    fn user(user: &'a User) -> Self {
        Self {
            kind: "user",
            id: user.id,
            name: &user.username,
        }
    }
}

/// Records that `admin` did `action` to `target` in the audit trail, in
/// `repo`'s transaction (call it before committing): stored, and logged at
/// INFO inside a `console` span that names the target.
/// Records `action` in `repo`'s transaction and commits it: a change and
/// its audit event land together or not at all.
async fn commit_audited(
    mut repo: Repository,
    state: &AppState,
    admin: &User,
    action: &str,
    target: Target<'_>,
) -> Result<(), StorageError> {
    audit(&mut repo, state, admin, action, target).await?;
    repo.commit().await
}

/// The console page of `user`.
fn user_page(state: &AppState, user: &User) -> String {
    state.urls.with_id(paths::ADMIN_USER, &user.id.to_string())
}

async fn audit(
    repo: &mut Repository,
    state: &AppState,
    admin: &User,
    action: &str,
    target: Target<'_>,
) -> Result<(), StorageError> {
    let actor = format!("user {}", admin.username);
    let id = target.id.to_string();
    let span = tracing::info_span!("console", target_name = %target.name);
    ops::audit::record(repo, state.into(), &actor, action, target.kind, &id)
        .instrument(span)
        .await
}
