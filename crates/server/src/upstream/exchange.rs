//! The authorization code exchange at the provider's token endpoint
//! (RFC 6749 §4.1.3), with the client authentication the provider is
//! configured for (OIDC Core §9, RFC 7523 §2.2).

use base64::{engine::general_purpose::STANDARD, Engine};
use chrono::Duration;
use mxauth_crypto::{
    jose::{sign_jwt_hmac, JwsAlgorithm, Keystore},
    keys::PrivateKey,
};
use mxauth_model::tokens::generate_alphanumeric;
use serde::Deserialize;
use serde_json::json;
use url::form_urlencoded;

use super::{
    metadata::Endpoints,
    provider::{ClientAuth, Provider},
    UpstreamError,
};
use crate::state::AppState;

/// The largest token response read.
const RESPONSE_LIMIT: usize = 64 * 1024;
/// How long a client assertion is valid (RFC 7523 §3: short).
const ASSERTION_LIFETIME_MINUTES: i64 = 5;
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Apple's `aud` for the client secret JWT.
const APPLE_AUDIENCE: &str = "https://appleid.apple.com";

/// A successful token response (RFC 6749 §5.1, OIDC Core §3.1.3.3).
#[derive(Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    #[serde(default)]
    pub id_token: Option<String>,
}

/// An error response (RFC 6749 §5.2).
#[derive(Deserialize)]
struct ErrorResponse {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

/// Exchanges `code` for tokens.
pub async fn exchange_code(
    state: &AppState,
    provider: &Provider,
    endpoints: &Endpoints,
    code: &str,
    verifier: Option<&str>,
    redirect_uri: &str,
) -> Result<TokenResponse, UpstreamError> {
    // Built in a block: the serializer is not Send and must not live
    // across the request's await.
    let (body, basic) = {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "authorization_code")
            .append_pair("code", code)
            .append_pair("redirect_uri", redirect_uri);
        if let Some(verifier) = verifier {
            form.append_pair("code_verifier", verifier);
        }
        let basic = authenticate(state, provider, endpoints, &mut form)?;
        (form.finish(), basic)
    };
    let url = &endpoints.token_endpoint;
    let answer = state
        .outbound
        .send(
            endpoints.origin_of(url),
            reqwest::Method::POST,
            url.as_str(),
            RESPONSE_LIMIT,
            |r| {
                let r = r
                    .header(
                        reqwest::header::CONTENT_TYPE,
                        "application/x-www-form-urlencoded",
                    )
                    .header(reqwest::header::ACCEPT, "application/json")
                    .body(body);
                match basic {
                    Some(value) => r.header(reqwest::header::AUTHORIZATION, value),
                    None => r,
                }
            },
        )
        .await
        .map_err(|e| UpstreamError::Unreachable(format!("its token endpoint: {e}")))?;
    if !answer.status.is_success() {
        return Err(
            match serde_json::from_slice::<ErrorResponse>(&answer.body) {
                Ok(e) => UpstreamError::TokenExchange(match e.error_description {
                    Some(d) => format!("{} ({d})", e.error),
                    None => e.error,
                }),
                Err(_) => UpstreamError::TokenExchange(format!(
                    "its token endpoint answered {}",
                    answer.status
                )),
            },
        );
    }
    serde_json::from_slice(&answer.body)
        .map_err(|e| UpstreamError::TokenExchange(format!("its token response is not valid: {e}")))
}

/// Adds the client's credentials to `form`, or returns the
/// `Authorization` header value for `client_secret_basic`.
fn authenticate(
    state: &AppState,
    provider: &Provider,
    endpoints: &Endpoints,
    form: &mut form_urlencoded::Serializer<'_, String>,
) -> Result<Option<String>, UpstreamError> {
    let client_id = provider.config.client_id.as_str();
    let secret = || {
        provider.secret.as_deref().ok_or_else(|| {
            UpstreamError::Misconfigured(format!(
                "{} needs client_secret",
                provider.config.token_endpoint_auth_method
            ))
        })
    };
    match provider.client_auth() {
        ClientAuth::None => {
            form.append_pair("client_id", client_id);
            Ok(None)
        }
        // RFC 6749 §2.3.1: both parts are form-urlencoded before base64.
        ClientAuth::ClientSecretBasic => {
            let encode =
                |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let pair = format!("{}:{}", encode(client_id), encode(secret()?));
            Ok(Some(format!("Basic {}", STANDARD.encode(pair))))
        }
        ClientAuth::ClientSecretPost => {
            form.append_pair("client_id", client_id)
                .append_pair("client_secret", secret()?);
            Ok(None)
        }
        ClientAuth::ClientSecretJwt => {
            let alg = signing_alg(provider, JwsAlgorithm::Hs256)?;
            let claims = assertion_claims(state, client_id, endpoints.token_endpoint.as_str());
            let jwt = sign_jwt_hmac(alg, secret()?.as_bytes(), &claims).map_err(|e| {
                UpstreamError::Misconfigured(format!("cannot sign the client assertion: {e}"))
            })?;
            form.append_pair("client_id", client_id)
                .append_pair("client_assertion_type", JWT_BEARER)
                .append_pair("client_assertion", &jwt);
            Ok(None)
        }
        ClientAuth::PrivateKeyJwt => {
            let alg = signing_alg(provider, JwsAlgorithm::Rs256)?;
            let claims = assertion_claims(state, client_id, endpoints.token_endpoint.as_str());
            let jwt = state.keystore.sign_jwt(alg, &claims).map_err(|e| {
                UpstreamError::Misconfigured(format!(
                    "cannot sign the client assertion with secrets.keys: {e}"
                ))
            })?;
            form.append_pair("client_id", client_id)
                .append_pair("client_assertion_type", JWT_BEARER)
                .append_pair("client_assertion", &jwt);
            Ok(None)
        }
        ClientAuth::SignInWithApple => {
            let secret = apple_client_secret(state, provider)?;
            form.append_pair("client_id", client_id)
                .append_pair("client_secret", &secret);
            Ok(None)
        }
    }
}

fn signing_alg(provider: &Provider, default: JwsAlgorithm) -> Result<JwsAlgorithm, UpstreamError> {
    match provider.config.token_endpoint_auth_signing_alg.as_deref() {
        None => Ok(default),
        Some(name) => name.parse().map_err(|_| {
            UpstreamError::Misconfigured(format!(
                "token_endpoint_auth_signing_alg {name:?} is not a JWS algorithm"
            ))
        }),
    }
}

/// RFC 7523 §3: `iss` and `sub` are the client, `aud` the token endpoint,
/// a unique `jti`, and a short `exp`.
fn assertion_claims(state: &AppState, client_id: &str, audience: &str) -> serde_json::Value {
    let now = state.clock.now();
    json!({
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "jti": generate_alphanumeric(&mut state.random.rng(), 32),
        "iat": now.timestamp(),
        "exp": (now + Duration::minutes(ASSERTION_LIFETIME_MINUTES)).timestamp(),
    })
}

/// Sign in with Apple's client secret: an ES256 JWT signed with the key
/// Apple issued, `iss` the team, `sub` the client (the Services ID).
fn apple_client_secret(state: &AppState, provider: &Provider) -> Result<String, UpstreamError> {
    let apple = provider.config.sign_in_with_apple.as_ref().ok_or_else(|| {
        UpstreamError::Misconfigured("sign_in_with_apple needs the sign_in_with_apple block".into())
    })?;
    let pem = provider.secret.as_deref().ok_or_else(|| {
        UpstreamError::Misconfigured(
            "sign_in_with_apple needs private_key or private_key_file".into(),
        )
    })?;
    let key = PrivateKey::from_pem(pem)
        .map_err(|e| UpstreamError::Misconfigured(format!("the Sign in with Apple key: {e}")))?;
    let now = state.clock.now();
    let claims = json!({
        "iss": apple.team_id,
        "sub": provider.config.client_id,
        "aud": APPLE_AUDIENCE,
        "iat": now.timestamp(),
        "exp": (now + Duration::minutes(ASSERTION_LIFETIME_MINUTES)).timestamp(),
    });
    Keystore::new(vec![(apple.key_id.clone(), key)])
        .sign_jwt(JwsAlgorithm::Es256, &claims)
        .map_err(|e| UpstreamError::Misconfigured(format!("the Sign in with Apple key: {e}")))
}

#[cfg(test)]
mod tests {
    use mxauth_config::UpstreamProviderConfig;
    use mxauth_crypto::{
        jose::{verify_jws, VerificationKey},
        keys::generate_p256_pem,
    };
    use rand::{rngs::StdRng, SeedableRng};
    use serde_json::json;
    use ulid::Ulid;

    use super::*;
    use crate::test_support::test_state;

    fn provider(block: serde_json::Value, secret: Option<String>) -> Provider {
        let mut config = json!({"id": Ulid::nil().to_string(), "client_id": "my client:1"});
        config
            .as_object_mut()
            .unwrap()
            .extend(block.as_object().unwrap().clone());
        Provider {
            id: Ulid::nil(),
            enabled: true,
            synapse_idp_id: None,
            config: serde_json::from_value::<UpstreamProviderConfig>(config).unwrap(),
            secret,
        }
    }

    /// RFC 6749 §2.3.1: the id and secret are form-encoded before base64,
    /// so a `:` in either cannot be confused with the separator.
    #[tokio::test]
    async fn basic_credentials_are_form_encoded_first() {
        let ts = test_state().await;
        let p = provider(
            json!({"token_endpoint_auth_method": "client_secret_basic"}),
            Some("p@ss:w rd".into()),
        );
        let endpoints =
            crate::upstream::metadata::tests_support::endpoints("https://idp.example/token");
        let mut form = form_urlencoded::Serializer::new(String::new());
        let header = authenticate(&ts.state, &p, &endpoints, &mut form)
            .unwrap()
            .unwrap();
        let decoded = String::from_utf8(
            STANDARD
                .decode(header.trim_start_matches("Basic "))
                .unwrap(),
        )
        .unwrap();
        assert_eq!(decoded, "my+client%3A1:p%40ss%3Aw+rd");
        assert_eq!(form.finish(), "", "nothing in the body");
    }

    /// Sign in with Apple: the client secret is an ES256 JWT from the team,
    /// about the client, for Apple, with the key id Apple gave.
    #[tokio::test]
    async fn sign_in_with_apple_signs_its_client_secret() {
        let ts = test_state().await;
        let pem = generate_p256_pem(&mut StdRng::seed_from_u64(3)).unwrap();
        let p = provider(
            json!({"token_endpoint_auth_method": "sign_in_with_apple",
                   "sign_in_with_apple": {"team_id": "TEAM1", "key_id": "KEY1"}}),
            Some(pem.clone()),
        );
        let secret = apple_client_secret(&ts.state, &p).unwrap();
        let key = PrivateKey::from_pem(&pem).unwrap();
        let jwks = Keystore::new(vec![("KEY1".into(), key)]).public_jwks();
        let (header, claims) = verify_jws(&secret, VerificationKey::Jwks(&jwks)).unwrap();
        assert_eq!(header.alg, JwsAlgorithm::Es256);
        assert_eq!(header.kid.as_deref(), Some("KEY1"));
        assert_eq!(claims["iss"], "TEAM1");
        assert_eq!(claims["sub"], "my client:1");
        assert_eq!(claims["aud"], APPLE_AUDIENCE);
    }
}
