//! `POST /oauth2/token` (RFC 6749 §3.2): authenticates the client, then runs
//! the grant. Answers carry `Cache-Control: no-store` (§5.1).

mod authorization_code;
mod client_credentials;
mod issue;
mod refresh;

use axum::{extract::State, http::HeaderMap, response::Response};
use serde::Serialize;

use crate::errors::OAuthError;
use crate::{
    extract::{authenticate, OAuthForm},
    state::AppState,
    urls::paths,
};

pub use issue::{id_token_claims, IssuedTokens};

/// The client is authenticated after `grant_type` is read, so a request
/// without one is told so whoever sent it.
pub async fn handler(
    State(state): State<AppState>,
    headers: HeaderMap,
    OAuthForm(params): OAuthForm,
) -> Result<Response, OAuthError> {
    let grant_type = params
        .get("grant_type")
        .ok_or_else(|| OAuthError::invalid_request("grant_type is missing"))?
        .clone();
    let endpoint = state.urls.absolute(paths::TOKEN);
    let client = authenticate(&state, &headers, &params, &endpoint).await?;
    let tokens = match grant_type.as_str() {
        "authorization_code" => authorization_code::exchange(&state, &client, &params).await?,
        "refresh_token" => refresh::exchange(&state, &client, &params).await?,
        "client_credentials" => client_credentials::exchange(&state, &client, &params).await?,
        other => {
            return Err(OAuthError::unsupported_grant_type(format!(
                "the grant type {other:?} is not supported"
            )))
        }
    };
    Ok(crate::errors::no_store_json(TokenResponse::from(&tokens)))
}

/// The answer (RFC 6749 §5.1, OIDC Core §3.1.3.3). Fields are in
/// alphabetical order, the order the answer had when built as a `json!` map.
#[derive(Serialize)]
struct TokenResponse<'a> {
    access_token: &'a str,
    expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
    scope: &'a str,
    token_type: &'static str,
}

impl<'a> From<&'a IssuedTokens> for TokenResponse<'a> {
    fn from(tokens: &'a IssuedTokens) -> Self {
        Self {
            access_token: &tokens.access_token,
            expires_in: tokens.expires_in,
            id_token: tokens.id_token.as_deref(),
            refresh_token: tokens.refresh_token.as_deref(),
            scope: &tokens.scope,
            token_type: "Bearer",
        }
    }
}
