//! `GET|POST /account/sessions`: every session of the person (browsers on
//! these pages, OAuth applications, legacy logins), and "sign out of all
//! other sessions". `GET|POST /account/sessions/{id}`: one session, and the
//! button that ends it.
//!
//! Ending an OAuth or compat session goes through `ops::sessions`: its
//! tokens stop working at once (introspection checks the session) and the
//! device sync job removes its device from the homeserver, which drops the
//! token from its cache. A session that is not the person's, has ended or
//! does not exist is the same 404, so ids of others are never confirmed.

use std::collections::{hash_map::Entry, HashMap};

use axum::{
    extract::{Path, Query, State},
    http::header,
    response::Response,
};
use mxauth_model::{browser_session::BrowserSession, compat::CompatSession, oauth2::Session, User};
use mxauth_storage::StorageError;
use serde::Deserialize;
use ulid::Ulid;

use super::{log_in_first, nav, notice, refusals, see_other, shown_time, ButtonForm};
use crate::{
    errors::PageError,
    extract::{current_user, CsrfForm, PageSession},
    handlers::pages::{client_display_name, render},
    ops,
    state::AppState,
    templates::{
        AccountSection, LoggedOutContext, SessionContext, SessionKind, SessionSummary,
        SessionsContext,
    },
    urls::paths,
};

/// A session of the person, of any kind (the admin console lists them
/// too).
pub(crate) enum AnySession {
    Browser(BrowserSession),
    OAuth2(Session),
    Compat(CompatSession),
}

impl AnySession {
    pub(crate) fn id(&self) -> Ulid {
        match self {
            Self::Browser(s) => s.id,
            Self::OAuth2(s) => s.id,
            Self::Compat(s) => s.id,
        }
    }
}

/// Every active session of `user`.
pub(crate) async fn all_of(state: &AppState, user: &User) -> Result<Vec<AnySession>, StorageError> {
    let mut repo = state.db.read().await?;
    let browsers = repo.browser_sessions().active_of_user(user.id).await?;
    let oauth2 = repo.oauth2_sessions().active_of_user(user.id).await?;
    let compat = repo.compat_sessions().active(user, None).await?;
    drop(repo);
    let browsers = browsers.into_iter().map(AnySession::Browser);
    let oauth2 = oauth2.into_iter().map(AnySession::OAuth2);
    let compat = compat.into_iter().map(AnySession::Compat);
    Ok(browsers.chain(oauth2).chain(compat).collect())
}

/// The active session `id` of `user`, whatever its kind; `None` for
/// another person's, an ended one or none.
pub(crate) async fn find(
    state: &AppState,
    user: &User,
    id: Ulid,
) -> Result<Option<AnySession>, StorageError> {
    let mut repo = state.db.read().await?;
    let found = if let Some(s) = repo.browser_sessions().find(id).await? {
        (s.user_id == user.id && s.is_active()).then_some(AnySession::Browser(s))
    } else if let Some(s) = repo.oauth2_sessions().find(id).await? {
        (s.user_id == Some(user.id) && s.is_active()).then_some(AnySession::OAuth2(s))
    } else if let Some(s) = repo.compat_sessions().find(id).await? {
        (s.user_id == user.id && s.is_active()).then_some(AnySession::Compat(s))
    } else {
        None
    };
    drop(repo);
    Ok(found)
}

/// The active session of `user` whose Matrix device is `device_id`, for a
/// client's `org.matrix.session_view` / `session_end`.
pub async fn of_device(
    state: &AppState,
    user: &User,
    device_id: &str,
) -> Result<Option<Ulid>, StorageError> {
    let mut repo = state.db.read().await?;
    let compat = repo.compat_sessions().active(user, Some(device_id)).await?;
    if let Some(session) = compat.first() {
        return Ok(Some(session.id));
    }
    let oauth2 = repo.oauth2_sessions().active_of_user(user.id).await?;
    drop(repo);
    Ok(oauth2
        .into_iter()
        .find(|s| s.scope.device_id().ok().flatten() == Some(device_id))
        .map(|s| s.id))
}

/// What the pages show of `sessions`: the current browser first, then the
/// newest first. OAuth sessions are named by their client.
async fn summaries(
    state: &AppState,
    sessions: Vec<AnySession>,
    current: Ulid,
) -> Result<Vec<SessionSummary>, StorageError> {
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
    let mut out: Vec<(bool, chrono::DateTime<chrono::Utc>, SessionSummary)> = sessions
        .into_iter()
        .map(|session| {
            let created = match &session {
                AnySession::Browser(s) => s.created_at,
                AnySession::OAuth2(s) => s.created_at,
                AnySession::Compat(s) => s.created_at,
            };
            let summary = summary(state, session, current, &clients);
            (summary.current, created, summary)
        })
        .collect();
    out.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)));
    Ok(out.into_iter().map(|(_, _, s)| s).collect())
}

fn summary(
    state: &AppState,
    session: AnySession,
    current: Ulid,
    clients: &HashMap<Ulid, Option<String>>,
) -> SessionSummary {
    let id = session.id();
    let base = SessionSummary {
        id: id.to_string(),
        kind: SessionKind::Browser,
        name: None,
        device_id: None,
        user_agent: None,
        created_at: String::new(),
        last_active_at: None,
        last_active_ip: None,
        current: id == current,
        href: state.urls.account_session(&id.to_string()),
    };
    match session {
        AnySession::Browser(s) => SessionSummary {
            user_agent: s.user_agent,
            created_at: shown_time(s.created_at),
            last_active_at: s.last_active_at.map(shown_time),
            last_active_ip: s.last_active_ip,
            ..base
        },
        AnySession::OAuth2(s) => SessionSummary {
            kind: SessionKind::Oauth2,
            device_id: s.scope.device_id().ok().flatten().map(str::to_owned),
            name: s
                .human_name
                .or_else(|| clients.get(&s.client_id).cloned().flatten()),
            user_agent: s.user_agent,
            created_at: shown_time(s.created_at),
            last_active_at: s.last_active_at.map(shown_time),
            last_active_ip: s.last_active_ip,
            ..base
        },
        AnySession::Compat(s) => SessionSummary {
            kind: SessionKind::Compat,
            device_id: s.device_id,
            name: s.human_name,
            user_agent: s.user_agent,
            created_at: shown_time(s.created_at),
            last_active_at: s.last_active_at.map(shown_time),
            last_active_ip: s.last_active_ip,
            ..base
        },
    }
}

#[derive(Deserialize)]
pub struct ListQuery {
    notice: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
    page: PageSession,
) -> Result<Response, PageError> {
    let Some((current, user)) = &page.user else {
        return Ok(log_in_first(&state, paths::ACCOUNT_SESSIONS, &[]));
    };
    let sessions = summaries(&state, all_of(&state, user).await?, current.id).await?;
    let ctx = SessionsContext {
        nav: nav(&state, user, &page.csrf, AccountSection::Sessions),
        csrf: page.csrf.clone(),
        others: sessions.iter().filter(|s| !s.current).count(),
        sessions,
        end_others_action: state.urls.relative(paths::ACCOUNT_SESSIONS),
        notice: notice(q.notice.as_deref()),
    };
    Ok(render(&state, &ctx, page.set_cookie))
}

/// "Sign out of all other sessions": everything but this browser.
pub async fn end_others(
    State(state): State<AppState>,
    CsrfForm { cookie, .. }: CsrfForm<ButtonForm>,
) -> Result<Response, PageError> {
    let Some((current, user)) = current_user(&state, &cookie).await? else {
        return Ok(log_in_first(&state, paths::ACCOUNT_SESSIONS, &[]));
    };
    let mut repo = state.db.begin().await?;
    let ended =
        ops::sessions::end_all_of_user(&mut repo, (&state).into(), &user, Some(current.id)).await?;
    repo.commit().await?;
    let ended = ended.total();
    tracing::info!(user = %user.username, ended, "signed out of every other session");
    Ok(see_other(&state, paths::ACCOUNT_SESSIONS, "others_ended"))
}

#[derive(Deserialize)]
pub struct SessionQuery {
    /// `end`: opened to end the session; the page asks to confirm.
    confirm: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<SessionQuery>,
    page: PageSession,
) -> Result<Response, PageError> {
    let Some((current, user)) = &page.user else {
        let here = paths::ACCOUNT_SESSION.replace("{id}", &id);
        return Ok(log_in_first(&state, &here, &[]));
    };
    let id = id.parse().map_err(|_| refusals::session_not_found())?;
    let session = find(&state, user, id)
        .await?
        .ok_or_else(refusals::session_not_found)?;
    let mut summary = summaries(&state, vec![session], current.id).await?;
    let session = summary.pop().ok_or_else(refusals::session_not_found)?;
    let ctx = SessionContext {
        nav: nav(&state, user, &page.csrf, AccountSection::Sessions),
        csrf: page.csrf.clone(),
        end_action: session.href.clone(),
        session,
        confirm_end: q.confirm.as_deref() == Some("end"),
    };
    Ok(render(&state, &ctx, page.set_cookie))
}

pub async fn end(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm { mut cookie, .. }: CsrfForm<ButtonForm>,
) -> Result<Response, PageError> {
    let Some((current, user)) = current_user(&state, &cookie).await? else {
        return Ok(log_in_first(&state, paths::ACCOUNT_SESSIONS, &[]));
    };
    let id = id.parse().map_err(|_| refusals::session_not_found())?;
    let session = find(&state, &user, id)
        .await?
        .ok_or_else(refusals::session_not_found)?;
    let ctx = (&state).into();
    let mut repo = state.db.begin().await?;
    match &session {
        AnySession::Browser(s) => ops::sessions::end_browser(&mut repo, ctx, s.id).await?,
        AnySession::OAuth2(s) => ops::sessions::end_oauth2(&mut repo, ctx, s).await?,
        AnySession::Compat(s) => ops::sessions::end_compat(&mut repo, ctx, s).await?,
    }
    repo.commit().await?;
    tracing::info!(user = %user.username, session = %id, "session ended on the account page");
    if id != current.id {
        return Ok(see_other(&state, paths::ACCOUNT_SESSIONS, "session_ended"));
    }
    // This browser's own session: signed out, as the logout button does.
    cookie.browser_session = None;
    let mut response = render(&state, &LoggedOutContext {}, None);
    response
        .headers_mut()
        .append(header::SET_COOKIE, state.cookies.header(&cookie));
    Ok(response)
}
