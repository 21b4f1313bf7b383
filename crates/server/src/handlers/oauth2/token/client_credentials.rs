//! The `client_credentials` grant (RFC 6749 §4.4): a confidential client
//! acting for itself. Matrix API scopes are refused (they need a user);
//! `urn:mas:admin` only for clients in `policy.data.admin_clients`.

use std::collections::HashMap;

use mxauth_model::{
    oauth2::{Client, Session},
    Scope,
};
use mxauth_storage::new_ulid;

use super::issue::IssuedTokens;
use crate::ops::tokens::oauth2_pair;
use crate::{errors::OAuthError, state::AppState};

pub async fn exchange(
    state: &AppState,
    client: &Client,
    params: &HashMap<String, String>,
) -> Result<IssuedTokens, OAuthError> {
    if client.is_public() {
        return Err(OAuthError::unauthorized_client(
            "public clients cannot use client_credentials",
        ));
    }
    if !client.grant_types.client_credentials {
        return Err(OAuthError::unauthorized_client(
            "this client may not use the client_credentials grant",
        ));
    }
    let scope: Scope = match params.get("scope").map(String::as_str) {
        None | Some("") => Scope::default(),
        Some(s) => s
            .parse()
            .map_err(|e| OAuthError::invalid_scope(format!("the scope is invalid: {e}")))?,
    };
    for token in scope.iter() {
        let allowed = match token.as_str() {
            "urn:mas:admin" => state.policy.current().is_admin_client(&client.client_id()),
            "urn:mas:graphql:*" => true,
            _ => false,
        };
        if !allowed {
            return Err(OAuthError::invalid_scope(format!(
                "the scope {token} cannot be granted to a client acting for itself"
            )));
        }
    }
    let now = state.clock.now();
    let session = Session {
        id: new_ulid(now, &mut state.random.rng()),
        client_id: client.id,
        user_id: None,
        browser_session_id: None,
        scope,
        user_agent: None,
        last_active_at: None,
        last_active_ip: None,
        human_name: None,
        created_at: now,
        finished_at: None,
    };
    let mut repo = state.db.begin().await?;
    repo.oauth2_sessions().add(&session).await?;
    let pair = oauth2_pair(&mut repo, state, &session, false, now).await?;
    repo.commit().await?;
    Ok(IssuedTokens {
        access_token: pair.access_token,
        refresh_token: None,
        id_token: None,
        expires_in: state.site.access_token_ttl.num_seconds(),
        scope: session.scope.to_string(),
    })
}
