//! `GET /admin/users/{id}`: one user as the console shows them: state,
//! email addresses, active sessions of every kind, upstream links,
//! personal access tokens (newest first), and the forms that change them
//! (handled in the `user_*.rs` files next to this one). The forms that
//! are refused show this page again, with what was typed and why
//! ([`Shown`]).

use std::collections::{hash_map::Entry, HashMap};

use axum::{
    extract::{Path, Query, State},
    http::{HeaderValue, StatusCode},
    response::Response,
};
use mxauth_model::User;
use mxauth_storage::{Pagination, PersonalSessionFilter, StorageError};
use serde::Deserialize;
use ulid::Ulid;

use super::{admin_of, log_in_first, nav, target, user_page_or_list, users::status_of};
use crate::{
    errors::PageError,
    extract::PageSession,
    handlers::pages::{
        account::{
            notice,
            sessions::{all_of, AnySession},
            shown_time,
        },
        client_display_name, render,
    },
    state::AppState,
    templates::{
        AdminLinkRow, AdminSection, AdminSessionRow, AdminTokenRow, AdminUserActions,
        AdminUserContext, AdminUserError, AdminUserNotice, AdminUserSummary, EmailEntry,
        IssuedToken, SessionKind,
    },
    upstream::Provider,
    urls::paths,
};

/// How many personal tokens the page lists (the admin API lists all).
const TOKENS_SHOWN: usize = 50;

/// The default scope of a new personal token: the Matrix client API.
pub(super) const DEFAULT_TOKEN_SCOPE: &str = "urn:matrix:client:api:*";

#[derive(Deserialize)]
pub struct ShowQuery {
    notice: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<ShowQuery>,
    page: PageSession,
) -> Result<Response, PageError> {
    let Some((_, admin)) = admin_of(&state, page.user)? else {
        return Ok(log_in_first(&state, &user_page_or_list(&state, &id)));
    };
    let user = target(&state, &id).await?;
    let shown = Shown {
        notice: notice(q.notice.as_deref()),
        ..Shown::default()
    };
    let ctx = context(&state, &admin, &page.csrf, &user, shown).await?;
    Ok(render(&state, &ctx, page.set_cookie))
}

/// What the page says besides the user: what succeeded, what a refused
/// form had and why, a token just issued.
pub(super) struct Shown {
    pub notice: Option<AdminUserNotice>,
    pub error: Option<AdminUserError>,
    pub email: String,
    pub token_name: String,
    pub token_scope: String,
    pub token_expires_in_days: String,
    pub issued: Option<IssuedToken>,
}

impl Default for Shown {
    fn default() -> Self {
        Self {
            notice: None,
            error: None,
            email: String::new(),
            token_name: String::new(),
            token_scope: DEFAULT_TOKEN_SCOPE.to_owned(),
            token_expires_in_days: String::new(),
            issued: None,
        }
    }
}

/// The page of `user` with `shown`, answered with `status`.
pub(super) async fn respond(
    state: &AppState,
    admin: &User,
    csrf: &str,
    user: &User,
    shown: Shown,
    status: StatusCode,
    set_cookie: Option<HeaderValue>,
) -> Result<Response, PageError> {
    let ctx = context(state, admin, csrf, user, shown).await?;
    let mut response = render(state, &ctx, set_cookie);
    *response.status_mut() = status;
    Ok(response)
}

async fn context(
    state: &AppState,
    admin: &User,
    csrf: &str,
    user: &User,
    shown: Shown,
) -> Result<AdminUserContext, StorageError> {
    let id = user.id.to_string();
    let action = |route: &str| state.urls.with_id(route, &id);
    let (tokens, more_tokens) = tokens(state, user).await?;
    Ok(AdminUserContext {
        nav: nav(state, admin, csrf, AdminSection::Users),
        csrf: csrf.to_owned(),
        user: AdminUserSummary {
            id: id.clone(),
            username: user.username.clone(),
            mxid: user.mxid(&state.site.server_name),
            status: status_of(user),
            admin: user.can_request_admin,
            created_at: shown_time(user.created_at),
            locked_at: user.locked_at.map(shown_time),
            deactivated_at: user.deactivated_at.map(shown_time),
            is_self: user.id == admin.id,
        },
        actions: AdminUserActions {
            lock: action(paths::ADMIN_USER_LOCK),
            unlock: action(paths::ADMIN_USER_UNLOCK),
            deactivate: action(paths::ADMIN_USER_DEACTIVATE),
            reactivate: action(paths::ADMIN_USER_REACTIVATE),
            password: action(paths::ADMIN_USER_PASSWORD),
            admin_rights: action(paths::ADMIN_USER_ADMIN_RIGHTS),
            email_add: action(paths::ADMIN_USER_EMAILS),
            email_remove: action(paths::ADMIN_USER_EMAIL_REMOVE),
            session_end: action(paths::ADMIN_USER_SESSION_END),
            sessions_end_all: action(paths::ADMIN_USER_SESSIONS_END_ALL),
            token_issue: action(paths::ADMIN_USER_TOKENS),
            token_revoke: action(paths::ADMIN_USER_TOKEN_REVOKE),
        },
        emails: emails(state, user).await?,
        sessions: sessions(state, user).await?,
        links: links(state, user).await?,
        tokens,
        more_tokens,
        passwords_enabled: state.passwords.is_some(),
        notice: shown.notice,
        error: shown.error,
        email: shown.email,
        token_name: shown.token_name,
        token_scope: shown.token_scope,
        token_expires_in_days: shown.token_expires_in_days,
        issued: shown.issued,
    })
}

async fn emails(state: &AppState, user: &User) -> Result<Vec<EmailEntry>, StorageError> {
    let mut repo = state.db.read().await?;
    let emails = repo.user_emails().list(user).await?;
    drop(repo);
    Ok(emails
        .into_iter()
        .map(|e| EmailEntry {
            id: e.id.to_string(),
            email: e.email,
        })
        .collect())
}

/// The active sessions, newest first; OAuth sessions named by their
/// client, as the person's own sessions page names them.
async fn sessions(state: &AppState, user: &User) -> Result<Vec<AdminSessionRow>, StorageError> {
    let sessions = all_of(state, user).await?;
    let mut clients: HashMap<Ulid, Option<String>> = HashMap::new();
    let mut repo = state.db.read().await?;
    for session in &sessions {
        if let AnySession::OAuth2(s) = session {
            if let Entry::Vacant(entry) = clients.entry(s.client_id) {
                let client = repo.oauth2_clients().find(s.client_id).await?;
                entry.insert(client.as_ref().map(client_display_name));
            }
        }
    }
    drop(repo);
    let mut rows: Vec<(chrono::DateTime<chrono::Utc>, AdminSessionRow)> = sessions
        .into_iter()
        .map(|session| {
            let id = session.id().to_string();
            match session {
                AnySession::Browser(s) => (
                    s.created_at,
                    AdminSessionRow {
                        id,
                        kind: SessionKind::Browser,
                        name: None,
                        device_id: None,
                        user_agent: s.user_agent,
                        created_at: shown_time(s.created_at),
                        last_active_at: s.last_active_at.map(shown_time),
                        last_active_ip: s.last_active_ip,
                    },
                ),
                AnySession::OAuth2(s) => (
                    s.created_at,
                    AdminSessionRow {
                        id,
                        kind: SessionKind::Oauth2,
                        device_id: s.scope.device_id().ok().flatten().map(str::to_owned),
                        name: s
                            .human_name
                            .or_else(|| clients.get(&s.client_id).cloned().flatten()),
                        user_agent: s.user_agent,
                        created_at: shown_time(s.created_at),
                        last_active_at: s.last_active_at.map(shown_time),
                        last_active_ip: s.last_active_ip,
                    },
                ),
                AnySession::Compat(s) => (
                    s.created_at,
                    AdminSessionRow {
                        id,
                        kind: SessionKind::Compat,
                        name: s.human_name,
                        device_id: s.device_id,
                        user_agent: s.user_agent,
                        created_at: shown_time(s.created_at),
                        last_active_at: s.last_active_at.map(shown_time),
                        last_active_ip: s.last_active_ip,
                    },
                ),
            }
        })
        .collect();
    rows.sort_by_key(|row| std::cmp::Reverse(row.0));
    Ok(rows.into_iter().map(|(_, row)| row).collect())
}

/// The user's accounts at upstream providers, each provider by the name
/// its buttons show (its id when its stored settings cannot be read).
async fn links(state: &AppState, user: &User) -> Result<Vec<AdminLinkRow>, StorageError> {
    let mut repo = state.db.read().await?;
    let links = repo.upstream_links().list_for_user(user.id).await?;
    let mut names: HashMap<Ulid, String> = HashMap::new();
    for link in &links {
        if let Entry::Vacant(entry) = names.entry(link.provider_id) {
            let stored = repo.upstream_providers().find(link.provider_id).await?;
            let name = stored
                .and_then(|p| Provider::from_stored(&p, &state.encrypter).ok())
                .map_or_else(|| link.provider_id.to_string(), |p| p.display_name());
            entry.insert(name);
        }
    }
    drop(repo);
    Ok(links
        .into_iter()
        .map(|link| AdminLinkRow {
            provider: names.get(&link.provider_id).cloned().unwrap_or_default(),
            subject: link.subject,
            account_name: link.human_account_name,
            created_at: shown_time(link.created_at),
        })
        .collect())
}

/// The newest personal sessions acting as the user, with the expiry of
/// each one's current token, and whether older ones exist.
async fn tokens(state: &AppState, user: &User) -> Result<(Vec<AdminTokenRow>, bool), StorageError> {
    let filter = PersonalSessionFilter {
        actor_user: Some(user.id),
        ..PersonalSessionFilter::default()
    };
    let newest = Pagination {
        after: None,
        before: None,
        limit: TOKENS_SHOWN,
        from_end: true,
    };
    let mut repo = state.db.read().await?;
    let page = repo.personal_sessions().page(&filter, newest).await?;
    let mut rows = Vec::with_capacity(page.items.len());
    for session in page.items.into_iter().rev() {
        let current = repo.personal_sessions().current_token(session.id).await?;
        rows.push(AdminTokenRow {
            id: session.id.to_string(),
            name: session.human_name,
            scope: session.scope.to_string(),
            created_at: shown_time(session.created_at),
            expires_at: current.and_then(|t| t.expires_at).map(shown_time),
            last_active_at: session.last_active_at.map(shown_time),
            revoked_at: session.revoked_at.map(shown_time),
        });
    }
    drop(repo);
    Ok((rows, page.has_more))
}
