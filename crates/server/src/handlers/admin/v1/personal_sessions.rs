//! `/api/admin/v1/personal-sessions`: personal access tokens (`mpt_…`)
//! for a user — list (filters `actor_user`, `owner_user`, `owner_client`,
//! `status`), issue (the token is in the answer, once), one by id, revoke,
//! regenerate (a new token; the old one stops). Through
//! `ops::personal_tokens`.

use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use chrono::{DateTime, Utc};
use mxauth_model::{PersonalOwner, PersonalSession, Scope};
use mxauth_storage::PersonalSessionFilter;
use serde::{Deserialize, Serialize};
use ulid::Ulid;
use utoipa::{IntoParams, ToSchema};

use super::{
    auth::AdminCaller,
    error::{parse_id, ApiError, ApiJson, ErrorBody},
    response::{CountMode, List, PageParams, Resource, Single},
};
use crate::{
    ops::personal_tokens::{self, Issued, PersonalError},
    state::AppState,
};

#[derive(Debug, Serialize, ToSchema)]
pub struct PersonalSessionAttributes {
    #[serde(skip)]
    id: Ulid,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// The admin user who issued it, if a user did.
    pub owner_user_id: Option<String>,
    /// The admin client that issued it, if a client did.
    pub owner_client_id: Option<String>,
    /// The user the token acts as.
    pub actor_user_id: String,
    pub human_name: String,
    pub scope: String,
    pub last_active_at: Option<DateTime<Utc>>,
    pub last_active_ip: Option<String>,
    /// When the current token expires.
    pub expires_at: Option<DateTime<Utc>>,
    /// The token itself: only in the answer that made it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
}

impl PersonalSessionAttributes {
    fn new(
        session: PersonalSession,
        expires_at: Option<DateTime<Utc>>,
        token: Option<String>,
    ) -> Self {
        let (owner_user_id, owner_client_id) = match session.owner {
            PersonalOwner::User(id) => (Some(id.to_string()), None),
            PersonalOwner::Client(id) => (None, Some(id.to_string())),
        };
        Self {
            id: session.id,
            created_at: session.created_at,
            revoked_at: session.revoked_at,
            owner_user_id,
            owner_client_id,
            actor_user_id: session.actor_user_id.to_string(),
            human_name: session.human_name,
            scope: session.scope.to_string(),
            last_active_at: session.last_active_at,
            last_active_ip: session.last_active_ip,
            expires_at,
            access_token: token,
        }
    }

    fn issued(issued: Issued) -> Self {
        Self::new(issued.session, issued.token.expires_at, Some(issued.text))
    }
}

impl Resource for PersonalSessionAttributes {
    const TYPE: &'static str = "personal-session";
    const PATH: &'static str = "/personal-sessions";
    fn id(&self) -> Ulid {
        self.id
    }
}

fn refused(e: PersonalError) -> ApiError {
    match e {
        PersonalError::Storage(e) => e.into(),
        e => ApiError::bad_request(e.to_string()),
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PersonalFilterParams {
    #[serde(rename = "filter[actor_user]")]
    #[param(rename = "filter[actor_user]")]
    pub actor_user: Option<String>,
    #[serde(rename = "filter[owner_user]")]
    #[param(rename = "filter[owner_user]")]
    pub owner_user: Option<String>,
    #[serde(rename = "filter[owner_client]")]
    #[param(rename = "filter[owner_client]")]
    pub owner_client: Option<String>,
    /// `active` or `revoked`.
    #[serde(rename = "filter[status]")]
    #[param(rename = "filter[status]")]
    pub status: Option<String>,
}

/// List personal sessions.
#[utoipa::path(
    get,
    path = "/personal-sessions",
    tag = "personal-session",
    params(PersonalFilterParams, PageParams),
    responses(
        (status = 200, description = "A page of personal sessions", body = List<PersonalSessionAttributes>),
        (status = 400, description = "A bad filter or page", body = ErrorBody),
    ),
    security(("bearer" = ["urn:mas:admin"]))
)]
pub async fn list(
    _caller: AdminCaller,
    State(state): State<AppState>,
    Query(filters): Query<PersonalFilterParams>,
    Query(page): Query<PageParams>,
) -> Result<Json<List<PersonalSessionAttributes>>, ApiError> {
    let ids = |v: &Option<String>| v.as_deref().map(parse_id).transpose();
    let active = match filters.status.as_deref() {
        None => None,
        Some("active") => Some(true),
        Some("revoked") => Some(false),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "filter[status] must be active or revoked, not {other:?}"
            )))
        }
    };
    let filter = PersonalSessionFilter {
        actor_user: ids(&filters.actor_user)?,
        owner_user: ids(&filters.owner_user)?,
        owner_client: ids(&filters.owner_client)?,
        active,
    };
    // Built before any await: the serializer is not `Send`.
    let query = {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("filter[actor_user]", &filters.actor_user),
            ("filter[owner_user]", &filters.owner_user),
            ("filter[owner_client]", &filters.owner_client),
            ("filter[status]", &filters.status),
        ] {
            if let Some(v) = value {
                query.append_pair(name, v);
            }
        }
        query.finish()
    };
    let pagination = page.pagination()?;
    let mode = page.count_mode()?;
    let mut repo = state.db.read().await?;
    let count = match mode {
        CountMode::ItemsOnly => None,
        _ => Some(repo.personal_sessions().count_matching(&filter).await?),
    };
    let items = match mode {
        CountMode::CountOnly => None,
        _ => {
            let page = repo.personal_sessions().page(&filter, pagination).await?;
            let mut shown = Vec::with_capacity(page.items.len());
            for session in page.items {
                let current = repo.personal_sessions().current_token(session.id).await?;
                let expires = current.and_then(|t| t.expires_at);
                shown.push(PersonalSessionAttributes::new(session, expires, None));
            }
            Some(mxauth_storage::Page {
                items: shown,
                has_more: page.has_more,
            })
        }
    };
    Ok(Json(List::new(items, count, pagination, &query)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddPersonalSession {
    /// The user the token acts as.
    pub actor_user_id: String,
    pub human_name: String,
    /// Space-separated, e.g. `urn:matrix:client:api:*`.
    pub scope: String,
    /// Seconds until the token expires; absent: never.
    pub expires_in: Option<u64>,
}

/// Issue a personal access token.
#[utoipa::path(
    post,
    path = "/personal-sessions",
    tag = "personal-session",
    request_body = AddPersonalSession,
    responses(
        (status = 201, description = "The session, with its token (shown once)", body = Single<PersonalSessionAttributes>),
        (status = 400, description = "A bad name, scope or expiry", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    ),
    security(("bearer" = ["urn:mas:admin"]))
)]
pub async fn add(
    caller: AdminCaller,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<AddPersonalSession>,
) -> Result<Response, ApiError> {
    let actor_id = parse_id(&body.actor_user_id)?;
    let scope: Scope = body
        .scope
        .parse()
        .map_err(|e| ApiError::bad_request(format!("the scope is not valid: {e}")))?;
    let mut repo = state.db.begin().await?;
    let actor = repo
        .users()
        .find_by_id(actor_id)
        .await?
        .ok_or_else(|| ApiError::not_found("User", actor_id))?;
    let issued = personal_tokens::issue(
        &mut repo,
        (&state).into(),
        &state.policy.current(),
        caller.owner,
        &actor,
        &body.human_name,
        scope,
        body.expires_in,
    )
    .await
    .map_err(refused)?;
    let id = issued.session.id.to_string();
    caller
        .audit(
            &mut repo,
            &state,
            "issue_personal_token",
            "personal-session",
            &id,
        )
        .await?;
    repo.commit().await?;
    let body = Single::new(PersonalSessionAttributes::issued(issued));
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

async fn find(state: &AppState, id: &str) -> Result<PersonalSession, ApiError> {
    let id = parse_id(id)?;
    let mut repo = state.db.read().await?;
    repo.personal_sessions()
        .find(id)
        .await?
        .ok_or_else(|| ApiError::not_found("Personal session", id))
}

/// Get a personal session.
#[utoipa::path(
    get,
    path = "/personal-sessions/{id}",
    tag = "personal-session",
    params(("id" = String, Path, description = "The session's ULID")),
    responses(
        (status = 200, description = "The session", body = Single<PersonalSessionAttributes>),
        (status = 404, description = "No such session", body = ErrorBody),
    ),
    security(("bearer" = ["urn:mas:admin"]))
)]
pub async fn get(
    _caller: AdminCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Single<PersonalSessionAttributes>>, ApiError> {
    let session = find(&state, &id).await?;
    let mut repo = state.db.read().await?;
    let current = repo.personal_sessions().current_token(session.id).await?;
    let expires = current.and_then(|t| t.expires_at);
    Ok(Json(Single::new(PersonalSessionAttributes::new(
        session, expires, None,
    ))))
}

/// Revoke a personal session: its token stops working.
#[utoipa::path(
    post,
    path = "/personal-sessions/{id}/revoke",
    tag = "personal-session",
    params(("id" = String, Path, description = "The session's ULID")),
    responses(
        (status = 200, description = "The session", body = Single<PersonalSessionAttributes>),
        (status = 400, description = "Already revoked", body = ErrorBody),
        (status = 404, description = "No such session", body = ErrorBody),
    ),
    security(("bearer" = ["urn:mas:admin"]))
)]
pub async fn revoke(
    caller: AdminCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Single<PersonalSessionAttributes>>, ApiError> {
    let session = find(&state, &id).await?;
    let now = state.clock.now();
    let mut repo = state.db.begin().await?;
    if !repo.personal_sessions().revoke(session.id, now).await? {
        return Err(ApiError::bad_request(
            "this personal session is already revoked",
        ));
    }
    let id = session.id.to_string();
    caller
        .audit(
            &mut repo,
            &state,
            "revoke_personal_token",
            "personal-session",
            &id,
        )
        .await?;
    repo.commit().await?;
    let revoked = PersonalSession {
        revoked_at: Some(now),
        ..session
    };
    Ok(Json(Single::new(PersonalSessionAttributes::new(
        revoked, None, None,
    ))))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Regenerate {
    /// Seconds until the new token expires; absent: never.
    pub expires_in: Option<u64>,
}

/// Replace the token of a personal session (the old one stops working).
#[utoipa::path(
    post,
    path = "/personal-sessions/{id}/regenerate",
    tag = "personal-session",
    params(("id" = String, Path, description = "The session's ULID")),
    request_body = Regenerate,
    responses(
        (status = 200, description = "The session, with its new token (shown once)", body = Single<PersonalSessionAttributes>),
        (status = 400, description = "Revoked, or a bad expiry", body = ErrorBody),
        (status = 404, description = "No such session", body = ErrorBody),
    ),
    security(("bearer" = ["urn:mas:admin"]))
)]
pub async fn regenerate(
    caller: AdminCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Regenerate>,
) -> Result<Json<Single<PersonalSessionAttributes>>, ApiError> {
    let session = find(&state, &id).await?;
    if !session.is_active() {
        return Err(ApiError::bad_request("this personal session is revoked"));
    }
    let mut repo = state.db.begin().await?;
    let issued = personal_tokens::regenerate(&mut repo, (&state).into(), session, body.expires_in)
        .await
        .map_err(refused)?;
    let id = issued.session.id.to_string();
    caller
        .audit(
            &mut repo,
            &state,
            "regenerate_personal_token",
            "personal-session",
            &id,
        )
        .await?;
    repo.commit().await?;
    Ok(Json(Single::new(PersonalSessionAttributes::issued(issued))))
}
