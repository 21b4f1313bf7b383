//! The `refresh_token` grant (RFC 6749 §6) with rotation (RFC 9700 §4.14.2):
//! every refresh consumes the token and issues a new pair. Presenting a
//! consumed token again is accepted once, when its successor's access token
//! was never used (the client lost the previous response); otherwise it is a
//! replay, and the whole session is ended.

use std::collections::HashMap;

use mxauth_model::{
    oauth2::{Client, RefreshToken, Session},
    token_digest, Scope, User,
};
use mxauth_storage::{Repository, Rotation, RotationRequest};

use super::issue::IssuedTokens;
use crate::ops::{
    self,
    tokens::{oauth2_pair, successor_pair, NewPair},
};
use crate::{errors::OAuthError, state::AppState};

pub async fn exchange(
    state: &AppState,
    client: &Client,
    params: &HashMap<String, String>,
) -> Result<IssuedTokens, OAuthError> {
    if !client.grant_types.refresh_token {
        return Err(OAuthError::unauthorized_client(
            "this client may not use the refresh_token grant",
        ));
    }
    let token = params
        .get("refresh_token")
        .ok_or_else(|| OAuthError::invalid_request("refresh_token is missing"))?;
    let now = state.clock.now();
    let requested = requested_scope(params)?;
    // One statement on PostgreSQL: the lookup and, when every condition of
    // `check_usable` holds and the token is unconsumed, the rotation. No
    // transaction around it: the rotation's own condition (the token still
    // unconsumed) is what makes replay detection exact.
    let (pair, successor) = successor_pair(state, now);
    let request = RotationRequest {
        client_id: client.id,
        scope: requested.as_ref(),
    };
    let Rotation {
        refresh,
        session,
        user,
        rotated,
    } = state
        .db
        .lookup_and_rotate(&token_digest(token), &request, &successor, now)
        .await?
        .ok_or_else(|| OAuthError::invalid_grant("the refresh token is invalid"))?;
    if rotated {
        return Ok(issued(state, pair, &session));
    }
    // Not rotated: say why.
    check_usable(
        client,
        &session,
        user.as_ref(),
        &refresh,
        requested.as_ref(),
    )?;
    if refresh.consumed_at.is_none() {
        // Usable when read, consumed by a concurrent refresh before the
        // rotation got to it.
        return Err(OAuthError::invalid_grant(
            "the refresh token was already used",
        ));
    }

    // Presented again after a rotation: the client lost the response (its
    // successor was never used), or somebody replays it.
    let mut repo = state.db.begin().await?;
    let Some(replaced) = lost_response_successor(&mut repo, &refresh).await? else {
        ops::sessions::end_oauth2(&mut repo, state.into(), &session).await?;
        repo.commit().await?;
        tracing::warn!(session = %session.id, "refresh token replayed; the session was ended");
        return Err(OAuthError::invalid_grant(
            "the refresh token was already used",
        ));
    };
    let pair = oauth2_pair(&mut repo, state, &session, true, now).await?;
    let new_refresh_id = pair
        .refresh_token_id
        .ok_or_else(|| OAuthError::server_error(&"no refresh token issued"))?;
    if !repo
        .oauth2_refresh_tokens()
        .consume(replaced, new_refresh_id, now)
        .await?
    {
        return Err(OAuthError::invalid_grant(
            "the refresh token was already used",
        ));
    }
    repo.commit().await?;
    Ok(issued(state, pair, &session))
}

/// The narrower `scope` the client asks for, if any (RFC 6749 §6).
fn requested_scope(params: &HashMap<String, String>) -> Result<Option<Scope>, OAuthError> {
    params
        .get("scope")
        .filter(|s| !s.is_empty())
        .map(|requested| {
            requested
                .parse()
                .map_err(|e| OAuthError::invalid_scope(format!("the scope is invalid: {e}")))
        })
        .transpose()
}

/// Why a token that was not rotated may not be refreshed by this client:
/// the conditions of the rotation (`may_rotate` in storage, and its SQL),
/// each with its own answer. `Ok` when they all hold (the token was then
/// consumed, by a concurrent refresh or earlier).
fn check_usable(
    client: &Client,
    session: &Session,
    user: Option<&User>,
    refresh: &RefreshToken,
    requested: Option<&Scope>,
) -> Result<(), OAuthError> {
    if session.client_id != client.id {
        return Err(OAuthError::invalid_grant(
            "the refresh token was issued to another client",
        ));
    }
    if !session.is_active() {
        return Err(OAuthError::invalid_grant(
            "the session of this refresh token has ended",
        ));
    }
    if session.user_id.is_some() && !user.is_some_and(User::is_valid) {
        return Err(OAuthError::invalid_grant(
            "the user is locked or deactivated",
        ));
    }
    if refresh.revoked_at.is_some() {
        return Err(OAuthError::invalid_grant("the refresh token was revoked"));
    }
    if requested.is_some_and(|scope| !scope.is_subset_of(&session.scope)) {
        return Err(OAuthError::invalid_scope(
            "a refresh cannot widen the scope of the session",
        ));
    }
    Ok(())
}

fn issued(state: &AppState, pair: NewPair, session: &Session) -> IssuedTokens {
    IssuedTokens {
        access_token: pair.access_token,
        refresh_token: pair.refresh_token,
        id_token: None,
        expires_in: state.site.access_token_ttl.num_seconds(),
        scope: session.scope.to_string(),
    }
}

/// The successor of a consumed token, when it can still be replaced: it is
/// itself unused and its access token never reached a resource server. Its
/// access token is revoked, since the client never received it.
async fn lost_response_successor(
    repo: &mut Repository,
    consumed: &RefreshToken,
) -> Result<Option<ulid::Ulid>, OAuthError> {
    let Some(next_id) = consumed.next_refresh_token_id else {
        return Ok(None);
    };
    let Some(next) = repo.oauth2_refresh_tokens().find(next_id).await? else {
        return Ok(None);
    };
    if !next.is_valid() {
        return Ok(None);
    }
    let access = match next.access_token_id {
        Some(id) => repo.oauth2_access_tokens().find(id).await?,
        None => None,
    };
    if access.as_ref().is_some_and(|a| a.first_used_at.is_some()) {
        return Ok(None);
    }
    if let Some(access) = access {
        repo.oauth2_access_tokens()
            .revoke(access.id, consumed.consumed_at.unwrap_or_default())
            .await?;
    }
    Ok(Some(next.id))
}
