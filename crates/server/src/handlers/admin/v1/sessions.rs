//! The three kinds of sessions of the admin API, MAS's resources:
//! `/user-sessions` (browsers), `/oauth2-sessions` (OAuth clients),
//! `/compat-sessions` (the legacy login API). Each lists (filters `user`,
//! `status` = `active`|`finished`, and `client` / `user-session` where
//! they apply), gets one, and finishes one through `ops::sessions` (an
//! OAuth or compat session's device leaves the homeserver by the device
//! sync job). The three share the code below through [`Kind`].

use axum::{
    extract::{Path, Query, State},
    Json,
};
use chrono::{DateTime, Utc};
use mxauth_model::{browser_session::BrowserSession, compat::CompatSession, oauth2::Session};
use mxauth_storage::{Page, Pagination, ReadHandle, Repository, SessionFilter, StorageError};
use serde::{Deserialize, Serialize};
use ulid::Ulid;
use utoipa::{IntoParams, ToSchema};

use super::{
    auth::AdminCaller,
    error::{parse_id, ApiError, ErrorBody},
    response::{self, List, PageParams, Resource, Single},
};
use crate::{
    ops::{self, Context},
    state::AppState,
};

/// What the shared handlers need of one kind of session.
trait Kind: Resource + Sized {
    type Model;
    const NAME: &'static str;
    fn show(model: Self::Model) -> Self;
    fn is_finished(model: &Self::Model) -> bool;
    async fn page(
        repo: &mut ReadHandle,
        filter: &SessionFilter,
        pagination: Pagination,
    ) -> Result<Page<Self::Model>, StorageError>;
    async fn count(repo: &mut ReadHandle, filter: &SessionFilter) -> Result<u64, StorageError>;
    async fn find(repo: &mut ReadHandle, id: Ulid) -> Result<Option<Self::Model>, StorageError>;
    async fn finish(
        repo: &mut Repository,
        ctx: Context<'_>,
        model: &Self::Model,
    ) -> Result<(), StorageError>;
}

/// The filters of the three lists (each ignores what does not apply).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SessionFilterParams {
    /// Only this user's sessions.
    #[serde(rename = "filter[user]")]
    #[param(rename = "filter[user]")]
    pub user: Option<String>,
    /// `active` or `finished`.
    #[serde(rename = "filter[status]")]
    #[param(rename = "filter[status]")]
    pub status: Option<String>,
    /// OAuth sessions: only this client's.
    #[serde(rename = "filter[client]")]
    #[param(rename = "filter[client]")]
    pub client: Option<String>,
    /// OAuth and compat sessions: only those started from this browser
    /// session.
    #[serde(rename = "filter[user-session]")]
    #[param(rename = "filter[user-session]")]
    pub user_session: Option<String>,
}

impl SessionFilterParams {
    fn filter(&self) -> Result<SessionFilter, ApiError> {
        let id = |v: &Option<String>| v.as_deref().map(parse_id).transpose();
        let active = match self.status.as_deref() {
            None => None,
            Some("active") => Some(true),
            Some("finished") => Some(false),
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "filter[status] must be active or finished, not {other:?}"
                )))
            }
        };
        Ok(SessionFilter {
            user: id(&self.user)?,
            active,
            client: id(&self.client)?,
            browser_session: id(&self.user_session)?,
        })
    }

    fn query(&self) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("filter[user]", &self.user),
            ("filter[status]", &self.status),
            ("filter[client]", &self.client),
            ("filter[user-session]", &self.user_session),
        ] {
            if let Some(v) = value {
                q.append_pair(name, v);
            }
        }
        q.finish()
    }
}

async fn list_of<K: Kind>(
    state: &AppState,
    filters: &SessionFilterParams,
    page: &PageParams,
) -> Result<Json<List<K>>, ApiError> {
    let filter = filters.filter()?;
    let query = filters.query();
    response::list_of(
        state,
        page,
        &query,
        async |repo| K::count(repo, &filter).await,
        async |repo, p| K::page(repo, &filter, p).await,
        K::show,
    )
    .await
}

async fn find_of<K: Kind>(state: &AppState, id: &str) -> Result<K::Model, ApiError> {
    let id = parse_id(id)?;
    let mut repo = state.db.read().await?;
    K::find(&mut repo, id)
        .await?
        .ok_or_else(|| ApiError::not_found(K::NAME, id))
}

async fn finish_of<K: Kind>(
    caller: &AdminCaller,
    state: &AppState,
    id: &str,
) -> Result<Json<Single<K>>, ApiError> {
    let model = find_of::<K>(state, id).await?;
    if K::is_finished(&model) {
        return Err(ApiError::bad_request(format!(
            "this {} is already finished",
            K::NAME
        )));
    }
    let mut repo = state.db.begin().await?;
    K::finish(&mut repo, state.into(), &model).await?;
    let target = K::show(model).id().to_string();
    caller
        .audit(&mut repo, state, "finish_session", K::TYPE, &target)
        .await?;
    repo.commit().await?;
    Ok(Json(Single::new(K::show(find_of::<K>(state, id).await?))))
}

// --- Browser sessions ---------------------------------------------------

#[derive(Debug, Serialize, ToSchema)]
pub struct UserSessionAttributes {
    #[serde(skip)]
    id: Ulid,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub user_id: String,
    pub user_agent: Option<String>,
    pub last_active_at: Option<DateTime<Utc>>,
    pub last_active_ip: Option<String>,
}

impl Resource for UserSessionAttributes {
    const TYPE: &'static str = "user-session";
    const PATH: &'static str = "/user-sessions";
    fn id(&self) -> Ulid {
        self.id
    }
}

impl Kind for UserSessionAttributes {
    type Model = BrowserSession;
    const NAME: &'static str = "user session";
    fn show(s: BrowserSession) -> Self {
        Self {
            id: s.id,
            created_at: s.created_at,
            finished_at: s.finished_at,
            user_id: s.user_id.to_string(),
            user_agent: s.user_agent,
            last_active_at: s.last_active_at,
            last_active_ip: s.last_active_ip,
        }
    }
    fn is_finished(s: &BrowserSession) -> bool {
        s.finished_at.is_some()
    }
    async fn page(
        repo: &mut ReadHandle,
        f: &SessionFilter,
        p: Pagination,
    ) -> Result<Page<BrowserSession>, StorageError> {
        repo.browser_sessions().page(f, p).await
    }
    async fn count(repo: &mut ReadHandle, f: &SessionFilter) -> Result<u64, StorageError> {
        repo.browser_sessions().count_matching(f).await
    }
    async fn find(repo: &mut ReadHandle, id: Ulid) -> Result<Option<BrowserSession>, StorageError> {
        repo.browser_sessions().find(id).await
    }
    async fn finish(
        repo: &mut Repository,
        ctx: Context<'_>,
        s: &BrowserSession,
    ) -> Result<(), StorageError> {
        ops::sessions::end_browser(repo, ctx, s.id).await
    }
}

/// List browser sessions.
#[utoipa::path(get, path = "/user-sessions", tag = "user-session",
    params(SessionFilterParams, PageParams),
    responses(
        (status = 200, description = "A page of browser sessions", body = List<UserSessionAttributes>),
        (status = 400, description = "A bad filter or page", body = ErrorBody),
    ),
    security(("bearer" = ["urn:mas:admin"])))]
pub async fn list_user_sessions(
    _caller: AdminCaller,
    State(state): State<AppState>,
    Query(filters): Query<SessionFilterParams>,
    Query(page): Query<PageParams>,
) -> Result<Json<List<UserSessionAttributes>>, ApiError> {
    list_of(&state, &filters, &page).await
}

/// Get a browser session.
#[utoipa::path(get, path = "/user-sessions/{id}", tag = "user-session",
    params(("id" = String, Path, description = "The session's ULID")),
    responses(
        (status = 200, description = "The session", body = Single<UserSessionAttributes>),
        (status = 404, description = "No such session", body = ErrorBody),
    ),
    security(("bearer" = ["urn:mas:admin"])))]
pub async fn get_user_session(
    _caller: AdminCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Single<UserSessionAttributes>>, ApiError> {
    Ok(Json(Single::new(UserSessionAttributes::show(
        find_of::<UserSessionAttributes>(&state, &id).await?,
    ))))
}

/// Finish a browser session (sign that browser out).
#[utoipa::path(post, path = "/user-sessions/{id}/finish", tag = "user-session",
    params(("id" = String, Path, description = "The session's ULID")),
    responses(
        (status = 200, description = "The session", body = Single<UserSessionAttributes>),
        (status = 400, description = "Already finished", body = ErrorBody),
        (status = 404, description = "No such session", body = ErrorBody),
    ),
    security(("bearer" = ["urn:mas:admin"])))]
pub async fn finish_user_session(
    caller: AdminCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Single<UserSessionAttributes>>, ApiError> {
    finish_of(&caller, &state, &id).await
}

// --- OAuth sessions -----------------------------------------------------

#[derive(Debug, Serialize, ToSchema)]
pub struct OAuth2SessionAttributes {
    #[serde(skip)]
    id: Ulid,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub user_id: Option<String>,
    pub user_session_id: Option<String>,
    pub client_id: String,
    pub scope: String,
    pub user_agent: Option<String>,
    pub last_active_at: Option<DateTime<Utc>>,
    pub last_active_ip: Option<String>,
    pub human_name: Option<String>,
}

impl Resource for OAuth2SessionAttributes {
    const TYPE: &'static str = "oauth2-session";
    const PATH: &'static str = "/oauth2-sessions";
    fn id(&self) -> Ulid {
        self.id
    }
}

impl Kind for OAuth2SessionAttributes {
    type Model = Session;
    const NAME: &'static str = "OAuth 2.0 session";
    fn show(s: Session) -> Self {
        Self {
            id: s.id,
            created_at: s.created_at,
            finished_at: s.finished_at,
            user_id: s.user_id.map(|u| u.to_string()),
            user_session_id: s.browser_session_id.map(|b| b.to_string()),
            client_id: s.client_id.to_string(),
            scope: s.scope.to_string(),
            user_agent: s.user_agent,
            last_active_at: s.last_active_at,
            last_active_ip: s.last_active_ip,
            human_name: s.human_name,
        }
    }
    fn is_finished(s: &Session) -> bool {
        !s.is_active()
    }
    async fn page(
        repo: &mut ReadHandle,
        f: &SessionFilter,
        p: Pagination,
    ) -> Result<Page<Session>, StorageError> {
        repo.oauth2_sessions().page(f, p).await
    }
    async fn count(repo: &mut ReadHandle, f: &SessionFilter) -> Result<u64, StorageError> {
        repo.oauth2_sessions().count_matching(f).await
    }
    async fn find(repo: &mut ReadHandle, id: Ulid) -> Result<Option<Session>, StorageError> {
        repo.oauth2_sessions().find(id).await
    }
    async fn finish(
        repo: &mut Repository,
        ctx: Context<'_>,
        s: &Session,
    ) -> Result<(), StorageError> {
        ops::sessions::end_oauth2(repo, ctx, s).await
    }
}

/// List OAuth 2.0 sessions.
#[utoipa::path(get, path = "/oauth2-sessions", tag = "oauth2-session",
    params(SessionFilterParams, PageParams),
    responses(
        (status = 200, description = "A page of OAuth 2.0 sessions", body = List<OAuth2SessionAttributes>),
        (status = 400, description = "A bad filter or page", body = ErrorBody),
    ),
    security(("bearer" = ["urn:mas:admin"])))]
pub async fn list_oauth2_sessions(
    _caller: AdminCaller,
    State(state): State<AppState>,
    Query(filters): Query<SessionFilterParams>,
    Query(page): Query<PageParams>,
) -> Result<Json<List<OAuth2SessionAttributes>>, ApiError> {
    list_of(&state, &filters, &page).await
}

/// Get an OAuth 2.0 session.
#[utoipa::path(get, path = "/oauth2-sessions/{id}", tag = "oauth2-session",
    params(("id" = String, Path, description = "The session's ULID")),
    responses(
        (status = 200, description = "The session", body = Single<OAuth2SessionAttributes>),
        (status = 404, description = "No such session", body = ErrorBody),
    ),
    security(("bearer" = ["urn:mas:admin"])))]
pub async fn get_oauth2_session(
    _caller: AdminCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Single<OAuth2SessionAttributes>>, ApiError> {
    Ok(Json(Single::new(OAuth2SessionAttributes::show(
        find_of::<OAuth2SessionAttributes>(&state, &id).await?,
    ))))
}

/// Finish an OAuth 2.0 session: its tokens stop, its device leaves the
/// homeserver.
#[utoipa::path(post, path = "/oauth2-sessions/{id}/finish", tag = "oauth2-session",
    params(("id" = String, Path, description = "The session's ULID")),
    responses(
        (status = 200, description = "The session", body = Single<OAuth2SessionAttributes>),
        (status = 400, description = "Already finished", body = ErrorBody),
        (status = 404, description = "No such session", body = ErrorBody),
    ),
    security(("bearer" = ["urn:mas:admin"])))]
pub async fn finish_oauth2_session(
    caller: AdminCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Single<OAuth2SessionAttributes>>, ApiError> {
    finish_of(&caller, &state, &id).await
}

// --- Compat sessions ----------------------------------------------------

#[derive(Debug, Serialize, ToSchema)]
pub struct CompatSessionAttributes {
    #[serde(skip)]
    id: Ulid,
    pub user_id: String,
    pub device_id: Option<String>,
    pub user_session_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub user_agent: Option<String>,
    pub last_active_at: Option<DateTime<Utc>>,
    pub last_active_ip: Option<String>,
    pub human_name: Option<String>,
}

impl Resource for CompatSessionAttributes {
    const TYPE: &'static str = "compat-session";
    const PATH: &'static str = "/compat-sessions";
    fn id(&self) -> Ulid {
        self.id
    }
}

impl Kind for CompatSessionAttributes {
    type Model = CompatSession;
    const NAME: &'static str = "compatibility session";
    fn show(s: CompatSession) -> Self {
        Self {
            id: s.id,
            user_id: s.user_id.to_string(),
            device_id: s.device_id,
            user_session_id: s.browser_session_id.map(|b| b.to_string()),
            created_at: s.created_at,
            finished_at: s.finished_at,
            user_agent: s.user_agent,
            last_active_at: s.last_active_at,
            last_active_ip: s.last_active_ip,
            human_name: s.human_name,
        }
    }
    fn is_finished(s: &CompatSession) -> bool {
        s.finished_at.is_some()
    }
    async fn page(
        repo: &mut ReadHandle,
        f: &SessionFilter,
        p: Pagination,
    ) -> Result<Page<CompatSession>, StorageError> {
        repo.compat_sessions().page(f, p).await
    }
    async fn count(repo: &mut ReadHandle, f: &SessionFilter) -> Result<u64, StorageError> {
        repo.compat_sessions().count_matching(f).await
    }
    async fn find(repo: &mut ReadHandle, id: Ulid) -> Result<Option<CompatSession>, StorageError> {
        repo.compat_sessions().find(id).await
    }
    async fn finish(
        repo: &mut Repository,
        ctx: Context<'_>,
        s: &CompatSession,
    ) -> Result<(), StorageError> {
        ops::sessions::end_compat(repo, ctx, s).await
    }
}

/// List compatibility sessions (the legacy login API's).
#[utoipa::path(get, path = "/compat-sessions", tag = "compat-session",
    params(SessionFilterParams, PageParams),
    responses(
        (status = 200, description = "A page of compatibility sessions", body = List<CompatSessionAttributes>),
        (status = 400, description = "A bad filter or page", body = ErrorBody),
    ),
    security(("bearer" = ["urn:mas:admin"])))]
pub async fn list_compat_sessions(
    _caller: AdminCaller,
    State(state): State<AppState>,
    Query(filters): Query<SessionFilterParams>,
    Query(page): Query<PageParams>,
) -> Result<Json<List<CompatSessionAttributes>>, ApiError> {
    list_of(&state, &filters, &page).await
}

/// Get a compatibility session.
#[utoipa::path(get, path = "/compat-sessions/{id}", tag = "compat-session",
    params(("id" = String, Path, description = "The session's ULID")),
    responses(
        (status = 200, description = "The session", body = Single<CompatSessionAttributes>),
        (status = 404, description = "No such session", body = ErrorBody),
    ),
    security(("bearer" = ["urn:mas:admin"])))]
pub async fn get_compat_session(
    _caller: AdminCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Single<CompatSessionAttributes>>, ApiError> {
    Ok(Json(Single::new(CompatSessionAttributes::show(
        find_of::<CompatSessionAttributes>(&state, &id).await?,
    ))))
}

/// Finish a compatibility session: its tokens stop, its device leaves the
/// homeserver.
#[utoipa::path(post, path = "/compat-sessions/{id}/finish", tag = "compat-session",
    params(("id" = String, Path, description = "The session's ULID")),
    responses(
        (status = 200, description = "The session", body = Single<CompatSessionAttributes>),
        (status = 400, description = "Already finished", body = ErrorBody),
        (status = 404, description = "No such session", body = ErrorBody),
    ),
    security(("bearer" = ["urn:mas:admin"])))]
pub async fn finish_compat_session(
    caller: AdminCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Single<CompatSessionAttributes>>, ApiError> {
    finish_of(&caller, &state, &id).await
}
