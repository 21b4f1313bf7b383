//! `/api/admin/v1/upstream-oauth-links` (which local user an account at an
//! upstream provider signs in as: list with filters `user`, `provider`,
//! `subject`; add; get; remove) and `/upstream-oauth-providers` (the
//! configured providers: list with `filter[enabled]`, get). Providers come
//! from the configuration file (`config sync`), so the API only reads
//! them.

use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use chrono::{DateTime, Utc};
use mxauth_model::upstream::{UpstreamLink, UpstreamProvider};
use mxauth_storage::{LinkFilter, StorageError};
use serde::{Deserialize, Serialize};
use ulid::Ulid;
use utoipa::{IntoParams, ToSchema};

use super::{
    auth::AdminCaller,
    error::{parse_id, ApiError, ApiJson, ErrorBody},
    response::{list_of, List, PageParams, Resource, Single},
};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct LinkAttributes {
    #[serde(skip)]
    id: Ulid,
    pub created_at: DateTime<Utc>,
    pub provider_id: String,
    pub subject: String,
    /// The local user; `null` for a sign-in that stopped before choosing.
    pub user_id: Option<String>,
    pub human_account_name: Option<String>,
}

impl From<UpstreamLink> for LinkAttributes {
    fn from(l: UpstreamLink) -> Self {
        Self {
            id: l.id,
            created_at: l.created_at,
            provider_id: l.provider_id.to_string(),
            subject: l.subject,
            user_id: l.user_id.map(|u| u.to_string()),
            human_account_name: l.human_account_name,
        }
    }
}

impl Resource for LinkAttributes {
    const TYPE: &'static str = "upstream-oauth-link";
    const PATH: &'static str = "/upstream-oauth-links";
    fn id(&self) -> Ulid {
        self.id
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LinkFilterParams {
    #[serde(rename = "filter[user]")]
    #[param(rename = "filter[user]")]
    pub user: Option<String>,
    #[serde(rename = "filter[provider]")]
    #[param(rename = "filter[provider]")]
    pub provider: Option<String>,
    #[serde(rename = "filter[subject]")]
    #[param(rename = "filter[subject]")]
    pub subject: Option<String>,
}

/// List upstream links.
#[utoipa::path(get, path = "/upstream-oauth-links", tag = "upstream-oauth-link",
    params(LinkFilterParams, PageParams),
    responses(
        (status = 200, description = "A page of links", body = List<LinkAttributes>),
        (status = 400, description = "A bad filter or page", body = ErrorBody),
    ),
    security(("bearer" = ["urn:mas:admin"])))]
pub async fn list_links(
    _caller: AdminCaller,
    State(state): State<AppState>,
    Query(filters): Query<LinkFilterParams>,
    Query(page): Query<PageParams>,
) -> Result<Json<List<LinkAttributes>>, ApiError> {
    let id = |v: &Option<String>| v.as_deref().map(parse_id).transpose();
    let filter = LinkFilter {
        user: id(&filters.user)?,
        provider: id(&filters.provider)?,
        subject: filters.subject.clone(),
    };
    let query = {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("filter[user]", &filters.user),
            ("filter[provider]", &filters.provider),
            ("filter[subject]", &filters.subject),
        ] {
            if let Some(v) = value {
                q.append_pair(name, v);
            }
        }
        q.finish()
    };
    list_of(
        &state,
        &page,
        &query,
        async |repo| repo.upstream_links().count_matching(&filter).await,
        async |repo, p| repo.upstream_links().page(&filter, p).await,
        LinkAttributes::from,
    )
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddLink {
    pub user_id: String,
    pub provider_id: String,
    /// The account's subject at the provider.
    pub subject: String,
    pub human_account_name: Option<String>,
}

/// Link a user to an account at an upstream provider.
#[utoipa::path(post, path = "/upstream-oauth-links", tag = "upstream-oauth-link",
    request_body = AddLink,
    responses(
        (status = 201, description = "The link", body = Single<LinkAttributes>),
        (status = 400, description = "An empty subject", body = ErrorBody),
        (status = 404, description = "No such user or provider", body = ErrorBody),
        (status = 409, description = "The account is linked already", body = ErrorBody),
    ),
    security(("bearer" = ["urn:mas:admin"])))]
pub async fn add_link(
    caller: AdminCaller,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<AddLink>,
) -> Result<Response, ApiError> {
    let user_id = parse_id(&body.user_id)?;
    let provider_id = parse_id(&body.provider_id)?;
    if body.subject.is_empty() {
        return Err(ApiError::bad_request("the subject is empty"));
    }
    let mut repo = state.db.begin().await?;
    if repo.users().find_by_id(user_id).await?.is_none() {
        return Err(ApiError::not_found("User", user_id));
    }
    if repo.upstream_providers().find(provider_id).await?.is_none() {
        return Err(ApiError::not_found("Upstream provider", provider_id));
    }
    let now = state.clock.now();
    let link = UpstreamLink {
        id: crate::ops::Context::from(&state).new_id(now),
        provider_id,
        user_id: Some(user_id),
        subject: body.subject,
        human_account_name: body.human_account_name,
        created_at: now,
    };
    match repo.upstream_links().add(&link).await {
        Ok(()) => {}
        Err(StorageError::Conflict(_)) => {
            return Err(ApiError::conflict(
                "this account at the provider is linked already",
            ))
        }
        Err(e) => return Err(e.into()),
    }
    let target = link.id.to_string();
    caller
        .audit(
            &mut repo,
            &state,
            "add_upstream_link",
            LinkAttributes::TYPE,
            &target,
        )
        .await?;
    repo.commit().await?;
    let body = Single::new(LinkAttributes::from(link));
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

async fn find_link(state: &AppState, id: &str) -> Result<UpstreamLink, ApiError> {
    let id = parse_id(id)?;
    let mut repo = state.db.read().await?;
    repo.upstream_links()
        .find(id)
        .await?
        .ok_or_else(|| ApiError::not_found("Upstream link", id))
}

/// Get an upstream link.
#[utoipa::path(get, path = "/upstream-oauth-links/{id}", tag = "upstream-oauth-link",
    params(("id" = String, Path, description = "The link's ULID")),
    responses(
        (status = 200, description = "The link", body = Single<LinkAttributes>),
        (status = 404, description = "No such link", body = ErrorBody),
    ),
    security(("bearer" = ["urn:mas:admin"])))]
pub async fn get_link(
    _caller: AdminCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Single<LinkAttributes>>, ApiError> {
    Ok(Json(Single::new(find_link(&state, &id).await?.into())))
}

/// Remove an upstream link: that account no longer signs in here.
#[utoipa::path(delete, path = "/upstream-oauth-links/{id}", tag = "upstream-oauth-link",
    params(("id" = String, Path, description = "The link's ULID")),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such link", body = ErrorBody),
    ),
    security(("bearer" = ["urn:mas:admin"])))]
pub async fn remove_link(
    caller: AdminCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let link = find_link(&state, &id).await?;
    let mut repo = state.db.begin().await?;
    repo.upstream_links().remove(link.id).await?;
    let target = link.id.to_string();
    caller
        .audit(
            &mut repo,
            &state,
            "remove_upstream_link",
            LinkAttributes::TYPE,
            &target,
        )
        .await?;
    repo.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderAttributes {
    #[serde(skip)]
    id: Ulid,
    pub created_at: DateTime<Utc>,
    pub issuer: Option<String>,
    pub human_name: Option<String>,
    pub brand_name: Option<String>,
    /// When it stopped being enabled (`enabled: false`, or removed from the
    /// file without `--prune`).
    pub disabled_at: Option<DateTime<Utc>>,
}

impl ProviderAttributes {
    fn new(p: UpstreamProvider) -> Self {
        // The stored settings are the file's block; a block this version
        // cannot read still shows its id and dates.
        let settings: serde_json::Value = serde_json::from_str(&p.settings).unwrap_or_default();
        let text = |key: &str| {
            settings
                .get(key)
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        Self {
            id: p.id,
            created_at: p.created_at,
            issuer: text("issuer"),
            human_name: text("human_name"),
            brand_name: text("brand_name"),
            disabled_at: (!p.enabled).then_some(p.updated_at),
        }
    }
}

impl Resource for ProviderAttributes {
    const TYPE: &'static str = "upstream-oauth-provider";
    const PATH: &'static str = "/upstream-oauth-providers";
    fn id(&self) -> Ulid {
        self.id
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProviderFilterParams {
    #[serde(rename = "filter[enabled]")]
    #[param(rename = "filter[enabled]")]
    pub enabled: Option<bool>,
}

/// List upstream providers.
#[utoipa::path(get, path = "/upstream-oauth-providers", tag = "upstream-oauth-provider",
    params(ProviderFilterParams, PageParams),
    responses(
        (status = 200, description = "A page of providers", body = List<ProviderAttributes>),
        (status = 400, description = "A bad filter or page", body = ErrorBody),
    ),
    security(("bearer" = ["urn:mas:admin"])))]
pub async fn list_providers(
    _caller: AdminCaller,
    State(state): State<AppState>,
    Query(filters): Query<ProviderFilterParams>,
    Query(page): Query<PageParams>,
) -> Result<Json<List<ProviderAttributes>>, ApiError> {
    let query = filters
        .enabled
        .map(|e| format!("filter[enabled]={e}"))
        .unwrap_or_default();
    let enabled = filters.enabled;
    list_of(
        &state,
        &page,
        &query,
        async |repo| repo.upstream_providers().count_matching(enabled).await,
        async |repo, p| repo.upstream_providers().page(enabled, p).await,
        ProviderAttributes::new,
    )
    .await
}

/// Get an upstream provider.
#[utoipa::path(get, path = "/upstream-oauth-providers/{id}", tag = "upstream-oauth-provider",
    params(("id" = String, Path, description = "The provider's ULID")),
    responses(
        (status = 200, description = "The provider", body = Single<ProviderAttributes>),
        (status = 404, description = "No such provider", body = ErrorBody),
    ),
    security(("bearer" = ["urn:mas:admin"])))]
pub async fn get_provider(
    _caller: AdminCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Single<ProviderAttributes>>, ApiError> {
    let id = parse_id(&id)?;
    let mut repo = state.db.read().await?;
    let provider = repo
        .upstream_providers()
        .find(id)
        .await?
        .ok_or_else(|| ApiError::not_found("Upstream provider", id))?;
    Ok(Json(Single::new(ProviderAttributes::new(provider))))
}
