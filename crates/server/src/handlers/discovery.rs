//! Resource `discovery`: OpenID Provider metadata (OIDC Discovery §3, RFC
//! 8414 §2) with the Matrix additions (MSC2965, MSC4191), WebFinger issuer
//! discovery (OIDC Discovery §2), and the JWK Set (`/oauth2/keys.json`,
//! resource `oauth` in MAS but public key material either way).

use axum::{
    body::Bytes,
    extract::{Query, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::{state::AppState, urls::paths};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::DISCOVERY, get(openid_configuration))
        .route(paths::WEBFINGER, get(webfinger))
}

pub fn keys_router() -> Router<AppState> {
    Router::new().route(paths::JWKS, get(jwks))
}

/// Client authentication methods of the token, revocation and
/// introspection endpoints.
const AUTH_METHODS: [&str; 5] = [
    "client_secret_basic",
    "client_secret_post",
    "client_secret_jwt",
    "private_key_jwt",
    "none",
];

/// MSC4191 actions the account page understands.
pub const ACCOUNT_ACTIONS: [&str; 9] = [
    "org.matrix.profile",
    "org.matrix.devices_list",
    "org.matrix.device_view",
    "org.matrix.device_delete",
    "org.matrix.cross_signing_reset",
    "org.matrix.sessions_list",
    "org.matrix.session_view",
    "org.matrix.session_end",
    "org.matrix.account_deactivate",
];

/// The metadata document (built once per process: it depends only on the
/// configuration and the keys).
pub fn metadata(state: &AppState) -> Value {
    let urls = &state.urls;
    let signing: Vec<&str> = state
        .keystore
        .available_algorithms()
        .into_iter()
        .map(|a| a.as_str())
        .collect();
    // Algorithms a client may use to sign its own assertions (RFC 7523):
    // HMAC with its secret or its own keys.
    let client_signing = [
        "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256",
        "ES384", "ES256K",
    ];
    json!({
        "issuer": urls.issuer(),
        "authorization_endpoint": urls.absolute(paths::AUTHORIZE),
        "token_endpoint": urls.absolute(paths::TOKEN),
        "jwks_uri": urls.absolute(paths::JWKS),
        "registration_endpoint": urls.absolute(paths::REGISTRATION),
        "introspection_endpoint": urls.absolute(paths::INTROSPECT),
        "revocation_endpoint": urls.absolute(paths::REVOKE),
        "userinfo_endpoint": urls.absolute(paths::USERINFO),
        "scopes_supported": ["openid", "email"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": client_signing,
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        "revocation_endpoint_auth_signing_alg_values_supported": client_signing,
        "introspection_endpoint_auth_methods_supported": AUTH_METHODS,
        "introspection_endpoint_auth_signing_alg_values_supported": client_signing,
        // RFC 9700 §2.1.1: only S256; `plain` is refused.
        "code_challenge_methods_supported": ["S256"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": signing,
        "userinfo_signing_alg_values_supported": signing,
        "display_values_supported": ["page"],
        "claim_types_supported": ["normal"],
        "claims_supported": ["iss", "sub", "aud", "iat", "exp", "nonce", "auth_time", "at_hash", "c_hash"],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "prompt_values_supported": prompt_values(state),
        "account_management_uri": urls.absolute(paths::ACCOUNT),
        "account_management_actions_supported": ACCOUNT_ACTIONS,
    })
}

/// `create` only while password registration is on (as MAS advertises it).
fn prompt_values(state: &AppState) -> Vec<&'static str> {
    let mut values = vec!["login", "none"];
    if state.site.account.password_registration_enabled && state.passwords.is_some() {
        values.push("create");
    }
    values
}

/// Public, cacheable, readable from any origin (browsers running OIDC
/// clients fetch it cross-origin). The body is serialised once per process.
fn public_json(cell: &std::sync::OnceLock<Bytes>, build: impl FnOnce() -> Value) -> Response {
    let body = cell
        .get_or_init(|| Bytes::from(build().to_string()))
        .clone();
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

async fn openid_configuration(State(state): State<AppState>) -> Response {
    public_json(&state.documents.discovery, || metadata(&state))
}

async fn jwks(State(state): State<AppState>) -> Response {
    public_json(&state.documents.jwks, || state.keystore.public_jwks())
}

#[derive(Deserialize)]
struct WebfingerQuery {
    resource: Option<String>,
    rel: Option<String>,
}

const ISSUER_REL: &str = "http://openid.net/specs/connect/1.0/issuer";

/// OIDC Discovery §2: answers which issuer serves a resource; only the
/// issuer relation is known.
async fn webfinger(State(state): State<AppState>, Query(q): Query<WebfingerQuery>) -> Response {
    let Some(resource) = q.resource.filter(|r| !r.is_empty()) else {
        return (
            StatusCode::BAD_REQUEST,
            "the resource parameter is required",
        )
            .into_response();
    };
    let links = if q.rel.as_deref().is_none_or(|rel| rel == ISSUER_REL) {
        json!([{ "rel": ISSUER_REL, "href": state.urls.issuer() }])
    } else {
        json!([])
    };
    (
        [
            (header::CONTENT_TYPE, "application/jrd+json"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        json!({ "subject": resource, "links": links }).to_string(),
    )
        .into_response()
}

#[cfg(test)]
mod tests;
