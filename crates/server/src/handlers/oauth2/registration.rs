//! `POST /oauth2/registration`: dynamic client registration (RFC 7591) with
//! MAS's rules (MSC2966): `client_uri` is required; URIs are https; logo,
//! policy and terms URIs live on the client's host; native apps redirect to
//! loopback or to a custom scheme that is the reverse-DNS name of their
//! host. Registering the same public-client metadata again returns the same
//! `client_id`. Errors name the field at fault.

use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use mxauth_model::{
    oauth2::{Client, ClientAuthMethod, GrantTypes},
    tokens::generate_alphanumeric,
};
use mxauth_storage::{new_ulid, StorageError};
use rand::rngs::OsRng;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use url::Url;

use super::error::OAuthError;
use crate::http::AppState;

/// The metadata mxauth reads (RFC 7591 §2, OIDC Registration §2). Other
/// members, including localised `client_name#fr` forms, are ignored.
#[derive(Debug, Deserialize)]
struct Metadata {
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    response_types: Option<Vec<String>>,
    #[serde(default)]
    grant_types: Option<Vec<String>>,
    application_type: Option<String>,
    #[serde(default)]
    contacts: Vec<String>,
    client_name: Option<String>,
    logo_uri: Option<String>,
    client_uri: Option<String>,
    policy_uri: Option<String>,
    tos_uri: Option<String>,
    jwks_uri: Option<String>,
    jwks: Option<Value>,
    id_token_signed_response_alg: Option<String>,
    userinfo_signed_response_alg: Option<String>,
    token_endpoint_auth_method: Option<String>,
    token_endpoint_auth_signing_alg: Option<String>,
    initiate_login_uri: Option<String>,
}

fn metadata_error(field: &str, problem: &str) -> OAuthError {
    OAuthError::invalid_client_metadata(format!("{field}: {problem}"))
}

/// `host` is `base` or one of its subdomains.
fn same_site(host: &str, base: &str) -> bool {
    host == base || host.ends_with(&format!(".{base}"))
}

/// A URI shown to people (logo, policy, terms…): https, on the client's host.
fn check_site_uri(
    field: &str,
    value: &Option<String>,
    client_host: &str,
) -> Result<(), OAuthError> {
    let Some(value) = value else { return Ok(()) };
    let url = Url::parse(value).map_err(|_| metadata_error(field, "is not an absolute URI"))?;
    if url.scheme() != "https" {
        return Err(metadata_error(field, "must use https"));
    }
    match url.host_str() {
        Some(host) if same_site(host, client_host) => Ok(()),
        _ => Err(metadata_error(
            field,
            &format!("must be on the client's host {client_host}"),
        )),
    }
}

fn is_loopback(url: &Url) -> bool {
    matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"))
}

/// A host that is itself a public suffix (`co.uk`, `github.io`, per the
/// Public Suffix List) identifies no one: anyone can register below it.
fn is_public_suffix(host: &str) -> bool {
    psl::domain(host.as_bytes()).is_none()
}

fn check_redirect_uri(uri: &str, native: bool, client_host: &str) -> Result<(), OAuthError> {
    let bad = |why: &str| OAuthError::invalid_redirect_uri(format!("redirect_uris: {uri:?} {why}"));
    let url = Url::parse(uri).map_err(|_| bad("is not an absolute URI"))?;
    if url.fragment().is_some() {
        return Err(bad("must not have a fragment"));
    }
    match url.scheme() {
        "https" => match url.host_str() {
            Some(host) if same_site(host, client_host) => Ok(()),
            _ => Err(bad(&format!("must be on the client's host {client_host}"))),
        },
        "http" if native && is_loopback(&url) => Ok(()),
        "http" => Err(bad(
            "must use https (plain http only for native apps on a loopback address)",
        )),
        scheme if native => {
            // MSC2966: a private-use scheme in reverse-DNS form of a domain
            // the client controls, e.g. io.element.app for element.io.
            let reversed: Vec<&str> = scheme.split('.').rev().collect();
            let domain = reversed.join(".");
            if reversed.len() >= 2
                && (same_site(&domain, client_host) || same_site(client_host, &domain))
            {
                Ok(())
            } else {
                Err(bad(&format!(
                    "has a custom scheme that is not the reverse-DNS form of {client_host}"
                )))
            }
        }
        _ => Err(bad("must use https")),
    }
}

fn grant_types(metadata: &Metadata) -> Result<GrantTypes, OAuthError> {
    let requested = metadata
        .grant_types
        .clone()
        .unwrap_or_else(|| vec!["authorization_code".into()]);
    let mut grants = GrantTypes::default();
    for grant in &requested {
        match grant.as_str() {
            "authorization_code" => grants.authorization_code = true,
            "refresh_token" => grants.refresh_token = true,
            "client_credentials" => grants.client_credentials = true,
            // The device grant is not built yet: dropped, as MAS drops it
            // when the device grant is disabled.
            "urn:ietf:params:oauth:grant-type:device_code" => {}
            other => {
                return Err(metadata_error(
                    "grant_types",
                    &format!("{other:?} is not supported"),
                ))
            }
        }
    }
    if let Some(types) = &metadata.response_types {
        if types.iter().any(|t| t != "code") {
            return Err(metadata_error(
                "response_types",
                "only \"code\" is supported",
            ));
        }
    }
    Ok(grants)
}

fn validate(metadata: &Metadata) -> Result<(ClientAuthMethod, GrantTypes, bool), OAuthError> {
    let client_uri = metadata
        .client_uri
        .as_deref()
        .ok_or_else(|| metadata_error("client_uri", "is required"))?;
    let client_url = Url::parse(client_uri)
        .map_err(|_| metadata_error("client_uri", "is not an absolute URI"))?;
    if client_url.scheme() != "https" {
        return Err(metadata_error("client_uri", "must use https"));
    }
    let client_host = client_url.host_str().unwrap_or_default().to_owned();
    if is_public_suffix(&client_host) {
        return Err(metadata_error(
            "client_uri",
            &format!("{client_host} is a public suffix, not a site"),
        ));
    }
    for (field, value) in [
        ("logo_uri", &metadata.logo_uri),
        ("policy_uri", &metadata.policy_uri),
        ("tos_uri", &metadata.tos_uri),
        ("initiate_login_uri", &metadata.initiate_login_uri),
    ] {
        check_site_uri(field, value, &client_host)?;
    }
    let native = match metadata.application_type.as_deref() {
        None | Some("web") => false,
        Some("native") => true,
        Some(other) => {
            return Err(metadata_error(
                "application_type",
                &format!("{other:?} is not web or native"),
            ))
        }
    };
    let method: ClientAuthMethod = metadata
        .token_endpoint_auth_method
        .as_deref()
        .unwrap_or("client_secret_basic")
        .parse()
        .map_err(|e: mxauth_model::oauth2::UnknownAuthMethod| {
            metadata_error("token_endpoint_auth_method", &e.to_string())
        })?;
    let grants = grant_types(metadata)?;
    if grants.authorization_code && metadata.redirect_uris.is_empty() {
        return Err(OAuthError::invalid_redirect_uri(
            "redirect_uris: required for the authorization_code grant",
        ));
    }
    for uri in &metadata.redirect_uris {
        check_redirect_uri(uri, native, &client_host)?;
    }
    if grants.client_credentials && method == ClientAuthMethod::None {
        return Err(metadata_error(
            "grant_types",
            "client_credentials needs a client that authenticates",
        ));
    }
    if method == ClientAuthMethod::PrivateKeyJwt
        && metadata.jwks.is_none() == metadata.jwks_uri.is_none()
    {
        return Err(metadata_error(
            "jwks",
            "private_key_jwt needs exactly one of jwks or jwks_uri",
        ));
    }
    if let Some(jwks_uri) = &metadata.jwks_uri {
        check_site_uri("jwks_uri", &Some(jwks_uri.clone()), &client_host)?;
    }
    Ok((method, grants, native))
}

pub async fn handler(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
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
    let (method, grants, native) = validate(&metadata)?;
    let now = state.clock.now();

    // Identical metadata of a public client: the same client again.
    let digest = (method == ClientAuthMethod::None).then(|| {
        let canonical = raw.to_string();
        hex::encode(Sha256::digest(canonical.as_bytes()))
    });
    let secret = match method {
        ClientAuthMethod::ClientSecretBasic
        | ClientAuthMethod::ClientSecretPost
        | ClientAuthMethod::ClientSecretJwt => Some(generate_alphanumeric(&mut OsRng, 20)),
        _ => None,
    };
    let client = Client {
        id: new_ulid(now, &mut OsRng),
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
    let stored = match repo.add_client(&client).await {
        Ok(()) => client,
        Err(StorageError::Conflict(_)) => {
            repo.rollback().await?;
            let mut repo = state.db.read().await?;
            let existing = repo
                .find_client_by_metadata_digest(digest.as_deref().unwrap_or_default())
                .await?
                .ok_or_else(|| OAuthError::server_error(&"a conflicting client vanished"))?;
            repo.rollback().await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(json: Value) -> Result<(ClientAuthMethod, GrantTypes, bool), OAuthError> {
        validate(&serde_json::from_value(json).unwrap())
    }

    #[test]
    fn client_uri_is_required_and_must_be_https() {
        let e = meta(json!({"redirect_uris": ["https://a.example.com/cb"]})).unwrap_err();
        assert_eq!(e.description, "client_uri: is required");
        let e = meta(json!({"client_uri": "http://a.example.com"})).unwrap_err();
        assert_eq!(e.description, "client_uri: must use https");
        for suffix in ["https://github.io", "https://co.uk", "https://com"] {
            let e = meta(json!({"client_uri": suffix})).unwrap_err();
            assert!(
                e.description.contains("public suffix"),
                "{suffix}: {}",
                e.description
            );
        }
        // Below a public suffix is fine.
        assert!(meta(json!({"client_uri": "https://someone.github.io", "redirect_uris": ["https://someone.github.io/cb"]})).is_ok());
    }

    #[test]
    fn site_uris_stay_on_the_client_host() {
        let e = meta(json!({"client_uri": "https://a.example.com", "logo_uri": "https://evil.com/logo.png", "redirect_uris": ["https://a.example.com/cb"]})).unwrap_err();
        assert_eq!(e.code, "invalid_client_metadata");
        assert!(e.description.starts_with("logo_uri:"), "{}", e.description);
        assert!(meta(json!({"client_uri": "https://example.com", "logo_uri": "https://cdn.example.com/l.png", "redirect_uris": ["https://example.com/cb"]})).is_ok());
    }

    #[test]
    fn native_apps_use_loopback_or_reverse_dns_schemes() {
        let ok = json!({"client_uri": "https://element.io", "application_type": "native", "token_endpoint_auth_method": "none",
            "redirect_uris": ["io.element.app:/callback", "http://127.0.0.1/cb", "http://[::1]/cb"]});
        assert_eq!(
            meta(ok).unwrap(),
            (
                ClientAuthMethod::None,
                GrantTypes {
                    authorization_code: true,
                    ..GrantTypes::default()
                },
                true
            )
        );
        for bad in [
            "com.evil.app:/cb",
            "http://192.168.1.2/cb",
            "https://evil.com/cb",
            "https://element.io/cb#x",
        ] {
            let e = meta(json!({"client_uri": "https://element.io", "application_type": "native", "redirect_uris": [bad]})).unwrap_err();
            assert_eq!(e.code, "invalid_redirect_uri", "{bad}");
            assert!(
                e.description.starts_with("redirect_uris:"),
                "{}",
                e.description
            );
        }
        let web =
            json!({"client_uri": "https://element.io", "redirect_uris": ["http://127.0.0.1/cb"]});
        assert_eq!(meta(web).unwrap_err().code, "invalid_redirect_uri");
    }

    #[test]
    fn grants_and_auth_methods_are_checked() {
        let e = meta(json!({"client_uri": "https://a.example.com", "grant_types": ["implicit"]}))
            .unwrap_err();
        assert!(e.description.starts_with("grant_types:"));
        let e = meta(json!({"client_uri": "https://a.example.com", "grant_types": ["client_credentials"], "token_endpoint_auth_method": "none"})).unwrap_err();
        assert!(e.description.contains("needs a client that authenticates"));
        let e = meta(json!({"client_uri": "https://a.example.com", "token_endpoint_auth_method": "magic", "redirect_uris": ["https://a.example.com/cb"]})).unwrap_err();
        assert!(e.description.starts_with("token_endpoint_auth_method:"));
        let e = meta(json!({"client_uri": "https://a.example.com"})).unwrap_err();
        assert_eq!(e.code, "invalid_redirect_uri");
        let cc = meta(
            json!({"client_uri": "https://a.example.com", "grant_types": ["client_credentials"]}),
        )
        .unwrap();
        assert_eq!(cc.0, ClientAuthMethod::ClientSecretBasic);
    }
}
