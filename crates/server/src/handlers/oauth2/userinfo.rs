//! `GET|POST /oauth2/userinfo` (OIDC Core §5.3): who the token's user is.
//! Signed as a JWT when the client registered `userinfo_signed_response_alg`.

use axum::{
    extract::State,
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde_json::json;

use super::bearer::{active_access_token, bearer};
use crate::{errors::OAuthError, state::AppState};
use mxauth_crypto::jose::JwsAlgorithm;

/// RFC 6750 §3: errors of a protected resource go in `WWW-Authenticate`.
fn bearer_error(status: StatusCode, code: &str, description: &str) -> Response {
    let challenge = format!("Bearer error=\"{code}\", error_description=\"{description}\"");
    let mut response = (
        status,
        Json(json!({ "error": code, "error_description": description })),
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

pub async fn handler(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(token) = bearer(&headers) else {
        return bearer_error(
            StatusCode::UNAUTHORIZED,
            "invalid_request",
            "an access token is required",
        );
    };
    let active = match active_access_token(&state, token).await {
        Ok(Some(active)) => active,
        Ok(None) => {
            return bearer_error(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "the access token is not active",
            )
        }
        Err(e) => return OAuthError::from(e).into_response(),
    };
    let scope = &active.session.scope;
    let Some(user) = active.user.filter(|_| scope.contains("openid")) else {
        return bearer_error(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            "the token was not granted the openid scope",
        );
    };
    let claims = json!({ "sub": user.sub(), "username": user.username });
    let client = async {
        let mut repo = state.db.read().await?;
        let client = repo.oauth2_clients().find(active.session.client_id).await?;
        drop(repo);
        Ok::<_, mxauth_storage::StorageError>(client)
    }
    .await;
    let signed_alg = match client {
        Ok(client) => client.and_then(|c| c.userinfo_signed_response_alg),
        Err(e) => return OAuthError::from(e).into_response(),
    };
    match signed_alg.and_then(|alg| alg.parse::<JwsAlgorithm>().ok()) {
        Some(alg) => {
            let mut claims = claims;
            claims["iss"] = json!(state.urls.issuer());
            claims["aud"] = json!(active.session.client_id.to_string());
            match state.keystore.sign_jwt(alg, &claims) {
                Ok(jwt) => ([(header::CONTENT_TYPE, "application/jwt")], jwt).into_response(),
                Err(e) => {
                    tracing::error!(error = %e, "signing userinfo");
                    StatusCode::INTERNAL_SERVER_ERROR.into_response()
                }
            }
        }
        None => Json(claims).into_response(),
    }
}
