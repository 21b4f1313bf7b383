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
use mxauth_storage::SessionKind;
use serde::Serialize;
use subtle::ConstantTimeEq;

use super::bearer::{active_access_token_of, bearer};
use crate::{
    errors::{no_store_json, OAuthError},
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

/// The answer (RFC 7662 §2.2). Fields are in alphabetical order, the
/// order the answer had when built as a `json!` map; absent ones are left
/// out, so an inactive answer is `{"active":false}` and nothing else.
#[derive(Debug, Default, Serialize)]
struct Introspection {
    active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
    /// Only for callers that send `X-MAS-Supports-Device-Id: 1`.
    #[serde(skip_serializing_if = "Option::is_none")]
    device_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_in: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nbf: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<String>,
}

fn inactive() -> Introspection {
    Introspection::default()
}

async fn handle(
    state: &AppState,
    headers: &HeaderMap,
    params: &OAuthParams,
) -> Result<Introspection, OAuthError> {
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
        TokenType::PersonalAccessToken => personal_access_token(state, token).await?,
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
    fn may_see(&self, body: &Introspection) -> bool {
        match self {
            Caller::Homeserver | Caller::StaticClient => true,
            Caller::DynamicClient(id) => body.client_id.as_deref() == Some(id.as_str()),
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
) -> Result<Introspection, OAuthError> {
    let Some(active) = active_access_token_of(state, token, only_client).await? else {
        return Ok(inactive());
    };
    let now = state.clock.now();
    // The homeserver asks on every request the client makes: a use.
    state
        .activity
        .record(SessionKind::OAuth2, active.session.id, now, None);
    let scope = &active.session.scope;
    let expires_at = active.token.expires_at;
    let device_id = match with_device_id {
        true => scope.device_id().ok().flatten().map(str::to_owned),
        false => None,
    };
    Ok(Introspection {
        active: true,
        // MSC2967: both the stable and unstable Matrix scope names, so
        // homeservers of either generation understand them.
        scope: Some(scope.introspection_scope().to_string()),
        client_id: Some(active.session.client_id.to_string()),
        token_type: Some("access_token"),
        iat: Some(active.token.created_at.timestamp()),
        nbf: Some(active.token.created_at.timestamp()),
        exp: expires_at.map(|exp| exp.timestamp()),
        expires_in: expires_at.map(|exp| (exp - now).num_seconds().max(0)),
        sub: active.user.as_ref().map(|user| user.sub()),
        username: active.user.as_ref().map(|user| user.username.clone()),
        device_id,
    })
}

async fn refresh_token(state: &AppState, token: &str) -> Result<Introspection, OAuthError> {
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
    Ok(Introspection {
        active: true,
        scope: Some(scope.introspection_scope().to_string()),
        client_id: Some(session.client_id.to_string()),
        token_type: Some("refresh_token"),
        iat: Some(refresh.created_at.timestamp()),
        sub: user.as_ref().map(|user| user.sub()),
        username: user.map(|user| user.username),
        ..Introspection::default()
    })
}

/// A personal access token: its session's scope, its user, no device, no
/// client (so only the homeserver and static clients see it active), and
/// an expiry only when it has one.
async fn personal_access_token(state: &AppState, token: &str) -> Result<Introspection, OAuthError> {
    let Some(active) = crate::ops::personal_tokens::active(state, token).await? else {
        return Ok(inactive());
    };
    let now = state.clock.now();
    state
        .activity
        .record(SessionKind::Personal, active.session.id, now, None);
    let expires_at = active.token.expires_at;
    Ok(Introspection {
        active: true,
        scope: Some(active.session.scope.introspection_scope().to_string()),
        token_type: Some("access_token"),
        iat: Some(active.token.created_at.timestamp()),
        nbf: Some(active.token.created_at.timestamp()),
        exp: expires_at.map(|exp| exp.timestamp()),
        expires_in: expires_at.map(|exp| (exp - now).num_seconds().max(0)),
        sub: Some(active.actor.sub()),
        username: Some(active.actor.username),
        ..Introspection::default()
    })
}

/// A token from the legacy `/login`: both Matrix API scopes, the device as
/// `device_id` (for callers that send `X-MAS-Supports-Device-Id: 1`) or as
/// a device scope, `urn:synapse:admin:*` for admin sessions, and an expiry
/// only for tokens that expire.
async fn compat_access_token(
    state: &AppState,
    token: &str,
    with_device_id: bool,
) -> Result<Introspection, OAuthError> {
    let now = state.clock.now();
    let found = state
        .db
        .lookup_compat_access_token(&token_digest(token))
        .await?;
    let Some((token, session, user)) = found else {
        return Ok(inactive());
    };
    if !token.is_valid(now) || !session.is_active() || !user.is_valid() {
        return Ok(inactive());
    }
    state
        .activity
        .record(SessionKind::Compat, session.id, now, None);
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
    let expires_at = token.expires_at;
    Ok(Introspection {
        active: true,
        scope: Some(scope.join(" ")),
        client_id: Some("legacy".to_owned()),
        sub: Some(user.sub()),
        username: Some(user.username),
        token_type: Some("access_token"),
        iat: Some(token.created_at.timestamp()),
        nbf: None,
        exp: expires_at.map(|exp| exp.timestamp()),
        expires_in: expires_at.map(|exp| (exp - now).num_seconds().max(0)),
        device_id: session.device_id.filter(|_| with_device_id),
    })
}
