//! `POST /_matrix/client/{v}/refresh` (C-S API "Refreshing access tokens"):
//! a compat refresh token is used once and replaced, with a new access
//! token; the old access token stops working.

use axum::{
    extract::State,
    response::{IntoResponse, Response},
    Json,
};
use mxauth_model::{token_digest, TokenType};
use serde_json::{json, Value};

use super::MatrixError;
use crate::state::AppState;

pub async fn refresh(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    match handle(&state, &body).await {
        Ok(answer) => Json(answer).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn handle(state: &AppState, body: &[u8]) -> Result<Value, MatrixError> {
    let body: Value = serde_json::from_slice(body)
        .map_err(|e| MatrixError::bad_json(format!("the body is not JSON: {e}")))?;
    let token = body
        .get("refresh_token")
        .and_then(Value::as_str)
        .ok_or_else(|| MatrixError::bad_json("refresh_token is missing"))?;
    if TokenType::check(token) != Ok(TokenType::CompatRefreshToken) {
        return Err(MatrixError::unknown_token("Invalid refresh token"));
    }
    let now = state.clock.now();
    let mut repo = state.db.begin().await?;
    let refresh = repo
        .compat_refresh_tokens()
        .find_by_digest(&token_digest(token))
        .await?
        .filter(|t| t.consumed_at.is_none())
        .ok_or_else(|| MatrixError::unknown_token("Invalid refresh token"))?;
    let session = repo
        .compat_sessions()
        .find(refresh.session_id)
        .await?
        .filter(|s| s.is_active())
        .ok_or_else(|| MatrixError::unknown_token("The session has ended"))?;
    let user_ok = repo
        .users()
        .find_by_id(session.user_id)
        .await?
        .is_some_and(|u| u.is_valid());
    if !user_ok {
        return Err(MatrixError::unknown_token(
            "The account is locked or deactivated",
        ));
    }
    if !repo
        .compat_refresh_tokens()
        .consume(refresh.id, now)
        .await?
    {
        return Err(MatrixError::unknown_token("Invalid refresh token"));
    }
    if let Some(old) = refresh.access_token_id {
        repo.compat_access_tokens().expire(old, now).await?;
    }
    let ttl = Some(state.site.compat_token_ttl);
    let pair = crate::ops::tokens::compat_pair(&mut repo, state.into(), session.id, ttl).await?;
    repo.commit().await?;
    Ok(json!({
        "access_token": pair.access_token,
        "refresh_token": pair.refresh_token,
        "expires_in_ms": pair.expires_in_ms,
    }))
}
