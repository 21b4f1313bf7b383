//! `/api/admin/v1/oauth2-clients`: the OAuth clients, static (from the
//! configuration) and registered — list (filters `client-kind` =
//! `static`|`dynamic`, `client-name`, `grant-type`) and one by id. Read
//! only: static clients come from the file, registered ones from RFC 7591.

use axum::{
    extract::{Path, Query, State},
    Json,
};
use chrono::{DateTime, Utc};
use mxauth_model::oauth2::Client;
use mxauth_storage::ClientFilter;
use serde::{Deserialize, Serialize};
use ulid::Ulid;
use utoipa::{IntoParams, ToSchema};

use super::{
    auth::AdminCaller,
    error::{parse_id, ApiError, ErrorBody},
    response::{list_of, List, PageParams, Resource, Single},
};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct ClientAttributes {
    #[serde(skip)]
    id: Ulid,
    pub created_at: DateTime<Utc>,
    /// The id the client uses on the wire.
    pub client_id: String,
    pub client_name: Option<String>,
    pub client_uri: Option<String>,
    pub logo_uri: Option<String>,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<&'static str>,
    pub token_endpoint_auth_method: String,
    /// From the configuration (`static`) or registered (`dynamic`).
    pub kind: &'static str,
}

impl From<Client> for ClientAttributes {
    fn from(c: Client) -> Self {
        let mut grant_types = Vec::new();
        for (on, name) in [
            (c.grant_types.authorization_code, "authorization_code"),
            (c.grant_types.refresh_token, "refresh_token"),
            (c.grant_types.client_credentials, "client_credentials"),
            (
                c.grant_types.device_code,
                "urn:ietf:params:oauth:grant-type:device_code",
            ),
        ] {
            if on {
                grant_types.push(name);
            }
        }
        Self {
            id: c.id,
            created_at: c.created_at,
            client_id: c.client_id(),
            client_name: c.client_name.clone(),
            client_uri: c.client_uri.clone(),
            logo_uri: c.logo_uri.clone(),
            redirect_uris: c.redirect_uris.clone(),
            grant_types,
            token_endpoint_auth_method: c.token_endpoint_auth_method.as_str().to_owned(),
            kind: if c.is_static { "static" } else { "dynamic" },
        }
    }
}

impl Resource for ClientAttributes {
    const TYPE: &'static str = "oauth2-client";
    const PATH: &'static str = "/oauth2-clients";
    fn id(&self) -> Ulid {
        self.id
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ClientFilterParams {
    /// `static` or `dynamic`.
    #[serde(rename = "filter[client-kind]")]
    #[param(rename = "filter[client-kind]")]
    pub kind: Option<String>,
    /// Part of the name.
    #[serde(rename = "filter[client-name]")]
    #[param(rename = "filter[client-name]")]
    pub name: Option<String>,
    #[serde(rename = "filter[grant-type]")]
    #[param(rename = "filter[grant-type]")]
    pub grant_type: Option<String>,
}

/// List OAuth clients.
#[utoipa::path(get, path = "/oauth2-clients", tag = "oauth2-client",
    params(ClientFilterParams, PageParams),
    responses(
        (status = 200, description = "A page of clients", body = List<ClientAttributes>),
        (status = 400, description = "A bad filter or page", body = ErrorBody),
    ),
    security(("bearer" = ["urn:mas:admin"])))]
pub async fn list(
    _caller: AdminCaller,
    State(state): State<AppState>,
    Query(filters): Query<ClientFilterParams>,
    Query(page): Query<PageParams>,
) -> Result<Json<List<ClientAttributes>>, ApiError> {
    let is_static = match filters.kind.as_deref() {
        None => None,
        Some("static") => Some(true),
        Some("dynamic") => Some(false),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "filter[client-kind] must be static or dynamic, not {other:?}"
            )))
        }
    };
    let filter = ClientFilter {
        is_static,
        name: filters.name.clone(),
        grant_type: filters.grant_type.clone(),
    };
    let query = {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("filter[client-kind]", &filters.kind),
            ("filter[client-name]", &filters.name),
            ("filter[grant-type]", &filters.grant_type),
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
        async |repo| repo.oauth2_clients().count_matching(&filter).await,
        async |repo, p| repo.oauth2_clients().page(&filter, p).await,
        ClientAttributes::from,
    )
    .await
}

/// Get an OAuth client.
#[utoipa::path(get, path = "/oauth2-clients/{id}", tag = "oauth2-client",
    params(("id" = String, Path, description = "The client's ULID")),
    responses(
        (status = 200, description = "The client", body = Single<ClientAttributes>),
        (status = 404, description = "No such client", body = ErrorBody),
    ),
    security(("bearer" = ["urn:mas:admin"])))]
pub async fn get(
    _caller: AdminCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Single<ClientAttributes>>, ApiError> {
    let id = parse_id(&id)?;
    let mut repo = state.db.read().await?;
    let client = repo
        .oauth2_clients()
        .find(id)
        .await?
        .ok_or_else(|| ApiError::not_found("OAuth client", id))?;
    Ok(Json(Single::new(client.into())))
}
