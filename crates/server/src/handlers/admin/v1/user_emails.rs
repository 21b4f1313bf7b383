//! `/api/admin/v1/user-emails`: list (filters `user`, `email`), add a
//! confirmed address to a user (the homeserver gets the new list through
//! provisioning), one by id, remove.

use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use chrono::{DateTime, Utc};
use mxauth_model::{is_plausible_email, UserEmail};
use mxauth_storage::UserEmailFilter;
use serde::{Deserialize, Serialize};
use ulid::Ulid;
use utoipa::{IntoParams, ToSchema};

use super::{
    auth::AdminCaller,
    error::{parse_id, ApiError, ApiJson, ErrorBody},
    response::{list_of, List, PageParams, Resource, Single},
};
use crate::{ops, state::AppState};

#[derive(Debug, Serialize, ToSchema)]
pub struct UserEmailAttributes {
    #[serde(skip)]
    id: Ulid,
    pub created_at: DateTime<Utc>,
    pub user_id: String,
    pub email: String,
}

impl From<UserEmail> for UserEmailAttributes {
    fn from(e: UserEmail) -> Self {
        Self {
            id: e.id,
            created_at: e.created_at,
            user_id: e.user_id.to_string(),
            email: e.email,
        }
    }
}

impl Resource for UserEmailAttributes {
    const TYPE: &'static str = "user-email";
    const PATH: &'static str = "/user-emails";
    fn id(&self) -> Ulid {
        self.id
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EmailFilterParams {
    /// Only this user's addresses (a user id).
    #[serde(rename = "filter[user]")]
    #[param(rename = "filter[user]")]
    pub user: Option<String>,
    /// Only this address (letter case ignored).
    #[serde(rename = "filter[email]")]
    #[param(rename = "filter[email]")]
    pub email: Option<String>,
}

/// List email addresses.
#[utoipa::path(
    get,
    path = "/user-emails",
    tag = "user-email",
    params(EmailFilterParams, PageParams),
    responses(
        (status = 200, description = "A page of addresses", body = List<UserEmailAttributes>),
        (status = 400, description = "A bad filter or page", body = ErrorBody),
    ),
    security(("bearer" = ["urn:mas:admin"]))
)]
pub async fn list(
    _caller: AdminCaller,
    State(state): State<AppState>,
    Query(filters): Query<EmailFilterParams>,
    Query(page): Query<PageParams>,
) -> Result<Json<List<UserEmailAttributes>>, ApiError> {
    let filter = UserEmailFilter {
        user: filters.user.as_deref().map(parse_id).transpose()?,
        email: filters.email.clone(),
    };
    // Built before any await: the serializer is not `Send`.
    let query = {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if let Some(user) = &filters.user {
            query.append_pair("filter[user]", user);
        }
        if let Some(email) = &filters.email {
            query.append_pair("filter[email]", email);
        }
        query.finish()
    };
    list_of(
        &state,
        &page,
        &query,
        async |repo| repo.user_emails().count_matching(&filter).await,
        async |repo, p| repo.user_emails().page(&filter, p).await,
        UserEmailAttributes::from,
    )
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddEmail {
    pub user_id: String,
    pub email: String,
}

/// Add a confirmed email address to a user.
#[utoipa::path(
    post,
    path = "/user-emails",
    tag = "user-email",
    request_body = AddEmail,
    responses(
        (status = 201, description = "The address", body = Single<UserEmailAttributes>),
        (status = 400, description = "Not an address", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 409, description = "The user has this address", body = ErrorBody),
    ),
    security(("bearer" = ["urn:mas:admin"]))
)]
pub async fn add(
    caller: AdminCaller,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<AddEmail>,
) -> Result<Response, ApiError> {
    let user_id = parse_id(&body.user_id)?;
    let email = body.email.trim();
    if !is_plausible_email(email) {
        return Err(ApiError::bad_request(format!(
            "{email:?} is not an email address"
        )));
    }
    let mut repo = state.db.begin().await?;
    let user = repo
        .users()
        .find_by_id(user_id)
        .await?
        .ok_or_else(|| ApiError::not_found("User", user_id))?;
    if !ops::users::add_email(&mut repo, (&state).into(), &user, email).await? {
        return Err(ApiError::conflict("the user already has this address"));
    }
    let added = repo
        .user_emails()
        .find(&user, email)
        .await?
        .ok_or_else(|| ApiError::conflict("the address was removed meanwhile"))?;
    let target = user.id.to_string();
    caller
        .audit(&mut repo, &state, "add_email", "user", &target)
        .await?;
    repo.commit().await?;
    let body = Single::new(UserEmailAttributes::from(added));
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

async fn find(state: &AppState, id: &str) -> Result<UserEmail, ApiError> {
    let id = parse_id(id)?;
    let mut repo = state.db.read().await?;
    repo.user_emails()
        .find_by_id(id)
        .await?
        .ok_or_else(|| ApiError::not_found("User email", id))
}

/// Get an email address.
#[utoipa::path(
    get,
    path = "/user-emails/{id}",
    tag = "user-email",
    params(("id" = String, Path, description = "The address's ULID")),
    responses(
        (status = 200, description = "The address", body = Single<UserEmailAttributes>),
        (status = 404, description = "No such address", body = ErrorBody),
    ),
    security(("bearer" = ["urn:mas:admin"]))
)]
pub async fn get(
    _caller: AdminCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Single<UserEmailAttributes>>, ApiError> {
    Ok(Json(Single::new(find(&state, &id).await?.into())))
}

/// Remove an email address.
#[utoipa::path(
    delete,
    path = "/user-emails/{id}",
    tag = "user-email",
    params(("id" = String, Path, description = "The address's ULID")),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such address", body = ErrorBody),
    ),
    security(("bearer" = ["urn:mas:admin"]))
)]
pub async fn remove(
    caller: AdminCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let email = find(&state, &id).await?;
    let mut repo = state.db.begin().await?;
    let user = repo
        .users()
        .find_by_id(email.user_id)
        .await?
        .ok_or_else(|| ApiError::not_found("User", email.user_id))?;
    ops::users::remove_email(&mut repo, (&state).into(), &user, email.id).await?;
    let target = user.id.to_string();
    caller
        .audit(&mut repo, &state, "remove_email", "user", &target)
        .await?;
    repo.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
