//! Looking up an access token presented by a client or a resource server,
//! and deciding whether it is active: not expired or revoked, its session
//! not finished, its user (if any) neither locked nor deactivated.

use axum::http::{header, HeaderMap};
use chrono::{DateTime, Utc};
use mxauth_model::{
    oauth2::{AccessToken, Session},
    token_digest, TokenType, User,
};

use crate::state::AppState;

/// An active access token with its session and user.
pub struct ActiveToken {
    pub token: AccessToken,
    pub session: Session,
    pub user: Option<User>,
}

/// `Authorization: Bearer <token>` (RFC 6750 §2.1).
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

pub fn is_active(
    token: &AccessToken,
    session: &Session,
    user: Option<&User>,
    now: DateTime<Utc>,
) -> bool {
    token.is_valid(now)
        && session.is_active()
        && user.is_none_or(User::is_valid)
        && (session.user_id.is_none() || user.is_some())
}

/// Finds an active OAuth access token; records its first use.
pub async fn active_access_token(
    state: &AppState,
    token: &str,
) -> Result<Option<ActiveToken>, mxauth_storage::StorageError> {
    active_access_token_of(state, token, None).await
}

/// Like [`active_access_token`], limited to tokens issued to `client_id`
/// when given: a token of another client is not active for this caller,
/// and its first use is not recorded.
pub async fn active_access_token_of(
    state: &AppState,
    token: &str,
    client_id: Option<&str>,
) -> Result<Option<ActiveToken>, mxauth_storage::StorageError> {
    // The prefix and checksum reject garbage before any database work.
    if TokenType::check(token) != Ok(TokenType::AccessToken) {
        return Ok(None);
    }
    let now = state.clock.now();
    // Through the token cache on PostgreSQL (see `mxauth_storage::token_cache`).
    let digest = token_digest(token);
    let found = state.db.lookup_access_token(&digest).await?;
    let Some((token, session, user)) = found else {
        return Ok(None);
    };
    if !is_active(&token, &session, user.as_ref(), now) {
        return Ok(None);
    }
    if client_id.is_some_and(|id| id != session.client_id.to_string()) {
        return Ok(None);
    }
    // Written once per token, not on every check: this is a hot path.
    if token.first_used_at.is_none() {
        let mut repo = state.db.begin().await?;
        repo.oauth2_access_tokens().mark_used(token.id, now).await?;
        repo.commit().await?;
        if let Some(cache) = state.db.token_cache() {
            cache.note_first_use(&digest, now);
        }
    }
    Ok(Some(ActiveToken {
        token,
        session,
        user,
    }))
}
