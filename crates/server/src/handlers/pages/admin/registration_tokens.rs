//! `GET /admin/registration-tokens`: the registration tokens, newest
//! first, a page at a time (`repo.registration_tokens().page`).
//! `POST` there issues one (`ops::registration::issue_token`, as the CLI
//! and the admin API do): its text (random when empty), a usage limit and
//! an expiry in days, each optional. `POST …/{id}/revoke` and
//! `…/{id}/unrevoke` stop and restart one.

use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::Response,
};
use chrono::{DateTime, Utc};
use mxauth_model::{RegistrationToken, TokenUnusable, User};
use mxauth_storage::{Pagination, StorageError, TokenFilter};
use serde::Deserialize;
use ulid::Ulid;

use super::{
    admin_of, admin_posting, audit, log_in_first, nav, refusals, see_other, ButtonForm, Target,
    PAGE_SIZE,
};
use crate::{
    errors::PageError,
    extract::{CsrfForm, CsrfProtected, PageSession},
    handlers::pages::{
        account::{notice, shown_time},
        render,
    },
    ops::registration::{issue_token, IssueTokenError},
    state::AppState,
    templates::{
        AdminRegistrationTokenRow, AdminRegistrationTokensContext, AdminSection,
        RegistrationTokenError, RegistrationTokenState,
    },
    urls::paths,
};

/// The longest expiry the form accepts, in days.
const MAX_DAYS: u64 = 36_500;

/// The admin API's name of the resource, for the audit trail.
const TOKEN_TYPE: &str = "user-registration_token";

#[derive(Deserialize)]
pub struct ListQuery {
    notice: Option<String>,
    /// The oldest token of the newer page.
    before: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
    page: PageSession,
) -> Result<Response, PageError> {
    let list = state.urls.relative(paths::ADMIN_REGISTRATION_TOKENS);
    let Some((_, admin)) = admin_of(&state, page.user)? else {
        return Ok(log_in_first(&state, &list));
    };
    let before = match q.before.as_deref() {
        None | Some("") => None,
        Some(before) => Some(
            before
                .parse::<Ulid>()
                .map_err(|_| refusals::bad_page_link())?,
        ),
    };
    let mut ctx = context(&state, &admin, &page.csrf, before, IssueForm::default()).await?;
    ctx.notice = notice(q.notice.as_deref());
    Ok(render(&state, &ctx, page.set_cookie))
}

fn state_of(token: &RegistrationToken, now: DateTime<Utc>) -> RegistrationTokenState {
    match token.check_usable(now) {
        Ok(()) => RegistrationTokenState::Valid,
        Err(TokenUnusable::Revoked) => RegistrationTokenState::Revoked,
        Err(TokenUnusable::Expired) => RegistrationTokenState::Expired,
        Err(TokenUnusable::UsedUp) => RegistrationTokenState::UsedUp,
    }
}

async fn context(
    state: &AppState,
    admin: &User,
    csrf: &str,
    before: Option<Ulid>,
    form: IssueForm,
) -> Result<AdminRegistrationTokensContext, StorageError> {
    let now = state.clock.now();
    let filter = TokenFilter {
        now,
        ..TokenFilter::default()
    };
    let newest = Pagination {
        after: None,
        before,
        limit: PAGE_SIZE,
        from_end: true,
    };
    let mut repo = state.db.read().await?;
    let found = repo.registration_tokens().page(&filter, newest).await?;
    drop(repo);
    let list = state.urls.relative(paths::ADMIN_REGISTRATION_TOKENS);
    // The page is in id order: its first token is the oldest shown.
    let older_page = match found.items.first() {
        Some(oldest) if found.has_more => Some(format!("{list}?before={}", oldest.id)),
        _ => None,
    };
    let tokens = found
        .items
        .into_iter()
        .rev()
        .map(|token| {
            let id = token.id.to_string();
            let revoked = token.revoked_at.is_some();
            AdminRegistrationTokenRow {
                state: state_of(&token, now),
                revoke_action: (!revoked).then(|| {
                    state
                        .urls
                        .with_id(paths::ADMIN_REGISTRATION_TOKEN_REVOKE, &id)
                }),
                unrevoke_action: revoked.then(|| {
                    state
                        .urls
                        .with_id(paths::ADMIN_REGISTRATION_TOKEN_UNREVOKE, &id)
                }),
                id,
                token: token.token,
                times_used: token.times_used,
                usage_limit: token.usage_limit,
                created_at: shown_time(token.created_at),
                expires_at: token.expires_at.map(shown_time),
                last_used_at: token.last_used_at.map(shown_time),
            }
        })
        .collect();
    Ok(AdminRegistrationTokensContext {
        nav: nav(state, admin, csrf, AdminSection::RegistrationTokens),
        csrf: csrf.to_owned(),
        tokens,
        older_page,
        first_page: before.map(|_| list.clone()),
        issue_action: list,
        token_text: form.token,
        usage_limit: form.usage_limit,
        expires_in_days: form.expires_in_days,
        notice: None,
        error: None,
    })
}

#[derive(Default, Deserialize)]
pub struct IssueForm {
    #[serde(default)]
    csrf: String,
    /// Empty: a random token.
    #[serde(default)]
    token: String,
    /// Empty: no limit.
    #[serde(default)]
    usage_limit: String,
    /// Whole days; empty: no expiry.
    #[serde(default)]
    expires_in_days: String,
}

impl CsrfProtected for IssueForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// A whole number in `range` from an optional form field.
fn optional_number(text: &str, range: std::ops::RangeInclusive<u64>) -> Result<Option<u64>, ()> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    match text.parse::<u64>() {
        Ok(n) if range.contains(&n) => Ok(Some(n)),
        _ => Err(()),
    }
}

pub async fn issue(
    State(state): State<AppState>,
    CsrfForm { cookie, form }: CsrfForm<IssueForm>,
) -> Result<Response, PageError> {
    let list = state.urls.relative(paths::ADMIN_REGISTRATION_TOKENS);
    let Some((_, admin)) = admin_posting(&state, &cookie).await? else {
        return Ok(log_in_first(&state, &list));
    };
    match create(&state, &admin, &form).await? {
        Ok(()) => Ok(see_other(&list, "issued")),
        Err((error, status)) => {
            let csrf = form.csrf.clone();
            let mut ctx = context(&state, &admin, &csrf, None, form).await?;
            ctx.error = Some(error);
            let mut response = render(&state, &ctx, None);
            *response.status_mut() = status;
            Ok(response)
        }
    }
}

/// Why the form issued no token, and the status of the page that says so.
type Refused = (RegistrationTokenError, StatusCode);

/// Issues the token `form` asks for (recorded in the audit trail as done
/// by `admin`), or says why not.
async fn create(
    state: &AppState,
    admin: &User,
    form: &IssueForm,
) -> Result<Result<(), Refused>, PageError> {
    let bad = StatusCode::BAD_REQUEST;
    let Ok(limit) = optional_number(&form.usage_limit, 1..=u64::MAX) else {
        return Ok(Err((RegistrationTokenError::BadLimit, bad)));
    };
    let Ok(days) = optional_number(&form.expires_in_days, 1..=MAX_DAYS) else {
        return Ok(Err((RegistrationTokenError::BadExpiry, bad)));
    };
    let text = form.token.trim();
    let text = (!text.is_empty()).then_some(text);
    let expires_in = days.map(|d| d * 24 * 3600);
    let mut repo = state.db.begin().await?;
    let refused = match issue_token(&mut repo, state.into(), text, limit, expires_in).await {
        Ok(issued) => {
            let target = Target {
                kind: TOKEN_TYPE,
                id: issued.id,
                name: &issued.token,
            };
            audit(&mut repo, state, admin, "add_registration_token", target).await?;
            repo.commit().await?;
            return Ok(Ok(()));
        }
        Err(IssueTokenError::Invalid) => (RegistrationTokenError::InvalidText, bad),
        Err(IssueTokenError::Exists) => (RegistrationTokenError::Exists, StatusCode::CONFLICT),
        Err(IssueTokenError::Storage(e)) => return Err(e.into()),
    };
    repo.rollback().await?;
    Ok(Err(refused))
}

/// The registration token of a path's `{id}`: the 404 page for anything
/// that names none.
async fn find(state: &AppState, id: &str) -> Result<RegistrationToken, PageError> {
    let id: Ulid = id
        .parse()
        .map_err(|_| refusals::registration_token_not_found())?;
    let mut repo = state.db.read().await?;
    let token = repo.registration_tokens().find(id).await?;
    drop(repo);
    token.ok_or_else(refusals::registration_token_not_found)
}

pub async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm { cookie, .. }: CsrfForm<ButtonForm>,
) -> Result<Response, PageError> {
    change(&state, &cookie, &id, true).await
}

pub async fn unrevoke(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm { cookie, .. }: CsrfForm<ButtonForm>,
) -> Result<Response, PageError> {
    change(&state, &cookie, &id, false).await
}

/// Revokes (or, with `revoke` false, restarts) the token `id`; doing it
/// again changes and logs nothing.
async fn change(
    state: &AppState,
    cookie: &crate::cookies::CookieData,
    id: &str,
    revoke: bool,
) -> Result<Response, PageError> {
    let list = state.urls.relative(paths::ADMIN_REGISTRATION_TOKENS);
    let Some((_, admin)) = admin_posting(state, cookie).await? else {
        return Ok(log_in_first(state, &list));
    };
    let token = find(state, id).await?;
    let mut repo = state.db.begin().await?;
    let changed = if revoke {
        let now = state.clock.now();
        repo.registration_tokens().revoke(token.id, now).await?
    } else {
        repo.registration_tokens().unrevoke(token.id).await?
    };
    let (action, notice) = if revoke {
        ("revoke_registration_token", "revoked")
    } else {
        ("unrevoke_registration_token", "unrevoked")
    };
    if changed {
        let target = Target {
            kind: TOKEN_TYPE,
            id: token.id,
            name: &token.token,
        };
        audit(&mut repo, state, &admin, action, target).await?;
    }
    repo.commit().await?;
    Ok(see_other(&list, notice))
}
