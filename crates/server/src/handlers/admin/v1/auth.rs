//! Who calls the admin API: a bearer access token (`mat_…`) that is active
//! and whose session holds `urn:mas:admin` — from the interactive admin
//! grant (users with `can_request_admin`) or `client_credentials` for a
//! client of `policy.data.admin_clients`. Anything else is 401 (no or dead
//! token) or 403 (a live token without the scope). Every action logs who
//! did it ([`AdminCaller::describe`]).

use axum::{extract::FromRequestParts, http::request::Parts};
use mxauth_storage::SessionKind;

use super::error::ApiError;
use crate::{
    extract::ClientIp,
    handlers::oauth2::bearer::{active_access_token, bearer},
    state::AppState,
};

/// The admin behind a request.
#[derive(Debug, Clone)]
pub struct AdminCaller {
    /// The admin user, for a token of the interactive grant.
    pub user: Option<mxauth_model::User>,
    /// The client the token was issued to.
    pub client_id: String,
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

impl FromRequestParts<AppState> for AdminCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(&parts.headers)
            .ok_or_else(|| ApiError::unauthorized("an access token is required"))?;
        let active = active_access_token(state, token)
            .await?
            .ok_or_else(|| ApiError::unauthorized("the access token is not active"))?;
        if !active.session.scope.requests_mas_admin() {
            return Err(ApiError::forbidden(
                "the access token lacks the urn:mas:admin scope",
            ));
        }
        let Ok(ip) = ClientIp::from_request_parts(parts, state).await;
        state.activity.record(
            SessionKind::OAuth2,
            active.session.id,
            state.clock.now(),
            ip.0,
        );
        Ok(Self {
            user: active.user,
            client_id: active.session.client_id.to_string(),
        })
    }
}
