//! The `authorization_code` grant (RFC 6749 §4.1.3, RFC 7636 §4.6): a code
//! is exchanged once, by the client it was issued to, with the right PKCE
//! verifier, within 10 minutes. A code presented a second time fails and
//! ends the session it created (RFC 6749 §4.1.2, RFC 9700 §4.2.4).
//! The homeserver is called before the write transaction opens, never
//! inside it; the single use of the code is decided by a conditional
//! update in that transaction.

use std::collections::HashMap;

use chrono::Duration;
use mxauth_model::{
    oauth2::{Client, GrantState, Session},
    pkce::{self, CodeChallengeMethod},
    token_digest,
};
use mxauth_storage::new_ulid;

use super::issue::{sign_id_token, IdTokenInput, IssuedTokens};
use crate::ops::{self, tokens::oauth2_pair};
use crate::{errors::OAuthError, state::AppState};

/// How long after consent a code can be exchanged.
const CODE_LIFETIME_MINUTES: i64 = 10;

pub async fn exchange(
    state: &AppState,
    client: &Client,
    params: &HashMap<String, String>,
) -> Result<IssuedTokens, OAuthError> {
    if !client.grant_types.authorization_code {
        return Err(OAuthError::unauthorized_client(
            "this client may not use the authorization_code grant",
        ));
    }
    let code = params
        .get("code")
        .ok_or_else(|| OAuthError::invalid_request("code is missing"))?;
    let now = state.clock.now();
    // Everything up to the homeserver call only reads: no transaction (and
    // on SQLite no write lock) is held while the homeserver answers.
    let mut repo = state.db.read().await?;
    let grant = repo
        .oauth2_grants()
        .find_by_code_digest(&token_digest(code))
        .await?
        .ok_or_else(|| OAuthError::invalid_grant("the code is invalid"))?;
    if grant.client_id != client.id {
        return Err(OAuthError::invalid_grant(
            "the code was issued to another client",
        ));
    }
    match grant.state() {
        GrantState::Fulfilled => {}
        GrantState::Exchanged => {
            drop(repo);
            end_replayed_session(state, grant.id, grant.session_id).await?;
            return Err(OAuthError::invalid_grant("the code was already used"));
        }
        GrantState::Pending | GrantState::Cancelled => {
            return Err(OAuthError::invalid_grant("the code is invalid"))
        }
    }
    if grant
        .fulfilled_at
        .is_some_and(|at| now - at > Duration::minutes(CODE_LIFETIME_MINUTES))
    {
        return Err(OAuthError::invalid_grant("the code has expired"));
    }
    // RFC 6749 §4.1.3: redirect_uri is REQUIRED when the authorization
    // request included it, and must be identical to it.
    match params.get("redirect_uri") {
        Some(uri) if *uri != grant.redirect_uri => {
            return Err(OAuthError::invalid_grant(
                "redirect_uri differs from the authorization request",
            ))
        }
        None if grant.redirect_uri_sent => {
            return Err(OAuthError::invalid_request(
                "redirect_uri is missing; it was sent with the authorization request",
            ))
        }
        _ => {}
    }
    match (&grant.code_challenge, params.get("code_verifier")) {
        (Some(challenge), Some(verifier)) => {
            let method = grant
                .code_challenge_method
                .unwrap_or(CodeChallengeMethod::S256);
            pkce::check(method, challenge, verifier)
                .map_err(|e| OAuthError::invalid_grant(format!("PKCE verification failed: {e}")))?;
        }
        (Some(_), None) => return Err(OAuthError::invalid_grant("code_verifier is missing")),
        (None, Some(_)) => {
            return Err(OAuthError::invalid_grant(
                "code_verifier was sent but the authorization request had no code_challenge",
            ))
        }
        (None, None) => {}
    }

    let browser_session_id = grant
        .browser_session_id
        .ok_or_else(|| OAuthError::invalid_grant("the code is invalid"))?;
    let browser_session = repo
        .browser_sessions()
        .find(browser_session_id)
        .await?
        .filter(|s| s.is_active())
        .ok_or_else(|| {
            OAuthError::invalid_grant("the browser session that approved this code has ended")
        })?;
    let user = repo
        .users()
        .find_by_id(browser_session.user_id)
        .await?
        .filter(|u| u.is_valid())
        .ok_or_else(|| OAuthError::invalid_grant("the user is locked or deactivated"))?;
    let auth_time = repo
        .browser_sessions()
        .last_authentication_at(browser_session.id)
        .await?;
    drop(repo);

    let scope = &grant.scope;
    // The device must exist on the homeserver before the client uses the
    // token (Synapse refuses tokens of unknown devices). The upsert is
    // idempotent, so it runs before anything is written: if the homeserver
    // is down, nothing is created and the same code can be tried again.
    if let Ok(Some(device)) = scope.device_id() {
        ops::devices::ensure(state.homeserver.as_ref(), &user, device, None)
            .await
            .map_err(|_| {
                OAuthError::temporarily_unavailable(
                    "the homeserver could not be reached to create this device; try again",
                )
            })?;
    }

    let mut repo = state.db.begin().await?;

    let session = Session {
        id: new_ulid(now, &mut state.random.rng()),
        client_id: client.id,
        user_id: Some(user.id),
        browser_session_id: Some(browser_session.id),
        scope: grant.scope.clone(),
        user_agent: None,
        last_active_at: None,
        last_active_ip: None,
        human_name: None,
        created_at: now,
        finished_at: None,
    };
    repo.oauth2_sessions().add(&session).await?;
    if !repo
        .oauth2_grants()
        .exchange(grant.id, session.id, now)
        .await?
    {
        // A concurrent exchange won the race.
        return Err(OAuthError::invalid_grant("the code was already used"));
    }
    let pair = oauth2_pair(
        &mut repo,
        state,
        &session,
        client.grant_types.refresh_token,
        now,
    )
    .await?;
    let id_token = if scope.contains("openid") {
        let input = IdTokenInput {
            client,
            user: &user,
            nonce: grant.nonce.as_deref(),
            auth_time,
            access_token: &pair.access_token,
            code: Some(code),
        };
        Some(sign_id_token(state, &input, now)?)
    } else {
        None
    };
    repo.commit().await?;
    Ok(IssuedTokens {
        access_token: pair.access_token,
        refresh_token: pair.refresh_token,
        id_token,
        expires_in: state.site.access_token_ttl.num_seconds(),
        scope: grant.scope.to_string(),
    })
}

/// A code presented again: someone else may hold the tokens of the first
/// exchange, so the session it created ends (RFC 9700 §4.2.4).
async fn end_replayed_session(
    state: &AppState,
    grant_id: ulid::Ulid,
    session_id: Option<ulid::Ulid>,
) -> Result<(), OAuthError> {
    let Some(session_id) = session_id else {
        return Ok(());
    };
    let mut repo = state.db.begin().await?;
    if let Some(session) = repo.oauth2_sessions().find(session_id).await? {
        ops::sessions::end_oauth2(&mut repo, state.into(), &session).await?;
        repo.commit().await?;
        tracing::warn!(grant = %grant_id, "authorization code replayed; its session was ended");
    }
    Ok(())
}
