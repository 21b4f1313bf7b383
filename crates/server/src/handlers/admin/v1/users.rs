//! `/api/admin/v1/users`: list (filters `admin`, `legacy-guest`, `search`,
//! `status`), create (the homeserver is asked about the username unless
//! `skip_homeserver_check`), one by id or by username, and the changes:
//! set-password (policy unless `skip_password_check`), set-admin, lock,
//! unlock, deactivate (the homeserver erases the user unless
//! `skip_erase`). Each change goes through `ops`, like the CLI and the
//! pages, in one transaction that also queues the homeserver's job.

use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use chrono::{DateTime, Utc};
use mxauth_model::User;
use mxauth_storage::{StorageError, UserFilter, UserStatus};
use serde::{Deserialize, Serialize};
use ulid::Ulid;
use utoipa::{IntoParams, ToSchema};

use super::{
    auth::AdminCaller,
    error::{object_body, parse_id, ApiError, ApiJson, ErrorBody},
    response::{list_of, List, PageParams, Resource, Single},
};
use crate::{
    ops::{self, username::UsernameRefusal, users::NewUser},
    state::AppState,
};

/// A user, as the admin API shows one (MAS's attributes).
#[derive(Debug, Serialize, ToSchema)]
pub struct UserAttributes {
    #[serde(skip)]
    id: Ulid,
    /// The localpart of the Matrix ID.
    pub username: String,
    pub created_at: DateTime<Utc>,
    pub locked_at: Option<DateTime<Utc>>,
    pub deactivated_at: Option<DateTime<Utc>>,
    /// Whether the user may request admin rights.
    pub admin: bool,
    /// Whether the user is a guest imported from Synapse.
    pub legacy_guest: bool,
}

impl From<User> for UserAttributes {
    fn from(user: User) -> Self {
        Self {
            id: user.id,
            username: user.username,
            created_at: user.created_at,
            locked_at: user.locked_at,
            deactivated_at: user.deactivated_at,
            admin: user.can_request_admin,
            legacy_guest: user.is_guest,
        }
    }
}

impl Resource for UserAttributes {
    const TYPE: &'static str = "user";
    const PATH: &'static str = "/users";
    fn id(&self) -> Ulid {
        self.id
    }
}

/// The filters of the list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserFilterParams {
    /// Only users who may (or may not) request admin rights.
    #[serde(rename = "filter[admin]")]
    #[param(rename = "filter[admin]")]
    pub admin: Option<bool>,
    /// Only guests imported from Synapse (or only non-guests).
    #[serde(rename = "filter[legacy-guest]")]
    #[param(rename = "filter[legacy-guest]")]
    pub legacy_guest: Option<bool>,
    /// Only usernames containing this text.
    #[serde(rename = "filter[search]")]
    #[param(rename = "filter[search]")]
    pub search: Option<String>,
    /// `active`, `locked` or `deactivated`.
    #[serde(rename = "filter[status]")]
    #[param(rename = "filter[status]", value_type = Option<StatusParam>, inline)]
    pub status: Option<String>,
}

// The values of `filter[status]` in the document; the field is read as
// text, so that a wrong one is refused in the API's words.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)] // only its schema is used
pub enum StatusParam {
    Active,
    Locked,
    Deactivated,
}

impl UserFilterParams {
    fn filter(&self) -> Result<UserFilter, ApiError> {
        let status = match self.status.as_deref() {
            None => None,
            Some("active") => Some(UserStatus::Active),
            Some("locked") => Some(UserStatus::Locked),
            Some("deactivated") => Some(UserStatus::Deactivated),
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "filter[status] must be active, locked or deactivated, not {other:?}"
                )))
            }
        };
        Ok(UserFilter {
            admin: self.admin,
            guest: self.legacy_guest,
            status,
            search: self.search.clone().filter(|s| !s.is_empty()),
        })
    }

    /// The filters as a query string, for the list's links.
    fn query(&self) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        if let Some(v) = self.admin {
            q.append_pair("filter[admin]", &v.to_string());
        }
        if let Some(v) = self.legacy_guest {
            q.append_pair("filter[legacy-guest]", &v.to_string());
        }
        if let Some(v) = &self.search {
            q.append_pair("filter[search]", v);
        }
        if let Some(v) = &self.status {
            q.append_pair("filter[status]", v);
        }
        q.finish()
    }
}

/// List users.
#[utoipa::path(
    get,
    path = "/users",
    tag = "user",
    params(UserFilterParams, PageParams),
    responses(
        (status = 200, description = "A page of users", body = List<UserAttributes>),
        (status = 400, description = "A bad filter or page", body = ErrorBody),
    ),
    security(("bearer" = ["urn:mas:admin"]))
)]
pub async fn list(
    _caller: AdminCaller,
    State(state): State<AppState>,
    Query(filters): Query<UserFilterParams>,
    Query(page): Query<PageParams>,
) -> Result<Json<List<UserAttributes>>, ApiError> {
    let filter = filters.filter()?;
    list_of(
        &state,
        &page,
        &filters.query(),
        async |repo| repo.users().count_matching(&filter).await,
        async |repo, p| repo.users().page(&filter, p).await,
        UserAttributes::from,
    )
    .await
}

async fn find(state: &AppState, id: &str) -> Result<User, ApiError> {
    let parsed = parse_id(id)?;
    let mut repo = state.db.read().await?;
    repo.users()
        .find_by_id(parsed)
        .await?
        .ok_or_else(|| ApiError::not_found("User", parsed))
}

/// Get a user.
#[utoipa::path(
    get,
    path = "/users/{id}",
    tag = "user",
    params(("id" = String, Path, description = "The user's ULID")),
    responses(
        (status = 200, description = "The user", body = Single<UserAttributes>),
        (status = 404, description = "No such user", body = ErrorBody),
    ),
    security(("bearer" = ["urn:mas:admin"]))
)]
pub async fn get(
    _caller: AdminCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Single<UserAttributes>>, ApiError> {
    Ok(Json(Single::new(find(&state, &id).await?.into())))
}

/// Get a user by username.
#[utoipa::path(
    get,
    path = "/users/by-username/{username}",
    tag = "user",
    params(("username" = String, Path, description = "The localpart")),
    responses(
        (status = 200, description = "The user", body = Single<UserAttributes>),
        (status = 404, description = "No such user", body = ErrorBody),
    ),
    security(("bearer" = ["urn:mas:admin"]))
)]
pub async fn by_username(
    _caller: AdminCaller,
    State(state): State<AppState>,
    Path(username): Path<String>,
) -> Result<Json<Single<UserAttributes>>, ApiError> {
    let mut repo = state.db.read().await?;
    let user = repo
        .users()
        .find_by_username(&username)
        .await?
        .ok_or_else(|| ApiError::not_found("User", &username))?;
    Ok(Json(Single::new(user.into())))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddUser {
    /// The localpart: `a-z`, `0-9` and `._=-/+`, not digits only, the full
    /// Matrix ID at most 255 bytes (Matrix's rules, which the server checks).
    #[schema(pattern = "^[a-z0-9._=/+-]*[a-z._=/+-][a-z0-9._=/+-]*$")]
    pub username: String,
    /// Create it without asking the homeserver whether the name is free.
    #[serde(default)]
    pub skip_homeserver_check: bool,
}

/// Create a user.
#[utoipa::path(
    post,
    path = "/users",
    tag = "user",
    request_body = AddUser,
    responses(
        (status = 201, description = "The new user", body = Single<UserAttributes>),
        (status = 400, description = "The username breaks the rules", body = ErrorBody),
        (status = 409, description = "The username is taken here or on the homeserver", body = ErrorBody),
        (status = 503, description = "The homeserver cannot be reached", body = ErrorBody),
    ),
    security(("bearer" = ["urn:mas:admin"]))
)]
pub async fn add(
    caller: AdminCaller,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<AddUser>,
) -> Result<Response, ApiError> {
    let checked =
        ops::username::check_for_admin(&state, &body.username, !body.skip_homeserver_check).await;
    match checked {
        Ok(()) => {}
        Err(UsernameRefusal::Storage(e)) => return Err(e.into()),
        Err(refusal) => return Err(ApiError::new(refusal.status(), refusal.to_string())),
    }
    let mut repo = state.db.begin().await?;
    let new = NewUser {
        username: &body.username,
        ..NewUser::default()
    };
    let user = match ops::users::register(&mut repo, (&state).into(), new).await {
        Ok(user) => user,
        Err(StorageError::Conflict(_)) => return Err(ApiError::conflict("this username is taken")),
        Err(e) => return Err(e.into()),
    };
    audit(&caller, &mut repo, &state, "add_user", &user).await?;
    repo.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(Single::new(UserAttributes::from(user))),
    )
        .into_response())
}

/// Records an admin action on `user` in the audit trail.
async fn audit(
    caller: &AdminCaller,
    repo: &mut mxauth_storage::Repository,
    state: &AppState,
    action: &str,
    user: &User,
) -> Result<(), StorageError> {
    let id = user.id.to_string();
    caller
        .audit(repo, state, action, UserAttributes::TYPE, &id)
        .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPassword {
    #[schema(min_length = 1)]
    pub password: String,
    /// Accept a password weaker than `passwords.minimum_complexity`.
    #[serde(default)]
    pub skip_password_check: bool,
}

/// Set a user's password.
#[utoipa::path(
    post,
    path = "/users/{id}/set-password",
    tag = "user",
    params(("id" = String, Path, description = "The user's ULID")),
    request_body = SetPassword,
    responses(
        (status = 204, description = "The password is set"),
        (status = 400, description = "The password is too weak, or passwords are off", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    ),
    security(("bearer" = ["urn:mas:admin"]))
)]
pub async fn set_password(
    caller: AdminCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SetPassword>,
) -> Result<StatusCode, ApiError> {
    let user = find(&state, &id).await?;
    let passwords = state
        .passwords
        .as_ref()
        .ok_or_else(|| ApiError::bad_request("passwords are disabled on this server"))?;
    if body.password.is_empty() {
        return Err(ApiError::bad_request("the password is empty"));
    }
    if !body.skip_password_check && !passwords.is_complex_enough(&body.password, &[&user.username])
    {
        return Err(ApiError::bad_request(
            "the password is too weak for passwords.minimum_complexity",
        ));
    }
    let hashed = passwords
        .hash(body.password)
        .await
        .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string()))?;
    let mut repo = state.db.begin().await?;
    ops::users::set_password(&mut repo, (&state).into(), &user, &hashed).await?;
    audit(&caller, &mut repo, &state, "set_password", &user).await?;
    repo.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetAdmin {
    /// Whether the user may request admin rights.
    pub admin: bool,
}

/// Allow or forbid a user to request admin rights.
#[utoipa::path(
    post,
    path = "/users/{id}/set-admin",
    tag = "user",
    params(("id" = String, Path, description = "The user's ULID")),
    request_body = SetAdmin,
    responses(
        (status = 200, description = "The user", body = Single<UserAttributes>),
        (status = 404, description = "No such user", body = ErrorBody),
    ),
    security(("bearer" = ["urn:mas:admin"]))
)]
pub async fn set_admin(
    caller: AdminCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SetAdmin>,
) -> Result<Json<Single<UserAttributes>>, ApiError> {
    let user = find(&state, &id).await?;
    let mut repo = state.db.begin().await?;
    let user = repo.users().set_can_request_admin(user, body.admin).await?;
    let action = if body.admin {
        "promote_admin"
    } else {
        "demote_admin"
    };
    audit(&caller, &mut repo, &state, action, &user).await?;
    repo.commit().await?;
    Ok(Json(Single::new(user.into())))
}

/// Lock a user: no new logins, and their tokens stop working.
#[utoipa::path(
    post,
    path = "/users/{id}/lock",
    tag = "user",
    params(("id" = String, Path, description = "The user's ULID")),
    responses(
        (status = 200, description = "The user", body = Single<UserAttributes>),
        (status = 404, description = "No such user", body = ErrorBody),
    ),
    security(("bearer" = ["urn:mas:admin"]))
)]
pub async fn lock(
    caller: AdminCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Single<UserAttributes>>, ApiError> {
    let user = find(&state, &id).await?;
    if user.locked_at.is_some() {
        return Ok(Json(Single::new(user.into())));
    }
    let mut repo = state.db.begin().await?;
    let user = ops::users::lock(&mut repo, (&state).into(), user).await?;
    audit(&caller, &mut repo, &state, "lock_user", &user).await?;
    repo.commit().await?;
    Ok(Json(Single::new(user.into())))
}

/// Unlock a user (a deactivated user stays deactivated).
#[utoipa::path(
    post,
    path = "/users/{id}/unlock",
    tag = "user",
    params(("id" = String, Path, description = "The user's ULID")),
    responses(
        (status = 200, description = "The user", body = Single<UserAttributes>),
        (status = 404, description = "No such user", body = ErrorBody),
    ),
    security(("bearer" = ["urn:mas:admin"]))
)]
pub async fn unlock(
    caller: AdminCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Single<UserAttributes>>, ApiError> {
    let user = find(&state, &id).await?;
    if user.locked_at.is_none() {
        return Ok(Json(Single::new(user.into())));
    }
    let mut repo = state.db.begin().await?;
    let user = ops::users::unlock(&mut repo, (&state).into(), user, false).await?;
    audit(&caller, &mut repo, &state, "unlock_user", &user).await?;
    repo.commit().await?;
    Ok(Json(Single::new(user.into())))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Deactivate {
    /// Keep the user's data on the homeserver (MAS's default erases it).
    #[serde(default)]
    pub skip_erase: bool,
}

/// Deactivate a user: locked, every session ended, deactivated on the
/// homeserver (and erased there unless `skip_erase`).
#[utoipa::path(
    post,
    path = "/users/{id}/deactivate",
    tag = "user",
    params(("id" = String, Path, description = "The user's ULID")),
    request_body(content = Option<Deactivate>),
    responses(
        (status = 200, description = "The user", body = Single<UserAttributes>),
        (status = 404, description = "No such user", body = ErrorBody),
    ),
    security(("bearer" = ["urn:mas:admin"]))
)]
pub async fn deactivate(
    caller: AdminCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Single<UserAttributes>>, ApiError> {
    // The body is optional (MAS's clients send none), and the document
    // allows `null` for it too (found by schemathesis).
    let body: Deactivate = if body.iter().all(u8::is_ascii_whitespace) {
        Deactivate::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(serde_json::Value::Null) => Deactivate::default(),
            Ok(value) => object_body(value)?,
            Err(e) => return Err(ApiError::bad_request(format!("the body is not JSON: {e}"))),
        }
    };
    let user = find(&state, &id).await?;
    if user.deactivated_at.is_some() {
        return Ok(Json(Single::new(user.into())));
    }
    let mut repo = state.db.begin().await?;
    let erase = !body.skip_erase;
    let (user, _) = ops::users::deactivate(&mut repo, (&state).into(), user, erase).await?;
    audit(&caller, &mut repo, &state, "deactivate_user", &user).await?;
    repo.commit().await?;
    Ok(Json(Single::new(user.into())))
}

/// Reactivate a user (MAS's semantics: a locked user stays locked until
/// unlocked).
#[utoipa::path(
    post,
    path = "/users/{id}/reactivate",
    tag = "user",
    params(("id" = String, Path, description = "The user's ULID")),
    responses(
        (status = 200, description = "The user", body = Single<UserAttributes>),
        (status = 404, description = "No such user", body = ErrorBody),
    ),
    security(("bearer" = ["urn:mas:admin"]))
)]
pub async fn reactivate(
    caller: AdminCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Single<UserAttributes>>, ApiError> {
    let user = find(&state, &id).await?;
    if user.deactivated_at.is_none() {
        return Ok(Json(Single::new(user.into())));
    }
    let mut repo = state.db.begin().await?;
    let user = ops::users::reactivate(&mut repo, (&state).into(), user).await?;
    audit(&caller, &mut repo, &state, "reactivate_user", &user).await?;
    repo.commit().await?;
    Ok(Json(Single::new(user.into())))
}
