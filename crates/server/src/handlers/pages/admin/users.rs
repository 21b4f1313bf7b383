//! `GET /admin`: the users whose username contains the searched text
//! (letter case ignored), a page at a time in the order they were created,
//! with a link to the next page. `POST /admin`: creates a user, after the
//! same username checks as the admin API (the rules, this server, and the
//! homeserver unless "do not ask the homeserver" is ticked), through
//! `ops::users::register`, then shows the new user's page.

use axum::{
    extract::{Query, State},
    response::Response,
};
use mxauth_model::User;
use mxauth_storage::{Pagination, StorageError, UserFilter};
use serde::Deserialize;
use ulid::Ulid;

use super::{
    admin_of, admin_posting, commit_audited, log_in_first, nav, refusals, see_other, user_page,
    Target, PAGE_SIZE,
};
use crate::{
    errors::PageError,
    extract::{CsrfForm, CsrfProtected, PageSession},
    handlers::pages::{account::shown_time, render},
    ops::{self, username::UsernameRefusal, users::NewUser},
    state::AppState,
    templates::{AdminSection, AdminUserRow, AdminUserStatus, AdminUsersContext},
    urls::paths,
};

/// A user's state, as the console names it.
pub(super) fn status_of(user: &User) -> AdminUserStatus {
    if user.deactivated_at.is_some() {
        AdminUserStatus::Deactivated
    } else if user.locked_at.is_some() {
        AdminUserStatus::Locked
    } else {
        AdminUserStatus::Active
    }
}

#[derive(Deserialize)]
pub struct ListQuery {
    search: Option<String>,
    /// The last user of the previous page.
    after: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
    page: PageSession,
) -> Result<Response, PageError> {
    let Some((_, admin)) = admin_of(&state, page.user)? else {
        return Ok(log_in_first(&state, &state.urls.relative(paths::ADMIN)));
    };
    let after = match q.after.as_deref() {
        None | Some("") => None,
        Some(after) => Some(
            after
                .parse::<Ulid>()
                .map_err(|_| refusals::bad_page_link())?,
        ),
    };
    let search = q.search.as_deref().unwrap_or_default().trim();
    let ctx = context(
        &state,
        &admin,
        &page.csrf,
        search,
        after,
        CreateForm::default(),
    )
    .await?;
    Ok(render(&state, &ctx, page.set_cookie))
}

/// The list page: users matching `search` after `after`, and the create
/// form as it was posted (empty at first).
async fn context(
    state: &AppState,
    admin: &User,
    csrf: &str,
    search: &str,
    after: Option<Ulid>,
    form: CreateForm,
) -> Result<AdminUsersContext, StorageError> {
    let filter = UserFilter {
        search: (!search.is_empty()).then(|| search.to_owned()),
        ..UserFilter::default()
    };
    let pagination = Pagination {
        after,
        before: None,
        limit: PAGE_SIZE,
        from_end: false,
    };
    let mut repo = state.db.read().await?;
    let found = repo.users().page(&filter, pagination).await?;
    drop(repo);
    let list = state.urls.relative(paths::ADMIN);
    // Built from our own values only: the search as typed, re-encoded.
    let link = |after: Option<Ulid>| {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if !search.is_empty() {
            query.append_pair("search", search);
        }
        if let Some(after) = after {
            query.append_pair("after", &after.to_string());
        }
        let query = query.finish();
        if query.is_empty() {
            list.clone()
        } else {
            format!("{list}?{query}")
        }
    };
    let next_page = match found.items.last() {
        Some(last) if found.has_more => Some(link(Some(last.id))),
        _ => None,
    };
    let users = found
        .items
        .iter()
        .map(|user| AdminUserRow {
            username: user.username.clone(),
            mxid: user.mxid(&state.site.server_name),
            href: user_page(state, user),
            status: status_of(user),
            admin: user.can_request_admin,
            created_at: shown_time(user.created_at),
        })
        .collect();
    Ok(AdminUsersContext {
        nav: nav(state, admin, csrf, AdminSection::Users),
        csrf: csrf.to_owned(),
        action: list.clone(),
        search: search.to_owned(),
        users,
        next_page,
        first_page: after.map(|_| link(None)),
        username: form.username,
        skip_homeserver_check: form.skip_homeserver_check.is_some(),
        create_error: None,
    })
}

#[derive(Default, Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    /// Ticked: only this server's rules and users are checked.
    skip_homeserver_check: Option<String>,
}

impl CsrfProtected for CreateForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

pub async fn create(
    State(state): State<AppState>,
    CsrfForm { cookie, mut form }: CsrfForm<CreateForm>,
) -> Result<Response, PageError> {
    let Some((_, admin)) = admin_posting(&state, &cookie).await? else {
        return Ok(log_in_first(&state, &state.urls.relative(paths::ADMIN)));
    };
    form.username = form.username.trim().to_owned();
    let username = form.username.clone();
    let checked =
        ops::username::check_for_admin(&state, &username, form.skip_homeserver_check.is_none())
            .await;
    let refusal = match checked {
        Ok(()) => {
            let mut repo = state.db.begin().await?;
            let new = NewUser {
                username: &username,
                ..NewUser::default()
            };
            match ops::users::register(&mut repo, (&state).into(), new).await {
                Ok(user) => {
                    commit_audited(repo, &state, &admin, "add_user", Target::user(&user)).await?;
                    let page = user_page(&state, &user);
                    return Ok(see_other(&page, "created"));
                }
                // Taken meanwhile (or in another letter case).
                Err(StorageError::Conflict(_)) => UsernameRefusal::Taken,
                Err(e) => return Err(e.into()),
            }
        }
        Err(UsernameRefusal::Storage(e)) => return Err(e.into()),
        Err(refusal) => refusal,
    };
    let status = refusal.status();
    let csrf = form.csrf.clone();
    let mut ctx = context(&state, &admin, &csrf, "", None, form).await?;
    ctx.create_error = Some(refusal.message());
    let mut response = render(&state, &ctx, None);
    *response.status_mut() = status;
    Ok(response)
}
