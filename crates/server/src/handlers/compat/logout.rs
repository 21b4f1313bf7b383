//! `POST /_matrix/client/{v}/logout` and `/logout/all`: end compat sessions
//! and have the worker remove their devices from the homeserver.

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode},
    Json,
};
use mxauth_model::{compat::CompatSession, token_digest, TokenType, User};
use mxauth_storage::Repository;
use serde_json::json;

use super::MatrixError;
use crate::{
    handlers::oauth2::bearer::bearer,
    jobs::{self, SyncDevices},
    state::AppState,
};

/// The active compat session and user of the request's access token.
pub async fn authenticated(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<(CompatSession, User), MatrixError> {
    let token = bearer(headers).ok_or_else(|| {
        MatrixError::new(
            StatusCode::UNAUTHORIZED,
            "M_MISSING_TOKEN",
            "Missing access token",
        )
    })?;
    if TokenType::check(token) != Ok(TokenType::CompatAccessToken) {
        return Err(MatrixError::unknown_token(
            "Only tokens from /login can be used here",
        ));
    }
    let mut repo = state.db.read().await?;
    let found = repo
        .compat_access_tokens()
        .lookup(&token_digest(token))
        .await?;
    drop(repo);
    let now = state.clock.now();
    match found {
        Some((token, session, user))
            if token.is_valid(now) && session.is_active() && user.is_valid() =>
        {
            Ok((session, user))
        }
        _ => Err(MatrixError::unknown_token("Invalid access token")),
    }
}

async fn end(
    repo: &mut Repository,
    state: &AppState,
    session: &CompatSession,
) -> Result<(), MatrixError> {
    if repo
        .compat_sessions()
        .finish(session.id, state.clock.now())
        .await?
    {
        let job = SyncDevices {
            user_id: session.user_id,
        };
        jobs::enqueue(
            repo,
            state.clock.as_ref(),
            state.random.as_ref(),
            &job.into(),
        )
        .await?;
    }
    Ok(())
}

pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, MatrixError> {
    let (session, _) = authenticated(&state, &headers).await?;
    let mut repo = state.db.begin().await?;
    end(&mut repo, &state, &session).await?;
    repo.commit().await?;
    Ok(Json(json!({})))
}

/// Ends every compat session of the user (not their OAuth sessions).
pub async fn logout_all(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, MatrixError> {
    let (_, user) = authenticated(&state, &headers).await?;
    let mut repo = state.db.begin().await?;
    for session in repo.compat_sessions().active(&user, None).await? {
        end(&mut repo, &state, &session).await?;
    }
    repo.commit().await?;
    Ok(Json(json!({})))
}
