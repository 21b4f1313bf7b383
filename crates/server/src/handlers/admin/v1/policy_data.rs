//! `/api/admin/v1/policy-data`: the policy data admins set at run time,
//! MAS's three calls: store a new version (`POST`), the version in force
//! (`GET …/latest`), one version (`GET …/{id}`). A version is checked
//! before it is stored: merged over the configuration's `policy.data`, it
//! must make a valid policy (see `crate::policy`), or the answer is 400 and
//! nothing changes. This server applies it at once; the others within a
//! minute.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use chrono::{DateTime, Utc};
use mxauth_storage::PolicyData;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use ulid::Ulid;
use utoipa::ToSchema;

use super::{
    auth::AdminCaller,
    error::{parse_id, ApiError, ApiJson, ErrorBody},
    response::{Resource, Single},
};
use crate::state::AppState;

/// The largest policy data accepted, serialised: it is read by every
/// server every minute.
const MAX_DATA_BYTES: usize = 256 * 1024;

/// One version of the policy data (MAS's attributes).
#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyDataAttributes {
    #[serde(skip)]
    id: Ulid,
    pub created_at: DateTime<Utc>,
    /// The data, merged over the configuration's `policy.data` while it is
    /// the newest version.
    #[schema(value_type = Object)]
    pub data: Value,
}

impl From<PolicyData> for PolicyDataAttributes {
    fn from(version: PolicyData) -> Self {
        Self {
            id: version.id,
            created_at: version.created_at,
            data: version.data,
        }
    }
}

impl Resource for PolicyDataAttributes {
    const TYPE: &'static str = "policy-data";
    const PATH: &'static str = "/policy-data";
    fn id(&self) -> Ulid {
        self.id
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPolicyData {
    /// A JSON object: `admin_users`, `admin_clients`,
    /// `client_registration`, `registration`, `emails`, `requester`, and
    /// any keys of your own.
    #[schema(value_type = Object)]
    pub data: Value,
}

/// Store new policy data and put it in force.
#[utoipa::path(
    post,
    path = "/policy-data",
    tag = "policy-data",
    request_body = SetPolicyData,
    responses(
        (status = 201, description = "The version stored", body = Single<PolicyDataAttributes>),
        (status = 400, description = "The data does not make a valid policy", body = ErrorBody),
    ),
    security(("bearer" = ["urn:mas:admin"]))
)]
pub async fn set(
    caller: AdminCaller,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<SetPolicyData>,
) -> Result<Response, ApiError> {
    if body.data.to_string().len() > MAX_DATA_BYTES {
        return Err(ApiError::bad_request(format!(
            "the policy data is larger than {} KiB",
            MAX_DATA_BYTES / 1024
        )));
    }
    state
        .policy
        .try_merge(&body.data)
        .map_err(|e| ApiError::bad_request(format!("invalid policy data: {e}")))?;
    let now = state.clock.now();
    let version = PolicyData {
        id: mxauth_storage::new_ulid(now, &mut state.random.rng()),
        data: body.data,
        created_at: now,
    };
    let mut repo = state.db.begin().await?;
    repo.policy_data().add(&version).await?;
    let target = version.id.to_string();
    caller
        .audit(
            &mut repo,
            &state,
            "set_policy_data",
            PolicyDataAttributes::TYPE,
            &target,
        )
        .await?;
    repo.commit().await?;
    // Checked above against the same configuration, so this applies.
    if let Err(e) = state.policy.apply(version.id, &version.data) {
        tracing::warn!("policy data {} stored but not applied: {e}", version.id);
    }
    let body = Single::new(PolicyDataAttributes::from(version));
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// Get the policy data in force (the newest version).
#[utoipa::path(
    get,
    path = "/policy-data/latest",
    tag = "policy-data",
    responses(
        (status = 200, description = "The newest version", body = Single<PolicyDataAttributes>),
        (status = 404, description = "No policy data was ever set", body = ErrorBody),
    ),
    security(("bearer" = ["urn:mas:admin"]))
)]
pub async fn latest(
    _caller: AdminCaller,
    State(state): State<AppState>,
) -> Result<Json<Single<PolicyDataAttributes>>, ApiError> {
    let mut read = state.db.read().await?;
    let version =
        read.policy_data().latest().await?.ok_or_else(|| {
            ApiError::new(StatusCode::NOT_FOUND, "no policy data was set".to_owned())
        })?;
    Ok(Json(Single::new(version.into())))
}

/// Get one version of the policy data.
#[utoipa::path(
    get,
    path = "/policy-data/{id}",
    tag = "policy-data",
    params(("id" = String, Path, description = "The version's ULID")),
    responses(
        (status = 200, description = "The version", body = Single<PolicyDataAttributes>),
        (status = 404, description = "No such version", body = ErrorBody),
    ),
    security(("bearer" = ["urn:mas:admin"]))
)]
pub async fn get(
    _caller: AdminCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Single<PolicyDataAttributes>>, ApiError> {
    let id = parse_id(&id)?;
    let mut read = state.db.read().await?;
    let version = read
        .policy_data()
        .find(id)
        .await?
        .ok_or_else(|| ApiError::not_found("Policy data", id))?;
    Ok(Json(Single::new(version.into())))
}
