//! Client authentication at the token, introspection and revocation
//! endpoints: `none`, `client_secret_basic` (RFC 6749 §2.3.1),
//! `client_secret_post`, `client_secret_jwt` and `private_key_jwt`
//! (RFC 7523 §2.2, OIDC Core §9). A client must use the method it
//! registered; secrets are compared in constant time.
//!
//! [`AuthenticatedClient`] is the extractor for endpoints whose first step is
//! authenticating the client; [`authenticate`] is the same check for those
//! that look at the request first (the token endpoint wants its
//! `grant_type`, introspection also accepts the homeserver's secret).

use std::marker::PhantomData;

use axum::{
    extract::{FromRequest, Request},
    http::{header, HeaderMap},
    response::{IntoResponse, Response},
};
use base64::{engine::general_purpose::STANDARD, Engine};
use mxauth_model::oauth2::{Client, ClientAuthMethod};
use subtle::ConstantTimeEq;
use ulid::Ulid;

use super::{OAuthForm, OAuthParams};
use crate::{errors::OAuthError, outbound::Origin, state::AppState, urls::paths};
use mxauth_crypto::jose::{verify_jws, VerificationKey};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// An endpoint that authenticates clients: its path, whose absolute URL a
/// client assertion must name as its audience (RFC 7523 §3).
pub trait ClientAuthEndpoint: Send + Sync + 'static {
    const PATH: &'static str;
}

/// `POST /oauth2/revoke` (RFC 7009 §2.1).
pub struct Revocation;

impl ClientAuthEndpoint for Revocation {
    const PATH: &'static str = paths::REVOKE;
}

/// The client that sent the request, authenticated, with the parameters of
/// its form ([`OAuthForm`]). A failure answers the OAuth error body
/// (`invalid_client`, with `WWW-Authenticate: Basic` when Basic was tried).
pub struct AuthenticatedClient<E> {
    pub client: Client,
    pub params: OAuthParams,
    endpoint: PhantomData<E>,
}

impl<E: ClientAuthEndpoint> FromRequest<AppState> for AuthenticatedClient<E> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let headers = request.headers().clone();
        let OAuthForm(params) = OAuthForm::from_request(request, state).await?;
        let endpoint = state.urls.absolute(E::PATH);
        let client = authenticate(state, &headers, &params, &endpoint)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Self {
            client,
            params,
            endpoint: PhantomData,
        })
    }
}

/// `Authorization: Basic` credentials, each part form-decoded.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, OAuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().unwrap_or_default();
    let Some(encoded) = value.strip_prefix("Basic ") else {
        return Ok(None);
    };
    let malformed = || OAuthError::invalid_request("the Basic authorization header is malformed");
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    let unescape = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Ok(Some((unescape(id), unescape(secret))))
}

/// What the request offered to prove who the client is.
enum Presented {
    Basic(String),
    Post(String),
    Assertion(String),
    Nothing,
}

impl Presented {
    fn method_name(&self) -> &'static str {
        match self {
            Self::Basic(_) => "client_secret_basic",
            Self::Post(_) => "client_secret_post",
            Self::Assertion(_) => "a client assertion",
            Self::Nothing => "no credentials",
        }
    }
}

fn wrong(client: &Client, presented: &Presented, basic: bool) -> OAuthError {
    let mut e = OAuthError::invalid_client(format!(
        "this client authenticates with {}, but the request used {}",
        client.token_endpoint_auth_method.as_str(),
        presented.method_name()
    ));
    e.basic_challenge = basic;
    e
}

fn failed(basic: bool) -> OAuthError {
    let mut e = OAuthError::invalid_client("client authentication failed");
    e.basic_challenge = basic;
    e
}

/// Authenticates the client of a request to `endpoint` (the absolute URL
/// that assertions must name as audience).
pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    params: &OAuthParams,
    endpoint: &str,
) -> Result<Client, OAuthError> {
    let basic = basic_credentials(headers)?;
    let used_basic = basic.is_some();
    let assertion = params.get("client_assertion");
    if let Some(kind) = params.get("client_assertion_type") {
        if kind != JWT_BEARER {
            return Err(OAuthError::invalid_request(format!(
                "client_assertion_type must be {JWT_BEARER}"
            )));
        }
    }
    let methods_used = usize::from(basic.is_some())
        + usize::from(params.contains_key("client_secret"))
        + usize::from(assertion.is_some());
    if methods_used > 1 {
        return Err(OAuthError::invalid_request(
            "use exactly one client authentication method (RFC 6749 §2.3)",
        ));
    }

    let (client_id, presented) = match (basic, params.get("client_secret"), assertion) {
        (Some((id, secret)), _, _) => (id, Presented::Basic(secret)),
        (None, Some(secret), _) => (
            params.get("client_id").cloned().unwrap_or_default(),
            Presented::Post(secret.clone()),
        ),
        (None, None, Some(jwt)) => {
            // The client_id may be omitted with an assertion: it is the
            // assertion's `sub` (RFC 7523 §3). Read it unverified only to
            // find the key; the signature is checked below.
            let id = params
                .get("client_id")
                .cloned()
                .or_else(|| unverified_subject(jwt))
                .unwrap_or_default();
            (id, Presented::Assertion(jwt.clone()))
        }
        (None, None, None) => (
            params.get("client_id").cloned().unwrap_or_default(),
            Presented::Nothing,
        ),
    };
    if client_id.is_empty() {
        return Err(OAuthError::invalid_client("client_id is missing"));
    }
    if let Some(form_id) = params.get("client_id") {
        if *form_id != client_id {
            return Err(OAuthError::invalid_request(
                "client_id differs from the authenticated client",
            ));
        }
    }
    let Ok(id) = client_id.parse::<Ulid>() else {
        return Err(failed(used_basic));
    };
    // Through the token cache on PostgreSQL: the token endpoint's hot path
    // (refresh) would otherwise spend one of its three round trips here.
    let Some(client) = state.db.find_client(id).await? else {
        return Err(failed(used_basic));
    };

    match (client.token_endpoint_auth_method, &presented) {
        (ClientAuthMethod::None, Presented::Nothing) => Ok(client),
        (ClientAuthMethod::ClientSecretBasic, Presented::Basic(secret))
        | (ClientAuthMethod::ClientSecretPost, Presented::Post(secret)) => {
            if secret_matches(state, &client, secret) {
                Ok(client)
            } else {
                Err(failed(used_basic))
            }
        }
        (ClientAuthMethod::ClientSecretJwt, Presented::Assertion(jwt)) => {
            let secret = client_secret(state, &client).ok_or_else(|| failed(false))?;
            check_assertion(
                state,
                &client,
                jwt,
                VerificationKey::SharedSecret(secret.as_bytes()),
                endpoint,
            )?;
            Ok(client)
        }
        (ClientAuthMethod::PrivateKeyJwt, Presented::Assertion(jwt)) => {
            let jwks = client_jwks(state, &client).await?;
            check_assertion(state, &client, jwt, VerificationKey::Jwks(&jwks), endpoint)?;
            Ok(client)
        }
        _ => Err(wrong(&client, &presented, used_basic)),
    }
}

/// The client's public keys: registered inline, or fetched from its
/// `jwks_uri` (https, on the client's own host, checked at registration),
/// with a timeout, a size limit and, for dynamic clients, only from public
/// addresses ([`crate::outbound`]).
async fn client_jwks(state: &AppState, client: &Client) -> Result<serde_json::Value, OAuthError> {
    let invalid = |why: String| OAuthError::invalid_client(why);
    if let Some(inline) = client.jwks.as_deref() {
        return serde_json::from_str(inline)
            .map_err(|_| invalid("the client's registered jwks is not valid JSON".into()));
    }
    let uri = client
        .jwks_uri
        .as_deref()
        .ok_or_else(|| invalid("the client registered neither jwks nor jwks_uri".into()))?;
    // A dynamic client's URI came from whoever registered it: public
    // addresses only. A static client's was written by the admin.
    let origin = if client.is_static {
        Origin::Trusted
    } else {
        Origin::Untrusted
    };
    let body = state
        .outbound
        .get_limited(origin, uri, 1 << 20)
        .await
        .map_err(|e| invalid(format!("the client's jwks_uri: {e}")))?;
    serde_json::from_slice(&body)
        .map_err(|_| invalid("the client's jwks_uri is not a JSON JWK Set".into()))
}

fn client_secret(state: &AppState, client: &Client) -> Option<String> {
    let sealed = client.encrypted_client_secret.as_deref()?;
    state.encrypter.decrypt_str(sealed).ok()
}

fn secret_matches(state: &AppState, client: &Client, presented: &str) -> bool {
    match client_secret(state, client) {
        Some(secret) => bool::from(secret.as_bytes().ct_eq(presented.as_bytes())),
        None => false,
    }
}

fn unverified_subject(jwt: &str) -> Option<String> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let payload = jwt.split('.').nth(1)?;
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    claims.get("sub")?.as_str().map(str::to_owned)
}

/// RFC 7523 §3: `iss` and `sub` are the client, `aud` names this endpoint
/// (or the issuer), and the assertion has not expired.
fn check_assertion(
    state: &AppState,
    client: &Client,
    jwt: &str,
    key: VerificationKey<'_>,
    endpoint: &str,
) -> Result<(), OAuthError> {
    let (_, claims) = verify_jws(jwt, key).map_err(|e| {
        OAuthError::invalid_client(format!("the client assertion is not valid: {e}"))
    })?;
    let client_id = client.client_id();
    let claim = |name: &str| claims.get(name).and_then(|v| v.as_str());
    if claim("iss") != Some(client_id.as_str()) || claim("sub") != Some(client_id.as_str()) {
        return Err(OAuthError::invalid_client(
            "the client assertion's iss and sub must be the client_id",
        ));
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(serde_json::Value::String(aud)) => vec![aud.as_str()],
        Some(serde_json::Value::Array(auds)) => auds.iter().filter_map(|a| a.as_str()).collect(),
        _ => Vec::new(),
    };
    let issuer = state.urls.issuer();
    if !audiences
        .iter()
        .any(|aud| *aud == endpoint || *aud == issuer)
    {
        return Err(OAuthError::invalid_client(format!(
            "the client assertion's aud must be {endpoint} or the issuer"
        )));
    }
    let now = state.clock.now().timestamp();
    match claims.get("exp").and_then(|e| e.as_i64()) {
        Some(exp) if exp > now => Ok(()),
        Some(_) => Err(OAuthError::invalid_client(
            "the client assertion has expired",
        )),
        None => Err(OAuthError::invalid_client(
            "the client assertion has no exp claim",
        )),
    }
}
