//! `POST /oauth2/introspect` (RFC 7662). Callers: confidential clients, and
//! the homeserver with `Authorization: Bearer <matrix.secret>` (compared in
//! constant time). Anything not active is `{"active": false}` and nothing
//! else, so the answer reveals nothing about unknown or dead tokens.
//!
//! Who sees what:
//! - The homeserver asks "may this bearer reach the Matrix API?", so only
//!   access tokens (OAuth, compat, imported Synapse ones) can be active for
//!   it. A refresh token never expires on its own and is never shown to a
//!   resource server; answering it as active would make it a bearer token
//!   that outlives every rotation.
//! - A dynamically registered client may introspect only tokens issued to
//!   it (RFC 7662 §4: the server decides which tokens a caller may see;
//!   anyone can register a client). Static clients, declared by the admin
//!   in the configuration, may introspect every token, as in MAS, so the
//!   older MSC3861 setup where Synapse introspects as a client keeps working.
//! - A `token_type_hint` that names another type answers inactive (MAS's
//!   rule), so a caller cannot use one kind of token where another is meant.

use axum::{extract::State, http::HeaderMap, response::Response};
use mxauth_model::{scope::device_scope, token_digest, TokenType};
use serde_json::{json, Value};
use subtle::ConstantTimeEq;

use super::{
    bearer::{active_access_token_of, bearer},
    error::{no_store_json, OAuthError},
};
use crate::{
    extract::{authenticate, OAuthForm, OAuthParams},
    state::AppState,
    urls::paths,
};

pub async fn handler(
    State(state): State<AppState>,
    headers: HeaderMap,
    OAuthForm(params): OAuthForm,
) -> Result<Response, OAuthError> {
    handle(&state, &headers, &params).await.map(no_store_json)
}

fn inactive() -> Value {
    json!({ "active": false })
}

async fn handle(
    state: &AppState,
    headers: &HeaderMap,
    params: &OAuthParams,
) -> Result<Value, OAuthError> {
    let caller = caller(state, headers, params).await?;
    let token = params
        .get("token")
        .ok_or_else(|| OAuthError::invalid_request("token is missing"))?;
    let with_device_id = headers
        .get("x-mas-supports-device-id")
        .is_some_and(|v| v.as_bytes() == b"1");

    let Ok(token_type) = TokenType::check(token) else {
        return Ok(inactive());
    };
    if !hint_matches(params.get("token_type_hint"), token_type) {
        return Ok(inactive());
    }
    if caller == Caller::Homeserver && !token_type.is_access_token() {
        return Ok(inactive());
    }
    let body = match token_type {
        TokenType::AccessToken => {
            access_token(state, token, caller.only_client(), with_device_id).await?
        }
        TokenType::RefreshToken => refresh_token(state, token).await?,
        TokenType::CompatAccessToken => compat_access_token(state, token, with_device_id).await?,
        _ => inactive(),
    };
    Ok(if caller.may_see(&body) {
        body
    } else {
        inactive()
    })
}

/// Who asked.
#[derive(Debug, PartialEq, Eq)]
enum Caller {
    /// The homeserver, with the shared secret.
    Homeserver,
    /// A client declared in the configuration.
    StaticClient,
    /// A dynamically registered confidential client.
    DynamicClient(String),
}

impl Caller {
    /// Whether this caller may see an active answer about a token issued to
    /// the answer's `client_id` (`legacy` for compat sessions).
    fn may_see(&self, body: &Value) -> bool {
        match self {
            Caller::Homeserver | Caller::StaticClient => true,
            Caller::DynamicClient(id) => body["client_id"].as_str() == Some(id.as_str()),
        }
    }

    /// The one client whose tokens this caller may see, if limited.
    fn only_client(&self) -> Option<&str> {
        match self {
            Caller::DynamicClient(id) => Some(id),
            _ => None,
        }
    }
}

async fn caller(
    state: &AppState,
    headers: &HeaderMap,
    params: &OAuthParams,
) -> Result<Caller, OAuthError> {
    if let Some(secret) = bearer(headers) {
        let expected = state.site.matrix_secret.as_bytes();
        if !bool::from(secret.as_bytes().ct_eq(expected)) {
            return Err(OAuthError::access_denied(
                "the bearer token is not the homeserver's shared secret",
            ));
        }
        return Ok(Caller::Homeserver);
    }
    let client = authenticate(
        state,
        headers,
        params,
        &state.urls.absolute(paths::INTROSPECT),
    )
    .await?;
    if client.is_public() {
        return Err(OAuthError::access_denied(
            "public clients may not introspect tokens",
        ));
    }
    Ok(if client.is_static {
        Caller::StaticClient
    } else {
        Caller::DynamicClient(client.id.to_string())
    })
}

/// RFC 7662 §2.1 / RFC 7009 §2.1 hints. A hint naming the other kind of
/// token answers inactive; an unknown hint is ignored, as the RFCs allow.
fn hint_matches(hint: Option<&String>, token_type: TokenType) -> bool {
    match hint.map(String::as_str) {
        Some("access_token") => token_type.is_access_token(),
        Some("refresh_token") => !token_type.is_access_token(),
        _ => true,
    }
}

async fn access_token(
    state: &AppState,
    token: &str,
    only_client: Option<&str>,
    with_device_id: bool,
) -> Result<Value, OAuthError> {
    let Some(active) = active_access_token_of(state, token, only_client).await? else {
        return Ok(inactive());
    };
    let now = state.clock.now();
    let scope = &active.session.scope;
    let mut body = json!({
        "active": true,
        // MSC2967: both the stable and unstable Matrix scope names, so
        // homeservers of either generation understand them.
        "scope": scope.introspection_scope().to_string(),
        "client_id": active.session.client_id.to_string(),
        "token_type": "access_token",
        "iat": active.token.created_at.timestamp(),
        "nbf": active.token.created_at.timestamp(),
    });
    if let Some(exp) = active.token.expires_at {
        body["exp"] = json!(exp.timestamp());
        body["expires_in"] = json!((exp - now).num_seconds().max(0));
    }
    if let Some(user) = &active.user {
        body["sub"] = json!(user.sub());
        body["username"] = json!(user.username);
    }
    if with_device_id {
        if let Ok(Some(device)) = scope.device_id() {
            body["device_id"] = json!(device);
        }
    }
    Ok(body)
}

async fn refresh_token(state: &AppState, token: &str) -> Result<Value, OAuthError> {
    let mut repo = state.db.read().await?;
    let Some(refresh) = repo
        .oauth2_refresh_tokens()
        .find_by_digest(&token_digest(token))
        .await?
    else {
        return Ok(inactive());
    };
    let Some(session) = repo.oauth2_sessions().find(refresh.session_id).await? else {
        return Ok(inactive());
    };
    let user = match session.user_id {
        Some(id) => repo.users().find_by_id(id).await?,
        None => None,
    };
    drop(repo);
    let owner_ok = match session.user_id {
        Some(_) => user.as_ref().is_some_and(mxauth_model::User::is_valid),
        None => true,
    };
    let session_ok = session.is_active() && owner_ok;
    if !refresh.is_valid() || !session_ok {
        return Ok(inactive());
    }
    let scope = &session.scope;
    let mut body = json!({
        "active": true,
        "scope": scope.introspection_scope().to_string(),
        "client_id": session.client_id.to_string(),
        "token_type": "refresh_token",
        "iat": refresh.created_at.timestamp(),
    });
    if let Some(user) = &user {
        body["sub"] = json!(user.sub());
        body["username"] = json!(user.username);
    }
    Ok(body)
}

/// A token from the legacy `/login`: both Matrix API scopes, the device as
/// `device_id` (for callers that send `X-MAS-Supports-Device-Id: 1`) or as
/// a device scope, `urn:synapse:admin:*` for admin sessions, and an expiry
/// only for tokens that expire.
async fn compat_access_token(
    state: &AppState,
    token: &str,
    with_device_id: bool,
) -> Result<Value, OAuthError> {
    let now = state.clock.now();
    let mut repo = state.db.read().await?;
    let found = repo
        .compat_access_tokens()
        .lookup(&token_digest(token))
        .await?;
    drop(repo);
    let Some((token, session, user)) = found else {
        return Ok(inactive());
    };
    if !token.is_valid(now) || !session.is_active() || !user.is_valid() {
        return Ok(inactive());
    }
    let mut scope = vec![
        "urn:matrix:client:api:*".to_owned(),
        "urn:matrix:org.matrix.msc2967.client:api:*".to_owned(),
    ];
    if let (Some(device), false) = (&session.device_id, with_device_id) {
        // Without the header the device must fit in a scope token.
        let (Ok(stable), Ok(unstable)) = (device_scope(device, true), device_scope(device, false))
        else {
            return Ok(inactive());
        };
        scope.push(stable.to_string());
        scope.push(unstable.to_string());
    }
    if session.is_synapse_admin {
        scope.push("urn:synapse:admin:*".to_owned());
    }
    let mut body = json!({
        "active": true,
        "scope": scope.join(" "),
        "client_id": "legacy",
        "username": user.username,
        "sub": user.sub(),
        "token_type": "access_token",
        "iat": token.created_at.timestamp(),
    });
    if let Some(exp) = token.expires_at {
        body["exp"] = json!(exp.timestamp());
        body["expires_in"] = json!((exp - now).num_seconds().max(0));
    }
    if with_device_id {
        if let Some(device) = &session.device_id {
            body["device_id"] = json!(device);
        }
    }
    Ok(body)
}
