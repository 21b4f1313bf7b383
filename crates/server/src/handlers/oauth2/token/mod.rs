//! `POST /oauth2/token` (RFC 6749 §3.2): authenticates the client, then runs
//! the grant. Answers carry `Cache-Control: no-store` (§5.1).

mod authorization_code;
mod client_credentials;
pub mod devices;
mod issue;
mod refresh;

use axum::{extract::State, http::HeaderMap, response::Response};

use super::error::OAuthError;
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
    Ok(super::error::no_store_json(tokens.to_json()))
}
