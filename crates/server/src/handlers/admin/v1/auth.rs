//! Who calls the admin API: a bearer access token (`mat_…`) that is active
//! and whose session holds `urn:mas:admin` — from the interactive admin
//! grant (users with `can_request_admin`) or `client_credentials` for a
//! client of `policy.data.admin_clients`. Anything else is 401 (no or dead
//! token) or 403 (a live token without the scope). Every action logs who
//! did it ([`AdminCaller::describe`]). A personal access token with
//! `urn:mas:admin` (of a user allowed admin rights) works too.

use axum::{extract::FromRequestParts, http::request::Parts};
use mxauth_storage::SessionKind;

use super::error::ApiError;
use crate::{
    extract::ClientIp,
    handlers::oauth2::bearer::{active_access_token, bearer},
    ops::personal_tokens,
    state::AppState,
};

/// The admin behind a request.
#[derive(Debug, Clone)]
pub struct AdminCaller {
    /// The admin user, for a token of the interactive grant.
    pub user: Option<mxauth_model::User>,
    /// The client the token was issued to.
    pub client_id: String,
    /// Who owns what this caller issues (personal sessions): the admin
    /// user, else the client.
    pub owner: mxauth_model::PersonalOwner,
}

impl AdminCaller {
    /// `user alice` or `client 01H…`, for logs and the audit trail.
    pub fn describe(&self) -> String {
        match &self.user {
            Some(user) => format!("user {}", user.username),
            None => format!("client {}", self.client_id),
        }
    }
}

impl AdminCaller {
    /// Records `action` on the resource `target_type`/`target_id` in the
    /// audit trail, in `repo`'s transaction (call before committing).
    pub async fn audit(
        &self,
        repo: &mut mxauth_storage::Repository,
        state: &AppState,
        action: &str,
        target_type: &str,
        target_id: &str,
    ) -> Result<(), mxauth_storage::StorageError> {
        crate::ops::audit::record(
            repo,
            state.into(),
            &self.describe(),
            action,
            target_type,
            target_id,
        )
        .await
    }
}

impl FromRequestParts<AppState> for AdminCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Ok(ip) = ClientIp::from_request_parts(parts, state).await;
        let token = bearer(&parts.headers)
            .ok_or_else(|| ApiError::unauthorized("an access token is required"))?;
        let now = state.clock.now();
        let not_admin = || ApiError::forbidden("the access token lacks the urn:mas:admin scope");
        if let Some(personal) = personal_tokens::active(state, token).await? {
            if !personal.session.scope.requests_mas_admin() {
                return Err(not_admin());
            }
            let id = personal.session.id;
            state.activity.record(SessionKind::Personal, id, now, ip.0);
            return Ok(Self {
                owner: mxauth_model::PersonalOwner::User(personal.actor.id),
                user: Some(personal.actor),
                client_id: format!("personal session {id}"),
            });
        }
        let active = active_access_token(state, token)
            .await?
            .ok_or_else(|| ApiError::unauthorized("the access token is not active"))?;
        if !active.session.scope.requests_mas_admin() {
            return Err(not_admin());
        }
        let id = active.session.id;
        state.activity.record(SessionKind::OAuth2, id, now, ip.0);
        let owner = match &active.user {
            Some(user) => mxauth_model::PersonalOwner::User(user.id),
            None => mxauth_model::PersonalOwner::Client(active.session.client_id),
        };
        Ok(Self {
            owner,
            user: active.user,
            client_id: active.session.client_id.to_string(),
        })
    }
}
