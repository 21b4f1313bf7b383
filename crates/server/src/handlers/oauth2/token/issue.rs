//! The token endpoint's answer and the ID token of a grant (when `openid`
//! was granted). The access and refresh tokens themselves come from
//! [`crate::ops::tokens`].

use chrono::{DateTime, Duration, Utc};
use mxauth_model::{oauth2::Client, User};
use serde_json::{json, Value};

use crate::{errors::OAuthError, state::AppState};
use mxauth_crypto::jose::{token_hash, JwsAlgorithm};

/// What the token endpoint returns (RFC 6749 §5.1, OIDC Core §3.1.3.3).
pub struct IssuedTokens {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub id_token: Option<String>,
    pub expires_in: i64,
    pub scope: String,
}

/// The claims of an ID token (OIDC Core §2, §3.1.3.6).
pub struct IdTokenInput<'a> {
    pub client: &'a Client,
    pub user: &'a User,
    pub nonce: Option<&'a str>,
    pub auth_time: Option<DateTime<Utc>>,
    pub access_token: &'a str,
    pub code: Option<&'a str>,
}

pub fn id_token_claims(
    state: &AppState,
    alg: JwsAlgorithm,
    input: &IdTokenInput<'_>,
    now: DateTime<Utc>,
) -> Result<Value, OAuthError> {
    let mut claims = json!({
        "iss": state.urls.issuer(),
        "sub": input.user.sub(),
        "aud": input.client.client_id(),
        "iat": now.timestamp(),
        "exp": (now + Duration::hours(1)).timestamp(),
        "at_hash": token_hash(alg, input.access_token).map_err(|e| OAuthError::server_error(&e))?,
    });
    if let Some(nonce) = input.nonce {
        claims["nonce"] = json!(nonce);
    }
    if let Some(auth_time) = input.auth_time {
        claims["auth_time"] = json!(auth_time.timestamp());
    }
    if let Some(code) = input.code {
        claims["c_hash"] = json!(token_hash(alg, code).map_err(|e| OAuthError::server_error(&e))?);
    }
    Ok(claims)
}

/// Signs an ID token with the client's `id_token_signed_response_alg`, or
/// RS256 (OIDC Core §3.1.3.7).
pub fn sign_id_token(
    state: &AppState,
    input: &IdTokenInput<'_>,
    now: DateTime<Utc>,
) -> Result<String, OAuthError> {
    let alg = match &input.client.id_token_signed_response_alg {
        Some(alg) => alg.parse().map_err(|_| {
            OAuthError::invalid_request(format!(
                "the client's id_token_signed_response_alg {alg} is not supported"
            ))
        })?,
        None => JwsAlgorithm::Rs256,
    };
    let claims = id_token_claims(state, alg, input, now)?;
    state
        .keystore
        .sign_jwt(alg, &claims)
        .map_err(|e| OAuthError::server_error(&e))
}
