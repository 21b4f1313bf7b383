//! `POST /oauth2/revoke` (RFC 7009). Revoking either token of a session ends
//! the whole session (§2.1 allows revoking related tokens). An unknown token
//! is not an error (§2.2): the answer is 200 either way.

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Form,
};
use mxauth_model::{token_digest, TokenType};

use super::{
    client_auth::{authenticate, form_params},
    error::OAuthError,
};
use crate::{state::AppState, urls::paths};

pub async fn handler(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    match handle(&state, &headers, pairs).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => e.into_response(),
    }
}

async fn handle(
    state: &AppState,
    headers: &HeaderMap,
    pairs: Vec<(String, String)>,
) -> Result<(), OAuthError> {
    let params = form_params(pairs)?;
    let client = authenticate(state, headers, &params, &state.urls.absolute(paths::REVOKE)).await?;
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
        return Ok(());
    };
    let Some(session) = repo.oauth2_sessions().find(session_id).await? else {
        return Ok(());
    };
    if session.client_id != client.id {
        return Err(OAuthError::unauthorized_client(
            "the token was issued to another client",
        ));
    }
    crate::ops::sessions::end_oauth2(&mut repo, state.into(), &session).await?;
    repo.commit().await?;
    Ok(())
}
