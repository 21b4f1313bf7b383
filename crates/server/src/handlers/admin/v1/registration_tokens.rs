//! `/api/admin/v1/user-registration-tokens`: list (filters `used`,
//! `revoked`, `expired`, `valid`), create (random unless `token` is
//! given), one by id, update (`expires_at`, `usage_limit`), revoke and
//! unrevoke. Created through `ops::registration::issue_token`, as the CLI
//! does.

use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use chrono::{DateTime, Utc};
use mxauth_model::RegistrationToken;
use mxauth_storage::TokenFilter;
use serde::{Deserialize, Serialize};
use ulid::Ulid;
use utoipa::{IntoParams, ToSchema};

use super::{
    auth::AdminCaller,
    error::{parse_id, ApiError, ApiJson, ErrorBody},
    response::{list_of, List, PageParams, Resource, Single},
};
use crate::{
    ops::registration::{issue_token, IssueTokenError},
    state::AppState,
};

/// A registration token (MAS's attributes).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenAttributes {
    #[serde(skip)]
    id: Ulid,
    /// The text people type.
    pub token: String,
    /// Whether it can be used now.
    pub valid: bool,
    /// How many registrations it allows; `null`: unlimited.
    pub usage_limit: Option<u64>,
    pub times_used: u64,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl TokenAttributes {
    fn new(token: RegistrationToken, now: DateTime<Utc>) -> Self {
        Self {
            id: token.id,
            valid: token.check_usable(now).is_ok(),
            token: token.token,
            usage_limit: token.usage_limit,
            times_used: token.times_used,
            created_at: token.created_at,
            last_used_at: token.last_used_at,
            expires_at: token.expires_at,
            revoked_at: token.revoked_at,
        }
    }
}

impl Resource for TokenAttributes {
    const TYPE: &'static str = "user-registration_token";
    const PATH: &'static str = "/user-registration-tokens";
    fn id(&self) -> Ulid {
        self.id
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TokenFilterParams {
    #[serde(rename = "filter[used]")]
    #[param(rename = "filter[used]")]
    pub used: Option<bool>,
    #[serde(rename = "filter[revoked]")]
    #[param(rename = "filter[revoked]")]
    pub revoked: Option<bool>,
    #[serde(rename = "filter[expired]")]
    #[param(rename = "filter[expired]")]
    pub expired: Option<bool>,
    #[serde(rename = "filter[valid]")]
    #[param(rename = "filter[valid]")]
    pub valid: Option<bool>,
}

impl TokenFilterParams {
    fn query(&self) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("filter[used]", self.used),
            ("filter[revoked]", self.revoked),
            ("filter[expired]", self.expired),
            ("filter[valid]", self.valid),
        ] {
            if let Some(v) = value {
                q.append_pair(name, &v.to_string());
            }
        }
        q.finish()
    }
}

/// List registration tokens.
#[utoipa::path(
    get,
    path = "/user-registration-tokens",
    tag = "user-registration-token",
    params(TokenFilterParams, PageParams),
    responses(
        (status = 200, description = "A page of tokens", body = List<TokenAttributes>),
        (status = 400, description = "A bad filter or page", body = ErrorBody),
    ),
    security(("bearer" = ["urn:mas:admin"]))
)]
pub async fn list(
    _caller: AdminCaller,
    State(state): State<AppState>,
    Query(filters): Query<TokenFilterParams>,
    Query(page): Query<PageParams>,
) -> Result<Json<List<TokenAttributes>>, ApiError> {
    let now = state.clock.now();
    let filter = TokenFilter {
        used: filters.used,
        revoked: filters.revoked,
        expired: filters.expired,
        valid: filters.valid,
        now,
    };
    list_of(
        &state,
        &page,
        &filters.query(),
        async |repo| repo.registration_tokens().count_matching(&filter).await,
        async |repo, p| repo.registration_tokens().page(&filter, p).await,
        |t| TokenAttributes::new(t, now),
    )
    .await
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddToken {
    /// The text; random when absent.
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}$")]
    pub token: Option<String>,
    /// How many registrations it allows; absent: unlimited.
    #[schema(minimum = 1, format = Int64)]
    pub usage_limit: Option<u64>,
    /// When it stops working; absent: never.
    pub expires_at: Option<DateTime<Utc>>,
}

/// Create a registration token.
#[utoipa::path(
    post,
    path = "/user-registration-tokens",
    tag = "user-registration-token",
    request_body = AddToken,
    responses(
        (status = 201, description = "The new token", body = Single<TokenAttributes>),
        (status = 400, description = "A bad token text or limit", body = ErrorBody),
        (status = 409, description = "The token exists", body = ErrorBody),
    ),
    security(("bearer" = ["urn:mas:admin"]))
)]
pub async fn add(
    caller: AdminCaller,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<AddToken>,
) -> Result<Response, ApiError> {
    check_usage_limit(body.usage_limit)?;
    let now = state.clock.now();
    let expires_in = match body.expires_at {
        Some(at) if at <= now => {
            return Err(ApiError::bad_request("expires_at is in the past"));
        }
        Some(at) => Some(u64::try_from((at - now).num_seconds()).unwrap_or(0)),
        None => None,
    };
    let mut repo = state.db.begin().await?;
    let issued = issue_token(
        &mut repo,
        (&state).into(),
        body.token.as_deref(),
        body.usage_limit,
        expires_in,
    )
    .await;
    let issued = match issued {
        Ok(issued) => issued,
        Err(IssueTokenError::Storage(e)) => return Err(e.into()),
        Err(e @ IssueTokenError::Exists) => return Err(ApiError::conflict(e.to_string())),
        Err(e) => return Err(ApiError::bad_request(e.to_string())),
    };
    let target = issued.id.to_string();
    caller
        .audit(
            &mut repo,
            &state,
            "add_registration_token",
            TokenAttributes::TYPE,
            &target,
        )
        .await?;
    repo.commit().await?;
    let body = Single::new(TokenAttributes::new(issued, now));
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

async fn find(state: &AppState, id: &str) -> Result<RegistrationToken, ApiError> {
    let parsed = parse_id(id)?;
    let mut repo = state.db.read().await?;
    repo.registration_tokens()
        .find(parsed)
        .await?
        .ok_or_else(|| ApiError::not_found("Registration token", parsed))
}

/// Get a registration token.
#[utoipa::path(
    get,
    path = "/user-registration-tokens/{id}",
    tag = "user-registration-token",
    params(("id" = String, Path, description = "The token's ULID")),
    responses(
        (status = 200, description = "The token", body = Single<TokenAttributes>),
        (status = 404, description = "No such token", body = ErrorBody),
    ),
    security(("bearer" = ["urn:mas:admin"]))
)]
pub async fn get(
    _caller: AdminCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Single<TokenAttributes>>, ApiError> {
    let token = find(&state, &id).await?;
    Ok(Json(Single::new(TokenAttributes::new(
        token,
        state.clock.now(),
    ))))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateToken {
    /// When it stops working; `null`: never.
    pub expires_at: Option<DateTime<Utc>>,
    /// How many registrations it allows; `null`: unlimited.
    #[schema(minimum = 1, format = Int64)]
    pub usage_limit: Option<u64>,
}

/// `usage_limit` as the database keeps it (a signed 64-bit count), so the
/// answer shows what was stored: 1 to 2^63-1, as the document's `minimum`
/// and `format: int64` say. A larger one was stored as 2^63-1 while the
/// answer of a creation showed the number sent (found by schemathesis).
fn check_usage_limit(limit: Option<u64>) -> Result<(), ApiError> {
    match limit {
        Some(n) if n == 0 || i64::try_from(n).is_err() => Err(ApiError::bad_request(format!(
            "usage_limit must be from 1 to {}",
            i64::MAX
        ))),
        _ => Ok(()),
    }
}

/// Change a registration token's expiry and usage limit.
#[utoipa::path(
    put,
    path = "/user-registration-tokens/{id}",
    tag = "user-registration-token",
    params(("id" = String, Path, description = "The token's ULID")),
    request_body = UpdateToken,
    responses(
        (status = 200, description = "The token", body = Single<TokenAttributes>),
        (status = 400, description = "A bad limit", body = ErrorBody),
        (status = 404, description = "No such token", body = ErrorBody),
    ),
    security(("bearer" = ["urn:mas:admin"]))
)]
pub async fn update(
    caller: AdminCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UpdateToken>,
) -> Result<Json<Single<TokenAttributes>>, ApiError> {
    check_usage_limit(body.usage_limit)?;
    let token = find(&state, &id).await?;
    let mut repo = state.db.begin().await?;
    repo.registration_tokens()
        .update(token.id, body.expires_at, body.usage_limit)
        .await?;
    let target = token.id.to_string();
    caller
        .audit(
            &mut repo,
            &state,
            "update_registration_token",
            TokenAttributes::TYPE,
            &target,
        )
        .await?;
    repo.commit().await?;
    get(caller, State(state), Path(id)).await
}

/// Revoke a registration token: it stops working.
#[utoipa::path(
    post,
    path = "/user-registration-tokens/{id}/revoke",
    tag = "user-registration-token",
    params(("id" = String, Path, description = "The token's ULID")),
    responses(
        (status = 200, description = "The token", body = Single<TokenAttributes>),
        (status = 400, description = "Already revoked", body = ErrorBody),
        (status = 404, description = "No such token", body = ErrorBody),
    ),
    security(("bearer" = ["urn:mas:admin"]))
)]
pub async fn revoke(
    caller: AdminCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Single<TokenAttributes>>, ApiError> {
    let token = find(&state, &id).await?;
    let mut repo = state.db.begin().await?;
    if !repo
        .registration_tokens()
        .revoke(token.id, state.clock.now())
        .await?
    {
        return Err(ApiError::bad_request(
            "this registration token is already revoked",
        ));
    }
    let target = token.id.to_string();
    caller
        .audit(
            &mut repo,
            &state,
            "revoke_registration_token",
            TokenAttributes::TYPE,
            &target,
        )
        .await?;
    repo.commit().await?;
    get(caller, State(state), Path(id)).await
}

/// Make a revoked registration token work again.
#[utoipa::path(
    post,
    path = "/user-registration-tokens/{id}/unrevoke",
    tag = "user-registration-token",
    params(("id" = String, Path, description = "The token's ULID")),
    responses(
        (status = 200, description = "The token", body = Single<TokenAttributes>),
        (status = 400, description = "Not revoked", body = ErrorBody),
        (status = 404, description = "No such token", body = ErrorBody),
    ),
    security(("bearer" = ["urn:mas:admin"]))
)]
pub async fn unrevoke(
    caller: AdminCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Single<TokenAttributes>>, ApiError> {
    let token = find(&state, &id).await?;
    let mut repo = state.db.begin().await?;
    if !repo.registration_tokens().unrevoke(token.id).await? {
        return Err(ApiError::bad_request(
            "this registration token is not revoked",
        ));
    }
    let target = token.id.to_string();
    caller
        .audit(
            &mut repo,
            &state,
            "unrevoke_registration_token",
            TokenAttributes::TYPE,
            &target,
        )
        .await?;
    repo.commit().await?;
    get(caller, State(state), Path(id)).await
}
