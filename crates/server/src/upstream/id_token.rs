//! Checking what the provider signs: ID tokens (OIDC Core §3.1.3.7),
//! signed userinfo answers (§5.3.2) and logout tokens (Back-Channel
//! Logout 1.0 §2.6) share the signature check against the provider's JWK
//! Set, fetched again once when the token names a key the cached set does
//! not have.

use chrono::{DateTime, Utc};
use mxauth_crypto::jose::{token_hash, verify_jws, JoseError, JwsAlgorithm, VerificationKey};
use serde_json::{Map, Value};

use super::{metadata::Endpoints, provider::Provider};
use crate::state::AppState;

/// Clock skew tolerated on `exp` and `iat`.
const LEEWAY_SECONDS: i64 = 60;

/// Verifies the signature of `token` and that it uses `expected`; returns
/// its claims. `what` names the token in errors.
pub async fn verify_signed(
    state: &AppState,
    provider: &Provider,
    endpoints: &Endpoints,
    token: &str,
    expected: JwsAlgorithm,
    what: &'static str,
) -> Result<Map<String, Value>, String> {
    let now = state.clock.now();
    let result = if expected.is_symmetric() {
        // OIDC Core §10.1: HS* tokens are signed with the client secret.
        let secret = provider.secret.as_deref().unwrap_or_default();
        verify_jws(token, VerificationKey::SharedSecret(secret.as_bytes()))
    } else {
        let uri = endpoints
            .jwks_uri
            .as_ref()
            .ok_or_else(|| format!("the provider has no jwks_uri to check the {what} with"))?;
        let cache = &state.upstream_metadata;
        let jwks = cache
            .jwks(&state.outbound, endpoints, uri, now, false)
            .await
            .map_err(|e| e.describe())?;
        match verify_jws(token, VerificationKey::Jwks(&jwks)) {
            Err(JoseError::UnknownKid(_) | JoseError::NoMatchingKey(_)) => {
                let jwks = cache
                    .jwks(&state.outbound, endpoints, uri, now, true)
                    .await
                    .map_err(|e| e.describe())?;
                verify_jws(token, VerificationKey::Jwks(&jwks))
            }
            other => other,
        }
    };
    let (header, claims) = result.map_err(|e| format!("its signature does not hold: {e}"))?;
    if header.alg != expected {
        return Err(format!(
            "it is signed with {} but {expected} is expected",
            header.alg
        ));
    }
    match claims {
        Value::Object(claims) => Ok(claims),
        _ => Err(format!("the {what} claims are not a JSON object")),
    }
}

/// The checks of OIDC Core §3.1.3.7 after the signature: issuer,
/// audience, authorized party, expiry, issue time, nonce, and the access
/// token hash when present (§3.2.2.9).
pub fn check_id_token_claims(
    claims: &Map<String, Value>,
    issuer: Option<&str>,
    client_id: &str,
    nonce: Option<&str>,
    now: DateTime<Utc>,
    access_token: Option<(&str, JwsAlgorithm)>,
) -> Result<(), String> {
    check_issuer_and_audience(claims, issuer, client_id)?;
    let exp = number(claims, "exp")?;
    if exp + LEEWAY_SECONDS < now.timestamp() {
        return Err("it expired (exp)".into());
    }
    let iat = number(claims, "iat")?;
    if iat - LEEWAY_SECONDS > now.timestamp() {
        return Err("it was issued in the future (iat)".into());
    }
    if let Some(expected) = nonce {
        match claims.get("nonce").and_then(Value::as_str) {
            Some(found) if found == expected => {}
            Some(_) => return Err(
                "its nonce is not the one sent: it belongs to another sign-in (a replayed token?)"
                    .into(),
            ),
            None => return Err("it has no nonce, but one was sent".into()),
        }
    }
    if claims
        .get("sub")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return Err("it has no subject (sub)".into());
    }
    if let (Some(at_hash), Some((token, alg))) =
        (claims.get("at_hash").and_then(Value::as_str), access_token)
    {
        let expected = token_hash(alg, token).map_err(|e| e.to_string())?;
        if at_hash != expected {
            return Err("its at_hash does not match the access token".into());
        }
    }
    Ok(())
}

/// `iss` equals the issuer (when one is known); `aud` contains the client
/// id; with several audiences, `azp` is the client id (OIDC Core §3.1.3.7
/// steps 2 to 5). Logout tokens share these checks.
pub fn check_issuer_and_audience(
    claims: &Map<String, Value>,
    issuer: Option<&str>,
    client_id: &str,
) -> Result<(), String> {
    if let Some(issuer) = issuer {
        match claims.get("iss").and_then(Value::as_str) {
            Some(found) if found == issuer => {}
            found => return Err(format!("its issuer {found:?} is not {issuer:?}")),
        }
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(aud)) => vec![aud.as_str()],
        Some(Value::Array(auds)) => auds.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !audiences.contains(&client_id) {
        return Err(format!(
            "its audience {audiences:?} does not include the client id {client_id:?}"
        ));
    }
    let azp = claims.get("azp").and_then(Value::as_str);
    if audiences.len() > 1 && azp != Some(client_id) {
        return Err("it names several audiences and its azp is not this client".into());
    }
    if azp.is_some_and(|azp| azp != client_id) {
        return Err("its azp is another client".into());
    }
    Ok(())
}

fn number(claims: &Map<String, Value>, name: &str) -> Result<i64, String> {
    claims
        .get(name)
        .and_then(Value::as_i64)
        .ok_or_else(|| format!("it has no numeric {name}"))
}
