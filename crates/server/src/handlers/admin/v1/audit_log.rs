//! `GET /api/admin/v1/audit-log` (mxauth's own; MAS has none): what admins
//! did through this API and the console — who, what, to which resource,
//! when — oldest first, with `filter[action]` and `filter[target]`.

use axum::{
    extract::{Query, State},
    Json,
};
use chrono::{DateTime, Utc};
use mxauth_storage::{AuditEvent, AuditFilter};
use serde::{Deserialize, Serialize};
use ulid::Ulid;
use utoipa::{IntoParams, ToSchema};

use super::{
    auth::AdminCaller,
    error::{ApiError, ErrorBody},
    response::{list_of, List, PageParams, Resource},
};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventAttributes {
    #[serde(skip)]
    id: Ulid,
    pub created_at: DateTime<Utc>,
    /// `user alice` or `client 01H…`.
    pub actor: String,
    /// `lock_user`, `issue_personal_token`…
    pub action: String,
    /// The resource type acted on (`user`, `personal-session`…).
    pub target_type: String,
    pub target_id: String,
}

impl From<AuditEvent> for AuditEventAttributes {
    fn from(e: AuditEvent) -> Self {
        Self {
            id: e.id,
            created_at: e.created_at,
            actor: e.actor,
            action: e.action,
            target_type: e.target_type,
            target_id: e.target_id,
        }
    }
}

impl Resource for AuditEventAttributes {
    const TYPE: &'static str = "audit-event";
    const PATH: &'static str = "/audit-log";
    fn id(&self) -> Ulid {
        self.id
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditFilterParams {
    #[serde(rename = "filter[action]")]
    #[param(rename = "filter[action]")]
    pub action: Option<String>,
    /// The id of the resource acted on.
    #[serde(rename = "filter[target]")]
    #[param(rename = "filter[target]")]
    pub target: Option<String>,
}

/// List what admins did.
#[utoipa::path(
    get,
    path = "/audit-log",
    tag = "audit",
    params(AuditFilterParams, PageParams),
    responses(
        (status = 200, description = "A page of admin actions", body = List<AuditEventAttributes>),
        (status = 400, description = "A bad filter or page", body = ErrorBody),
    ),
    security(("bearer" = ["urn:mas:admin"]))
)]
pub async fn list(
    _caller: AdminCaller,
    State(state): State<AppState>,
    Query(filters): Query<AuditFilterParams>,
    Query(page): Query<PageParams>,
) -> Result<Json<List<AuditEventAttributes>>, ApiError> {
    let filter = AuditFilter {
        action: filters.action.clone(),
        target_id: filters.target.clone(),
    };
    let query = {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        if let Some(v) = &filters.action {
            q.append_pair("filter[action]", v);
        }
        if let Some(v) = &filters.target {
            q.append_pair("filter[target]", v);
        }
        q.finish()
    };
    list_of(
        &state,
        &page,
        &query,
        async |repo| repo.audit_events().count_matching(&filter).await,
        async |repo, p| repo.audit_events().page(&filter, p).await,
        AuditEventAttributes::from,
    )
    .await
}
