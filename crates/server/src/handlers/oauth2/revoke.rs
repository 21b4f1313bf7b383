//! `POST /oauth2/revoke` (RFC 7009). Revoking either token of a session ends
//! the whole session (§2.1 allows revoking related tokens). An unknown token
//! is not an error (§2.2): the answer is 200 either way.

use axum::{extract::State, http::StatusCode};
use mxauth_model::{token_digest, TokenType};

use crate::errors::OAuthError;
use crate::{
    extract::{client_auth::Revocation, AuthenticatedClient},
    state::AppState,
};

pub async fn handler(
    State(state): State<AppState>,
    request: AuthenticatedClient<Revocation>,
) -> Result<StatusCode, OAuthError> {
    let AuthenticatedClient { client, params, .. } = request;
    let token = params
        .get("token")
        .ok_or_else(|| OAuthError::invalid_request("token is missing"))?;
    let digest = token_digest(token);
    let mut repo = state.db.begin().await?;
    let session_id = match TokenType::check(token) {
        Ok(TokenType::AccessToken) => repo
            .oauth2_access_tokens()
            .find_by_digest(&digest)
            .await?
            .map(|t| t.session_id),
        Ok(TokenType::RefreshToken) => repo
            .oauth2_refresh_tokens()
            .find_by_digest(&digest)
            .await?
            .map(|t| t.session_id),
        _ => None,
    };
    let Some(session_id) = session_id else {
        return Ok(StatusCode::OK);
    };
    let Some(session) = repo.oauth2_sessions().find(session_id).await? else {
        return Ok(StatusCode::OK);
    };
    if session.client_id != client.id {
        return Err(OAuthError::unauthorized_client(
            "the token was issued to another client",
        ));
    }
    crate::ops::sessions::end_oauth2(&mut repo, (&state).into(), &session).await?;
    repo.commit().await?;
    Ok(StatusCode::OK)
}
