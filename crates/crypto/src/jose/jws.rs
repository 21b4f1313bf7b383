//! Compact JWS (RFC 7515 §7.1): assembling a signed JWT, HMAC with a shared
//! secret, and verifying a token against a shared secret or a JWK Set.

use std::fmt;

use hmac::{digest::KeyInit, Hmac, Mac};
use serde::Serialize;
use serde_json::{json, Map, Value};
use sha2::{Sha256, Sha384, Sha512};

use super::alg::{Family, Sha};
use super::{b64, b64_decode, jwk, JoseError, JwsAlgorithm};

/// The protected header of a verified JWS.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JwsHeader {
    pub alg: JwsAlgorithm,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub typ: Option<String>,
    /// Every other member, as sent.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl JwsHeader {
    fn from_json(mut map: Map<String, Value>) -> Result<Self, JoseError> {
        // RFC 7515 §4.1.11: a recipient must reject a JWS whose critical
        // extensions it does not understand, and mxauth understands none.
        if let Some(crit) = map.get("crit") {
            return Err(JoseError::CriticalHeader(crit.to_string()));
        }
        let alg = match map.remove("alg") {
            Some(Value::String(name)) => name.parse()?,
            Some(_) => return Err(JoseError::InvalidHeader("`alg` must be a string")),
            None => {
                return Err(JoseError::InvalidHeader(
                    "it has no `alg` member (RFC 7515 §4.1.1)",
                ))
            }
        };
        let kid = take_string(&mut map, "kid", "`kid` must be a string")?;
        let typ = take_string(&mut map, "typ", "`typ` must be a string")?;
        Ok(Self {
            alg,
            kid,
            typ,
            other: map,
        })
    }
}

fn take_string(
    map: &mut Map<String, Value>,
    name: &str,
    error: &'static str,
) -> Result<Option<String>, JoseError> {
    match map.remove(name) {
        None => Ok(None),
        Some(Value::String(value)) => Ok(Some(value)),
        Some(_) => Err(JoseError::InvalidHeader(error)),
    }
}

/// What a token is checked against.
#[derive(Clone, Copy)]
pub enum VerificationKey<'a> {
    /// The shared secret of the HS* algorithms, such as the client secret of
    /// `client_secret_jwt` (OIDC Core §9).
    SharedSecret(&'a [u8]),
    /// A JWK Set (RFC 7517 §5) for RS*, PS* and ES*, such as a client's
    /// `jwks` for `private_key_jwt` or an upstream provider's `jwks_uri`.
    Jwks(&'a Value),
}

// The secret must never reach a log.
impl fmt::Debug for VerificationKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SharedSecret(_) => f.write_str("SharedSecret(<redacted>)"),
            Self::Jwks(jwks) => f.debug_tuple("Jwks").field(jwks).finish(),
        }
    }
}

/// Verifies a compact JWS whose payload is a JWT claims set, following
/// RFC 7515 §5.2, and returns its header and claims. Only the signature is
/// checked here; the claims (`exp`, `aud`, `iss`, …) are the caller's.
pub fn verify_jws(token: &str, key: VerificationKey<'_>) -> Result<(JwsHeader, Value), JoseError> {
    let parts: Vec<&str> = token.split('.').collect();
    let [header_b64, payload_b64, signature_b64] = parts[..] else {
        return Err(JoseError::NotCompact(parts.len()));
    };
    let header = decode_object(header_b64, "header")?;
    let header = JwsHeader::from_json(header)?;
    // Refuses `none` and `EdDSA` before any key is looked at.
    let family = header.alg.family()?;
    let signature = b64_decode(signature_b64).ok_or(JoseError::Base64 { part: "signature" })?;
    if b64_decode(payload_b64).is_none() {
        return Err(JoseError::Base64 { part: "payload" });
    }
    // RFC 7515 §5.2 step 8: the signing input is the ASCII of the first two
    // parts as received, dot included.
    let input = &token.as_bytes()[..header_b64.len() + 1 + payload_b64.len()];
    match (key, family) {
        (VerificationKey::SharedSecret(secret), Family::Hmac(sha)) => {
            hmac_verify(header.alg, sha, secret, input, &signature)?;
        }
        (VerificationKey::SharedSecret(_), _) => {
            return Err(JoseError::KeyTypeMismatch {
                alg: header.alg,
                key: "a shared secret".to_owned(),
            });
        }
        // Refusing HS* here stops the classic confusion attack, in which a
        // public key is used as an HMAC secret.
        (VerificationKey::Jwks(_), Family::Hmac(_)) => {
            return Err(JoseError::KeyTypeMismatch {
                alg: header.alg,
                key: "a JWK Set of public keys".to_owned(),
            });
        }
        (VerificationKey::Jwks(jwks), _) => {
            let public = jwk::select(jwks, header.alg, header.kid.as_deref())?;
            public.verify(header.alg, input, &signature)?;
        }
    }
    // Parsed only once the signature holds: untrusted JSON goes no further.
    let claims = decode_object(payload_b64, "payload")?;
    Ok((header, Value::Object(claims)))
}

fn decode_object(part_b64: &str, part: &'static str) -> Result<Map<String, Value>, JoseError> {
    let bytes = b64_decode(part_b64).ok_or(JoseError::Base64 { part })?;
    serde_json::from_slice(&bytes).map_err(|source| JoseError::Json { part, source })
}

/// Signs a JWT with an HMAC algorithm and a shared secret, as a client does
/// for `client_secret_jwt` (RFC 7523 §2.2). The header is `{alg, typ: "JWT"}`.
pub fn sign_jwt_hmac(
    alg: JwsAlgorithm,
    secret: &[u8],
    claims: &Value,
) -> Result<String, JoseError> {
    let Family::Hmac(sha) = alg.family()? else {
        return Err(JoseError::KeyTypeMismatch {
            alg,
            key: "a shared secret".to_owned(),
        });
    };
    let header = json!({"alg": alg, "typ": "JWT"});
    sign_compact(&header, claims, |input| hmac_sign(alg, sha, secret, input))
}

/// Assembles `BASE64URL(header) . BASE64URL(claims) . BASE64URL(signature)`
/// (RFC 7515 §7.1), with `sign` computing the signature over the first two.
pub(crate) fn sign_compact(
    header: &Value,
    claims: &Value,
    sign: impl FnOnce(&[u8]) -> Result<Vec<u8>, JoseError>,
) -> Result<String, JoseError> {
    if !claims.is_object() {
        return Err(JoseError::ClaimsNotObject);
    }
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let signature = sign(input.as_bytes())?;
    Ok(format!("{input}.{}", b64(&signature)))
}

fn new_mac<M: Mac + KeyInit>(alg: JwsAlgorithm, secret: &[u8]) -> Result<M, JoseError> {
    if secret.is_empty() {
        return Err(JoseError::EmptySecret);
    }
    <M as KeyInit>::new_from_slice(secret).map_err(|error| JoseError::Signing {
        alg,
        reason: error.to_string(),
    })
}

fn mac_of<M: Mac + KeyInit>(
    alg: JwsAlgorithm,
    secret: &[u8],
    input: &[u8],
) -> Result<Vec<u8>, JoseError> {
    let mut mac = new_mac::<M>(alg, secret)?;
    mac.update(input);
    Ok(mac.finalize().into_bytes().to_vec())
}

/// HMAC of RFC 7518 §3.2.
pub(crate) fn hmac_sign(
    alg: JwsAlgorithm,
    sha: Sha,
    secret: &[u8],
    input: &[u8],
) -> Result<Vec<u8>, JoseError> {
    match sha {
        Sha::Sha256 => mac_of::<Hmac<Sha256>>(alg, secret, input),
        Sha::Sha384 => mac_of::<Hmac<Sha384>>(alg, secret, input),
        Sha::Sha512 => mac_of::<Hmac<Sha512>>(alg, secret, input),
    }
}

fn mac_matches<M: Mac + KeyInit>(
    alg: JwsAlgorithm,
    secret: &[u8],
    input: &[u8],
    signature: &[u8],
) -> Result<bool, JoseError> {
    let mut mac = new_mac::<M>(alg, secret)?;
    mac.update(input);
    // `verify_slice` compares in constant time (house rule 7).
    Ok(mac.verify_slice(signature).is_ok())
}

fn hmac_verify(
    alg: JwsAlgorithm,
    sha: Sha,
    secret: &[u8],
    input: &[u8],
    signature: &[u8],
) -> Result<(), JoseError> {
    // The length of an HMAC is public (the hash size), so checking it first
    // leaks nothing and gives a clearer error.
    let expected = match sha {
        Sha::Sha256 => 32,
        Sha::Sha384 => 48,
        Sha::Sha512 => 64,
    };
    if signature.len() != expected {
        return Err(JoseError::SignatureLength {
            alg,
            expected,
            actual: signature.len(),
        });
    }
    let matches = match sha {
        Sha::Sha256 => mac_matches::<Hmac<Sha256>>(alg, secret, input, signature)?,
        Sha::Sha384 => mac_matches::<Hmac<Sha384>>(alg, secret, input, signature)?,
        Sha::Sha512 => mac_matches::<Hmac<Sha512>>(alg, secret, input, signature)?,
    };
    if matches {
        Ok(())
    } else {
        Err(JoseError::BadSignature)
    }
}
