//! `POST /oauth2/registration`: dynamic client registration (RFC 7591) with
//! MAS's rules (MSC2966): `client_uri` is required; URIs are https; logo,
//! policy and terms URIs live on the client's host; native apps redirect to
//! loopback or to a custom scheme that is the reverse-DNS name of their
//! host. Registering the same public-client metadata again returns the same
//! `client_id`. Errors name the field at fault.

mod metadata;

use axum::{
    extract::State,
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use mxauth_model::{
    oauth2::{Client, ClientAuthMethod},
    tokens::generate_alphanumeric,
};
use mxauth_storage::{new_ulid, StorageError};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use self::metadata::{validate, Metadata};
use crate::errors::OAuthError;
use crate::{extract::ClientIp, rate_limit::RetryAfter, state::AppState};

/// The largest registration request read. Real metadata is a few hundred
/// bytes; the limit keeps anyone from storing megabytes per request.
const MAX_BODY: usize = 64 * 1024;

pub async fn handler(
    State(state): State<AppState>,
    ip: ClientIp,
    body: axum::body::Body,
) -> Response {
    // Anyone may register, so registrations are rate limited per client
    // IP (`rate_limiting.client_registration`) before any work is done.
    let key = format!("client-registration:{}", ip.key());
    let limit = state.site.client_registration_per_ip;
    if let Err(RetryAfter(wait)) = state.limiter.check(&key, limit, state.clock.now()) {
        let seconds = wait.num_seconds().max(1);
        let mut response = OAuthError {
            status: StatusCode::TOO_MANY_REQUESTS,
            ..OAuthError::invalid_request(format!(
                "too many client registrations from this address; try again in {seconds} s"
            ))
        }
        .into_response();
        if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return response;
    }
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY).await else {
        return OAuthError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            ..OAuthError::invalid_request(format!(
                "the body is larger than {} KiB (or could not be read)",
                MAX_BODY / 1024
            ))
        }
        .into_response();
    };
    match handle(&state, &body).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

async fn handle(state: &AppState, body: &[u8]) -> Result<Response, OAuthError> {
    let raw: Value = serde_json::from_slice(body)
        .map_err(|e| OAuthError::invalid_request(format!("the body is not JSON: {e}")))?;
    let metadata: Metadata = serde_json::from_value(raw.clone()).map_err(|e| {
        OAuthError::invalid_client_metadata(format!("the metadata is malformed: {e}"))
    })?;
    let policy = state.policy.current().client_registration;
    let (method, grants, native) =
        validate(&metadata, &state.keystore.available_algorithms(), policy)?;
    let now = state.clock.now();

    // Identical metadata of a public client: the same client again.
    let digest = (method == ClientAuthMethod::None).then(|| {
        let canonical = raw.to_string();
        hex::encode(Sha256::digest(canonical.as_bytes()))
    });
    let secret = match method {
        ClientAuthMethod::ClientSecretBasic
        | ClientAuthMethod::ClientSecretPost
        | ClientAuthMethod::ClientSecretJwt => {
            Some(generate_alphanumeric(&mut state.random.rng(), 20))
        }
        _ => None,
    };
    let client = Client {
        id: new_ulid(now, &mut state.random.rng()),
        encrypted_client_secret: secret.as_deref().map(|s| state.encrypter.encrypt_str(s)),
        redirect_uris: metadata.redirect_uris.clone(),
        grant_types: grants,
        client_name: metadata.client_name.clone(),
        logo_uri: metadata.logo_uri.clone(),
        client_uri: metadata.client_uri.clone(),
        policy_uri: metadata.policy_uri.clone(),
        tos_uri: metadata.tos_uri.clone(),
        jwks: metadata.jwks.as_ref().map(Value::to_string),
        jwks_uri: metadata.jwks_uri.clone(),
        id_token_signed_response_alg: metadata.id_token_signed_response_alg.clone(),
        userinfo_signed_response_alg: metadata.userinfo_signed_response_alg.clone(),
        token_endpoint_auth_method: method,
        token_endpoint_auth_signing_alg: metadata.token_endpoint_auth_signing_alg.clone(),
        initiate_login_uri: metadata.initiate_login_uri.clone(),
        application_type: Some(if native { "native" } else { "web" }.into()),
        contacts: metadata.contacts.clone(),
        is_static: false,
        metadata_digest: digest.clone(),
        created_at: now,
    };
    let mut repo = state.db.begin().await?;
    let stored = match repo.oauth2_clients().add(&client).await {
        Ok(()) => client,
        Err(StorageError::Conflict(_)) => {
            repo.rollback().await?;
            let mut repo = state.db.read().await?;
            let existing = repo
                .oauth2_clients()
                .find_by_metadata_digest(digest.as_deref().unwrap_or_default())
                .await?
                .ok_or_else(|| OAuthError::server_error(&"a conflicting client vanished"))?;
            drop(repo);
            return Ok(registered(&existing, None));
        }
        Err(e) => return Err(e.into()),
    };
    repo.commit().await?;
    tracing::info!(client_id = %stored.id, name = ?stored.client_name, "client registered");
    Ok(registered(&stored, secret.as_deref()))
}

/// RFC 7591 §3.2.1: 201 with the client id and the registered metadata.
fn registered(client: &Client, secret: Option<&str>) -> Response {
    let mut grant_types = Vec::new();
    if client.grant_types.authorization_code {
        grant_types.push("authorization_code");
    }
    if client.grant_types.refresh_token {
        grant_types.push("refresh_token");
    }
    if client.grant_types.client_credentials {
        grant_types.push("client_credentials");
    }
    let mut body = json!({
        "client_id": client.client_id(),
        "client_id_issued_at": client.created_at.timestamp(),
        "redirect_uris": client.redirect_uris,
        "grant_types": grant_types,
        "response_types": if client.grant_types.authorization_code { vec!["code"] } else { vec![] },
        "token_endpoint_auth_method": client.token_endpoint_auth_method.as_str(),
        "application_type": client.application_type,
    });
    for (name, value) in [
        ("client_name", &client.client_name),
        ("client_uri", &client.client_uri),
        ("logo_uri", &client.logo_uri),
        ("policy_uri", &client.policy_uri),
        ("tos_uri", &client.tos_uri),
        ("jwks_uri", &client.jwks_uri),
        (
            "id_token_signed_response_alg",
            &client.id_token_signed_response_alg,
        ),
        (
            "userinfo_signed_response_alg",
            &client.userinfo_signed_response_alg,
        ),
    ] {
        if let Some(value) = value {
            body[name] = json!(value);
        }
    }
    if let Some(secret) = secret {
        body["client_secret"] = json!(secret);
        body["client_secret_expires_at"] = json!(0);
    }
    (
        StatusCode::CREATED,
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        Json(body),
    )
        .into_response()
}
