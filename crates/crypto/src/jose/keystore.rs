//! The server's signing keys as a keystore: which algorithms they offer, the
//! public JWK Set published at `jwks_uri`, and signing JWTs with them.

use p256::elliptic_curve::sec1::ToEncodedPoint;
// RSA signing draws blinding factors and PSS salts from the OS generator:
// they protect the key and vary every signature by design, so there is
// nothing for a seeded test generator to make repeatable.
#[allow(clippy::disallowed_types)]
use rand::rngs::OsRng;
use serde_json::{json, Value};

use super::alg::{Curve, Family};
use super::jwk::{pkcs1_scheme, pss_scheme};
use super::jws::sign_compact;
use super::{b64, JoseError, JwsAlgorithm};
use crate::keys::PrivateKey;

const RSA_ALGORITHMS: &[JwsAlgorithm] = &[
    JwsAlgorithm::Rs256,
    JwsAlgorithm::Rs384,
    JwsAlgorithm::Rs512,
    JwsAlgorithm::Ps256,
    JwsAlgorithm::Ps384,
    JwsAlgorithm::Ps512,
];

/// The signing keys, each with its `kid`, in configuration order.
#[derive(Debug, Default)]
pub struct Keystore {
    keys: Vec<(String, PrivateKey)>,
}

/// The algorithms a key can sign with. An EC key is bound to the one
/// algorithm of its curve (RFC 7518 §3.4, RFC 8812 §3.2); an RSA key serves
/// both RSA families at every hash size.
fn algorithms_of(key: &PrivateKey) -> &'static [JwsAlgorithm] {
    match key {
        PrivateKey::Rsa(_) => RSA_ALGORITHMS,
        PrivateKey::P256(_) => &[JwsAlgorithm::Es256],
        PrivateKey::P384(_) => &[JwsAlgorithm::Es384],
        PrivateKey::K256(_) => &[JwsAlgorithm::Es256K],
    }
}

impl Keystore {
    pub fn new(keys: Vec<(String, PrivateKey)>) -> Self {
        Self { keys }
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The public JWK Set (RFC 7517 §5). Each key carries `kid` and
    /// `use: "sig"`; EC keys also carry `alg`, since each curve has exactly
    /// one algorithm. RSA keys leave `alg` out: one key serves RS* and PS*,
    /// and RFC 7517 §4.4 would restrict it to the single algorithm named.
    pub fn public_jwks(&self) -> Value {
        let keys: Vec<Value> = self
            .keys
            .iter()
            .map(|(kid, key)| {
                let mut jwk = public_jwk(key);
                if let Value::Object(members) = &mut jwk {
                    members.insert("kid".to_owned(), json!(kid));
                    members.insert("use".to_owned(), json!("sig"));
                    if let [only] = algorithms_of(key) {
                        members.insert("alg".to_owned(), json!(only));
                    }
                }
                jwk
            })
            .collect();
        json!({ "keys": keys })
    }

    /// Every algorithm some key can sign with, each once, in key order: the
    /// `id_token_signing_alg_values_supported` of discovery.
    pub fn available_algorithms(&self) -> Vec<JwsAlgorithm> {
        let mut algorithms = Vec::new();
        for (_, key) in &self.keys {
            for alg in algorithms_of(key) {
                if !algorithms.contains(alg) {
                    algorithms.push(*alg);
                }
            }
        }
        algorithms
    }

    /// Signs `claims` as a JWT with the first key that supports `alg`. The
    /// header is `{alg, kid, typ: "JWT"}` (RFC 7519 §5.1).
    pub fn sign_jwt(&self, alg: JwsAlgorithm, claims: &Value) -> Result<String, JoseError> {
        alg.family()?;
        let (kid, key) = self
            .keys
            .iter()
            .find(|(_, key)| algorithms_of(key).contains(&alg))
            .ok_or(JoseError::NoSigningKey(alg))?;
        let header = json!({"alg": alg, "kid": kid, "typ": "JWT"});
        sign_compact(&header, claims, |input| sign_with(key, alg, input))
    }
}

/// The public JWK of a key (RFC 7518 §6.2.1, §6.3.1).
///
/// EC keys are encoded here from the uncompressed point: `x` and `y` must
/// each be a full coordinate (RFC 7518 §6.2.1.2), and
/// `PrivateKey::public_jwk` splits the bytes of `to_sec1_bytes`, which for
/// secp256k1 is the 33-byte compressed point.
fn public_jwk(key: &PrivateKey) -> Value {
    fn ec(crv: &str, point: &[u8]) -> Value {
        // SEC1 uncompressed: 0x04 || x || y.
        let coordinates = point.get(1..).unwrap_or_default();
        let (x, y) = coordinates.split_at(coordinates.len() / 2);
        json!({"crv": crv, "kty": "EC", "x": b64(x), "y": b64(y)})
    }
    match key {
        PrivateKey::Rsa(_) => key.public_jwk(),
        PrivateKey::P256(key) => ec("P-256", key.public_key().to_encoded_point(false).as_bytes()),
        PrivateKey::P384(key) => ec("P-384", key.public_key().to_encoded_point(false).as_bytes()),
        PrivateKey::K256(key) => ec(
            "secp256k1",
            key.public_key().to_encoded_point(false).as_bytes(),
        ),
    }
}

/// The raw JWS signature of `input` (RFC 7518 §3.3 to §3.5).
pub(crate) fn sign_with(
    key: &PrivateKey,
    alg: JwsAlgorithm,
    input: &[u8],
) -> Result<Vec<u8>, JoseError> {
    use p256::ecdsa::signature::Signer;

    let failed = |error: &dyn std::fmt::Display| JoseError::Signing {
        alg,
        reason: error.to_string(),
    };
    match (key, alg.family()?) {
        // Both RSA paths sign with blinding (the RNG), so the time taken
        // does not depend on the private key.
        (PrivateKey::Rsa(key), Family::RsaPkcs1(sha)) => key
            .sign_with_rng(&mut OsRng, pkcs1_scheme(sha), &sha.digest(input))
            .map_err(|error| failed(&error)),
        (PrivateKey::Rsa(key), Family::RsaPss(sha)) => key
            .sign_with_rng(&mut OsRng, pss_scheme(sha, true), &sha.digest(input))
            .map_err(|error| failed(&error)),
        // RFC 7518 §3.4: the JWS signature is R || S at fixed width, which is
        // what `to_bytes` gives (not the DER of `to_der`). Nonces follow
        // RFC 6979, so no RNG is needed.
        (PrivateKey::P256(key), Family::Ecdsa(Curve::P256)) => {
            let signature: p256::ecdsa::Signature = p256::ecdsa::SigningKey::from(key)
                .try_sign(input)
                .map_err(|error| failed(&error))?;
            Ok(signature.to_bytes().to_vec())
        }
        (PrivateKey::P384(key), Family::Ecdsa(Curve::P384)) => {
            let signature: p384::ecdsa::Signature = p384::ecdsa::SigningKey::from(key)
                .try_sign(input)
                .map_err(|error| failed(&error))?;
            Ok(signature.to_bytes().to_vec())
        }
        (PrivateKey::K256(key), Family::Ecdsa(Curve::K256)) => {
            let signature: k256::ecdsa::Signature = k256::ecdsa::SigningKey::from(key)
                .try_sign(input)
                .map_err(|error| failed(&error))?;
            Ok(signature.to_bytes().to_vec())
        }
        (key, _) => Err(JoseError::KeyTypeMismatch {
            alg,
            key: format!("an {} key", key.kind()),
        }),
    }
}
