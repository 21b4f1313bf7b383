//! Public JWKs for verification (RFC 7517, RFC 7518 §6): choosing the key of
//! a JWK Set that a token's header designates, reading it, and checking a
//! signature with it.

use rsa::{traits::PublicKeyParts, BigUint, Pkcs1v15Sign, Pss, RsaPublicKey};
use serde_json::Value;
use sha2::{Sha256, Sha384, Sha512};

use super::alg::{Curve, Family, Sha};
use super::{b64_decode, JoseError, JwsAlgorithm};

/// RFC 7518 §3.3: "A key of size 2048 bits or larger MUST be used".
const MIN_RSA_BITS: usize = 2048;
/// Bounds the work a hostile JWK can ask of us; 8192 bits covers every key
/// seen in practice.
const MAX_RSA_BITS: usize = 8192;

/// A public key read from a JWK.
#[derive(Debug)]
pub(crate) enum PublicKey {
    Rsa(RsaPublicKey),
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
    K256(k256::ecdsa::VerifyingKey),
}

/// The key of `jwks` that checks a token with this `alg` and `kid`.
///
/// With a `kid` (RFC 7515 §4.1.4) the key must carry it; without one, exactly
/// one key may fit the algorithm, because guessing between several would
/// hide a misconfigured client or provider.
pub(crate) fn select(
    jwks: &Value,
    alg: JwsAlgorithm,
    kid: Option<&str>,
) -> Result<PublicKey, JoseError> {
    let family = alg.family()?;
    let keys = jwks
        .get("keys")
        .and_then(Value::as_array)
        .ok_or(JoseError::InvalidJwks(
            "it must be an object with a `keys` array (RFC 7517 §5)",
        ))?;
    match kid {
        Some(kid) => {
            let mut named = keys
                .iter()
                .filter(|jwk| member(jwk, "kid") == Some(kid))
                .peekable();
            let first = *named
                .peek()
                .ok_or_else(|| JoseError::UnknownKid(kid.to_owned()))?;
            match named.find(|jwk| fits(jwk, alg, family)) {
                Some(jwk) => read(jwk, family),
                None => Err(JoseError::KeyTypeMismatch {
                    alg,
                    key: describe(first),
                }),
            }
        }
        None => {
            let fitting: Vec<&Value> = keys.iter().filter(|jwk| fits(jwk, alg, family)).collect();
            match fitting.as_slice() {
                [jwk] => read(jwk, family),
                [] => Err(JoseError::NoMatchingKey(alg)),
                many => Err(JoseError::AmbiguousKey {
                    alg,
                    count: many.len(),
                }),
            }
        }
    }
}

fn member<'a>(jwk: &'a Value, name: &str) -> Option<&'a str> {
    jwk.get(name).and_then(Value::as_str)
}

/// Whether a JWK may check a signature made with `alg`.
fn fits(jwk: &Value, alg: JwsAlgorithm, family: Family) -> bool {
    let kty = member(jwk, "kty");
    let type_fits = match family {
        Family::RsaPkcs1(_) | Family::RsaPss(_) => kty == Some("RSA"),
        Family::Ecdsa(curve) => kty == Some("EC") && member(jwk, "crv") == Some(curve.jwk_name()),
        // A JWK Set holds public keys; an HMAC secret never belongs there.
        Family::Hmac(_) => false,
    };
    // RFC 7517 §4.4: a key that names an algorithm is for that one only.
    let alg_fits = member(jwk, "alg").is_none_or(|name| name == alg.as_str());
    // RFC 7517 §4.2 and §4.3: a key meant for encryption must not verify.
    let use_fits = member(jwk, "use").is_none_or(|usage| usage == "sig");
    let ops_fit = jwk
        .get("key_ops")
        .and_then(Value::as_array)
        .is_none_or(|ops| ops.iter().any(|op| op == "verify"));
    type_fits && alg_fits && use_fits && ops_fit
}

/// A short description of a JWK for error messages: its `kid` and the
/// members that decide what it can verify.
fn describe(jwk: &Value) -> String {
    let details: Vec<String> = ["kty", "crv", "alg", "use"]
        .into_iter()
        .filter_map(|name| member(jwk, name).map(|value| format!("{name} {value}")))
        .collect();
    format!("{} ({})", name_of(jwk), details.join(", "))
}

fn name_of(jwk: &Value) -> String {
    match member(jwk, "kid") {
        Some(kid) => format!("{kid:?}"),
        None => "without a kid".to_owned(),
    }
}

fn invalid(jwk: &Value, reason: impl Into<String>) -> JoseError {
    JoseError::InvalidJwk {
        kid: name_of(jwk),
        reason: reason.into(),
    }
}

/// A base64url member of the JWK, decoded.
fn bytes(jwk: &Value, name: &str) -> Result<Vec<u8>, JoseError> {
    let text = member(jwk, name).ok_or_else(|| invalid(jwk, format!("`{name}` is missing")))?;
    b64_decode(text).ok_or_else(|| invalid(jwk, format!("`{name}` is not base64url")))
}

/// Reads the public key of a JWK that `fits` already matched to `family`.
fn read(jwk: &Value, family: Family) -> Result<PublicKey, JoseError> {
    match family {
        Family::RsaPkcs1(_) | Family::RsaPss(_) => read_rsa(jwk),
        Family::Ecdsa(curve) => read_ec(jwk, curve),
        Family::Hmac(_) => Err(invalid(jwk, "an HMAC secret has no public key")),
    }
}

/// RFC 7518 §6.3.1: `n` and `e` as unsigned big-endian integers.
fn read_rsa(jwk: &Value) -> Result<PublicKey, JoseError> {
    let n = BigUint::from_bytes_be(&bytes(jwk, "n")?);
    let e = BigUint::from_bytes_be(&bytes(jwk, "e")?);
    let key = RsaPublicKey::new_with_max_size(n, e, MAX_RSA_BITS)
        .map_err(|error| invalid(jwk, format!("not a usable RSA public key: {error}")))?;
    let bits = key.n().bits();
    if bits < MIN_RSA_BITS {
        return Err(JoseError::WeakRsaKey {
            kid: name_of(jwk),
            bits,
        });
    }
    Ok(PublicKey::Rsa(key))
}

/// RFC 7518 §6.2.1: `x` and `y` each the full size of a coordinate.
fn read_ec(jwk: &Value, curve: Curve) -> Result<PublicKey, JoseError> {
    let len = curve.coordinate_len();
    let x = bytes(jwk, "x")?;
    let y = bytes(jwk, "y")?;
    if x.len() != len || y.len() != len {
        return Err(invalid(
            jwk,
            format!(
                "`x` and `y` must be {len} bytes each on {} (RFC 7518 §6.2.1.2)",
                curve.jwk_name()
            ),
        ));
    }
    // SEC1 uncompressed point: 0x04 || x || y.
    let point = [&[0x04][..], &x, &y].concat();
    let key = match curve {
        Curve::P256 => p256::ecdsa::VerifyingKey::from_sec1_bytes(&point).map(PublicKey::P256),
        Curve::P384 => p384::ecdsa::VerifyingKey::from_sec1_bytes(&point).map(PublicKey::P384),
        Curve::K256 => k256::ecdsa::VerifyingKey::from_sec1_bytes(&point).map(PublicKey::K256),
    };
    key.map_err(|_| {
        invalid(
            jwk,
            format!("(x, y) is not a point on {}", curve.jwk_name()),
        )
    })
}

/// RSASSA-PKCS1-v1_5 with the algorithm's hash (RFC 7518 §3.3).
pub(crate) fn pkcs1_scheme(sha: Sha) -> Pkcs1v15Sign {
    match sha {
        Sha::Sha256 => Pkcs1v15Sign::new::<Sha256>(),
        Sha::Sha384 => Pkcs1v15Sign::new::<Sha384>(),
        Sha::Sha512 => Pkcs1v15Sign::new::<Sha512>(),
    }
}

/// RSASSA-PSS with MGF1 of the same hash and a salt as long as the hash
/// (RFC 7518 §3.5). `blinded` turns on RSA blinding for signing, which
/// hides the private key from timing; the signature format is unchanged.
pub(crate) fn pss_scheme(sha: Sha, blinded: bool) -> Pss {
    match (sha, blinded) {
        (Sha::Sha256, false) => Pss::new::<Sha256>(),
        (Sha::Sha384, false) => Pss::new::<Sha384>(),
        (Sha::Sha512, false) => Pss::new::<Sha512>(),
        (Sha::Sha256, true) => Pss::new_blinded::<Sha256>(),
        (Sha::Sha384, true) => Pss::new_blinded::<Sha384>(),
        (Sha::Sha512, true) => Pss::new_blinded::<Sha512>(),
    }
}

fn check_length(alg: JwsAlgorithm, expected: usize, signature: &[u8]) -> Result<(), JoseError> {
    if signature.len() == expected {
        Ok(())
    } else {
        Err(JoseError::SignatureLength {
            alg,
            expected,
            actual: signature.len(),
        })
    }
}

impl PublicKey {
    fn kind(&self) -> &'static str {
        match self {
            Self::Rsa(_) => "an RSA key",
            Self::P256(_) => "a P-256 key",
            Self::P384(_) => "a P-384 key",
            Self::K256(_) => "a secp256k1 key",
        }
    }

    /// Checks `signature` over the JWS signing input.
    pub(crate) fn verify(
        &self,
        alg: JwsAlgorithm,
        input: &[u8],
        signature: &[u8],
    ) -> Result<(), JoseError> {
        use p256::ecdsa::signature::Verifier;

        fn bad<E>(_: E) -> JoseError {
            JoseError::BadSignature
        }
        match (self, alg.family()?) {
            (Self::Rsa(key), Family::RsaPkcs1(sha)) => {
                // RFC 8017 §8.2.2 step 1: the signature is as long as the modulus.
                check_length(alg, key.size(), signature)?;
                key.verify(pkcs1_scheme(sha), &sha.digest(input), signature)
                    .map_err(bad)
            }
            (Self::Rsa(key), Family::RsaPss(sha)) => {
                check_length(alg, key.size(), signature)?;
                key.verify(pss_scheme(sha, false), &sha.digest(input), signature)
                    .map_err(bad)
            }
            // RFC 7518 §3.4: ECDSA signatures are R || S, each a full
            // coordinate long; a DER signature fails the length check.
            (Self::P256(key), Family::Ecdsa(curve @ Curve::P256)) => {
                check_length(alg, 2 * curve.coordinate_len(), signature)?;
                let signature = p256::ecdsa::Signature::from_slice(signature).map_err(bad)?;
                key.verify(input, &signature).map_err(bad)
            }
            (Self::P384(key), Family::Ecdsa(curve @ Curve::P384)) => {
                check_length(alg, 2 * curve.coordinate_len(), signature)?;
                let signature = p384::ecdsa::Signature::from_slice(signature).map_err(bad)?;
                key.verify(input, &signature).map_err(bad)
            }
            (Self::K256(key), Family::Ecdsa(curve @ Curve::K256)) => {
                check_length(alg, 2 * curve.coordinate_len(), signature)?;
                let signature = k256::ecdsa::Signature::from_slice(signature).map_err(bad)?;
                // The k256 crate only accepts low-S signatures, a Bitcoin
                // rule; RFC 8812 has no such rule and (r, s) and (r, n - s)
                // are equally valid ECDSA, so normalise rather than reject
                // signers that do not normalise.
                let signature = signature.normalize_s().unwrap_or(signature);
                key.verify(input, &signature).map_err(bad)
            }
            (key, _) => Err(JoseError::KeyTypeMismatch {
                alg,
                key: key.kind().to_owned(),
            }),
        }
    }
}
