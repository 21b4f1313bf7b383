//! JOSE for mxauth: JWS algorithms, signing JWTs with the server's keys and
//! publishing them as a JWK Set, and verifying compact JWS from clients
//! (RFC 7523) and upstream providers (OIDC ID tokens).
//!
//! Only the compact serialization (RFC 7515 §7.1) is handled; claims checks
//! (`exp`, `aud`, …) are the caller's, on the claims this module returns.

mod alg;
mod jwk;
mod jws;
mod keystore;

#[cfg(test)]
mod tests;

pub use alg::{token_hash, JwsAlgorithm};
pub use jws::{sign_jwt_hmac, verify_jws, JwsHeader, VerificationKey};
pub use keystore::Keystore;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use thiserror::Error;

/// Everything that can go wrong signing or verifying. Each variant names
/// what was wrong, so a client can be told why its assertion was refused.
#[derive(Debug, Error)]
pub enum JoseError {
    #[error("not a compact JWS: expected 3 base64url parts separated by dots, found {0} (encrypted JWE tokens are not supported)")]
    NotCompact(usize),
    #[error("the JWS {part} is not valid base64url without padding (RFC 7515 §2)")]
    Base64 { part: &'static str },
    #[error("the JWS {part} is not a JSON object: {source}")]
    Json {
        part: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("the JWS header is invalid: {0}")]
    InvalidHeader(&'static str),
    #[error("the JWS header names the unknown algorithm {0:?}")]
    UnknownAlgorithm(String),
    #[error("the algorithm {0} is recognised but mxauth does not support it")]
    UnsupportedAlgorithm(JwsAlgorithm),
    #[error("unsecured tokens (`alg: none`) are never accepted: the token must be signed (RFC 7518 §3.6)")]
    Unsecured,
    #[error("the JWS header marks {0} as critical, and mxauth understands no header extensions (RFC 7515 §4.1.11)")]
    CriticalHeader(String),
    #[error("the token is signed with {alg}, which cannot be checked with {key}")]
    KeyTypeMismatch { alg: JwsAlgorithm, key: String },
    #[error("no key in the JWK set has the `kid` {0:?} that the token header names")]
    UnknownKid(String),
    #[error("no key in the JWK set can check a {0} signature")]
    NoMatchingKey(JwsAlgorithm),
    #[error("{count} keys in the JWK set can check a {alg} signature and the token header names no `kid` to choose between them")]
    AmbiguousKey { alg: JwsAlgorithm, count: usize },
    #[error("the JWK set is invalid: {0}")]
    InvalidJwks(&'static str),
    #[error("the JWK {kid} is invalid: {reason}")]
    InvalidJwk { kid: String, reason: String },
    #[error("the RSA key {kid} has {bits} bits, fewer than the 2048 that RFC 7518 §3.3 requires")]
    WeakRsaKey { kid: String, bits: usize },
    #[error("the shared secret is empty, so anyone could forge the token")]
    EmptySecret,
    #[error("the {alg} signature is {actual} bytes long but must be {expected} (RFC 7518 §3; ECDSA signatures are R || S, not DER)")]
    SignatureLength {
        alg: JwsAlgorithm,
        expected: usize,
        actual: usize,
    },
    #[error("the signature does not match: the token was altered or signed with another key")]
    BadSignature,
    #[error("no signing key can sign with {0}")]
    NoSigningKey(JwsAlgorithm),
    #[error("the JWT claims must be a JSON object (RFC 7519 §7.1)")]
    ClaimsNotObject,
    #[error("signing with {alg} failed: {reason}")]
    Signing { alg: JwsAlgorithm, reason: String },
}

/// base64url without padding, the only encoding JWS uses (RFC 7515 §2).
pub(crate) fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url, refusing padding and non-zero trailing bits, so each
/// value has exactly one accepted encoding.
pub(crate) fn b64_decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}
