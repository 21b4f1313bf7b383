//! JWS algorithm names (RFC 7518 §3.1, RFC 8812 §3.2) and the OIDC hash
//! claims (`at_hash`, `c_hash`) whose hash function follows the algorithm.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256, Sha384, Sha512};

use super::{b64, JoseError};

/// A JWS `alg` value. `EdDSA` and `none` are recognised so that a token using
/// them gets a precise error, but mxauth neither signs nor verifies them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum JwsAlgorithm {
    #[serde(rename = "HS256")]
    Hs256,
    #[serde(rename = "HS384")]
    Hs384,
    #[serde(rename = "HS512")]
    Hs512,
    #[serde(rename = "RS256")]
    Rs256,
    #[serde(rename = "RS384")]
    Rs384,
    #[serde(rename = "RS512")]
    Rs512,
    #[serde(rename = "PS256")]
    Ps256,
    #[serde(rename = "PS384")]
    Ps384,
    #[serde(rename = "PS512")]
    Ps512,
    #[serde(rename = "ES256")]
    Es256,
    #[serde(rename = "ES384")]
    Es384,
    /// ECDSA over secp256k1 with SHA-256 (RFC 8812 §3.2).
    #[serde(rename = "ES256K")]
    Es256K,
    /// RFC 8037 §3.1; recognised, not supported.
    #[serde(rename = "EdDSA")]
    EdDsa,
    /// The unsecured JWS of RFC 7518 §3.6; recognised, never accepted.
    #[serde(rename = "none")]
    None,
}

/// The SHA-2 function an algorithm uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sha {
    Sha256,
    Sha384,
    Sha512,
}

impl Sha {
    pub(crate) fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha256 => Sha256::digest(data).to_vec(),
            Self::Sha384 => Sha384::digest(data).to_vec(),
            Self::Sha512 => Sha512::digest(data).to_vec(),
        }
    }
}

/// The elliptic curves mxauth signs and verifies with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Curve {
    P256,
    P384,
    K256,
}

impl Curve {
    /// The JWK `crv` name (RFC 7518 §6.2.1.1, RFC 8812 §3.1).
    pub(crate) fn jwk_name(self) -> &'static str {
        match self {
            Self::P256 => "P-256",
            Self::P384 => "P-384",
            Self::K256 => "secp256k1",
        }
    }

    /// The byte length of one coordinate, and so of R and of S.
    pub(crate) fn coordinate_len(self) -> usize {
        match self {
            Self::P256 | Self::K256 => 32,
            Self::P384 => 48,
        }
    }
}

/// How an algorithm signs: the key it needs and the hash it uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    Hmac(Sha),
    RsaPkcs1(Sha),
    RsaPss(Sha),
    Ecdsa(Curve),
}

impl JwsAlgorithm {
    /// Every algorithm mxauth knows the name of, supported or not.
    pub const ALL: [Self; 14] = [
        Self::Hs256,
        Self::Hs384,
        Self::Hs512,
        Self::Rs256,
        Self::Rs384,
        Self::Rs512,
        Self::Ps256,
        Self::Ps384,
        Self::Ps512,
        Self::Es256,
        Self::Es384,
        Self::Es256K,
        Self::EdDsa,
        Self::None,
    ];

    /// The JWA name, as it appears in a JWS header.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hs256 => "HS256",
            Self::Hs384 => "HS384",
            Self::Hs512 => "HS512",
            Self::Rs256 => "RS256",
            Self::Rs384 => "RS384",
            Self::Rs512 => "RS512",
            Self::Ps256 => "PS256",
            Self::Ps384 => "PS384",
            Self::Ps512 => "PS512",
            Self::Es256 => "ES256",
            Self::Es384 => "ES384",
            Self::Es256K => "ES256K",
            Self::EdDsa => "EdDSA",
            Self::None => "none",
        }
    }

    /// Whether this is an HMAC algorithm, checked with a shared secret.
    pub fn is_symmetric(self) -> bool {
        matches!(self.family(), Ok(Family::Hmac(_)))
    }

    /// The signing family, or the error for `none` and `EdDSA`: every sign
    /// and verify path goes through here, so neither can slip past.
    pub(crate) fn family(self) -> Result<Family, JoseError> {
        Ok(match self {
            Self::Hs256 => Family::Hmac(Sha::Sha256),
            Self::Hs384 => Family::Hmac(Sha::Sha384),
            Self::Hs512 => Family::Hmac(Sha::Sha512),
            Self::Rs256 => Family::RsaPkcs1(Sha::Sha256),
            Self::Rs384 => Family::RsaPkcs1(Sha::Sha384),
            Self::Rs512 => Family::RsaPkcs1(Sha::Sha512),
            Self::Ps256 => Family::RsaPss(Sha::Sha256),
            Self::Ps384 => Family::RsaPss(Sha::Sha384),
            Self::Ps512 => Family::RsaPss(Sha::Sha512),
            Self::Es256 => Family::Ecdsa(Curve::P256),
            Self::Es384 => Family::Ecdsa(Curve::P384),
            Self::Es256K => Family::Ecdsa(Curve::K256),
            Self::EdDsa => return Err(JoseError::UnsupportedAlgorithm(self)),
            Self::None => return Err(JoseError::Unsecured),
        })
    }

    /// The hash function of the algorithm.
    pub(crate) fn sha(self) -> Result<Sha, JoseError> {
        Ok(match self.family()? {
            Family::Hmac(sha) | Family::RsaPkcs1(sha) | Family::RsaPss(sha) => sha,
            Family::Ecdsa(Curve::P256 | Curve::K256) => Sha::Sha256,
            Family::Ecdsa(Curve::P384) => Sha::Sha384,
        })
    }
}

impl fmt::Display for JwsAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JwsAlgorithm {
    type Err = JoseError;

    /// Names are case-sensitive (RFC 7515 §4.1.1).
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|alg| alg.as_str() == name)
            .ok_or_else(|| JoseError::UnknownAlgorithm(name.to_owned()))
    }
}

/// The OIDC hash of a token for the ID token signed with `alg`: `at_hash` of
/// an access token, `c_hash` of an authorization code (OIDC Core §3.1.3.6,
/// §3.3.2.11). It is the base64url of the left half of the hash of the token's
/// ASCII octets, with the SHA-2 size the algorithm uses.
pub fn token_hash(alg: JwsAlgorithm, token: &str) -> Result<String, JoseError> {
    let digest = alg.sha()?.digest(token.as_bytes());
    Ok(b64(&digest[..digest.len() / 2]))
}
