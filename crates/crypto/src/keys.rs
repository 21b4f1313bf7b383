//! The signing keys of `secrets.keys`: loading them from PEM or DER in any of
//! the encodings MAS accepts (PKCS#1, PKCS#8, SEC1), their public JWK and
//! RFC 7638 thumbprint (the default `kid`), and generating new ones.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use rand::{CryptoRng, RngCore};
use rsa::{
    pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey},
    pkcs8::{DecodePrivateKey, LineEnding},
    traits::PublicKeyParts,
};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum KeyError {
    #[error("encrypted private keys (with a password) are not supported yet: decrypt it with `openssl pkey -in KEY -out PLAIN` and drop the password")]
    Encrypted,
    #[error("not a private key mxauth understands: expected an RSA, P-256, P-384 or secp256k1 key in PKCS#1, PKCS#8 or SEC1 form, PEM or DER")]
    Unrecognized,
    #[error("could not generate a key: {0}")]
    Generation(String),
}

/// A private signing key.
pub enum PrivateKey {
    Rsa(Box<rsa::RsaPrivateKey>),
    P256(p256::SecretKey),
    P384(p384::SecretKey),
    K256(k256::SecretKey),
}

// Never print key material.
impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PrivateKey({})", self.kind())
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Tries each parser in turn; the first that accepts the input wins.
macro_rules! first_ok {
    ($($attempt:expr),+ $(,)?) => {{
        $(if let Ok(key) = $attempt { return Ok(key); })+
    }};
}

impl PrivateKey {
    /// Reads a PEM document (any of the supported labels).
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        if pem.contains("ENCRYPTED PRIVATE KEY") || pem.contains("Proc-Type: 4,ENCRYPTED") {
            return Err(KeyError::Encrypted);
        }
        first_ok!(
            rsa::RsaPrivateKey::from_pkcs1_pem(pem).map(|k| Self::Rsa(Box::new(k))),
            rsa::RsaPrivateKey::from_pkcs8_pem(pem).map(|k| Self::Rsa(Box::new(k))),
            p256::SecretKey::from_sec1_pem(pem).map(Self::P256),
            p256::SecretKey::from_pkcs8_pem(pem).map(Self::P256),
            p384::SecretKey::from_sec1_pem(pem).map(Self::P384),
            p384::SecretKey::from_pkcs8_pem(pem).map(Self::P384),
            k256::SecretKey::from_sec1_pem(pem).map(Self::K256),
            k256::SecretKey::from_pkcs8_pem(pem).map(Self::K256),
        );
        Err(KeyError::Unrecognized)
    }

    /// Reads a DER document (any of the supported structures).
    pub fn from_der(der: &[u8]) -> Result<Self, KeyError> {
        first_ok!(
            rsa::RsaPrivateKey::from_pkcs1_der(der).map(|k| Self::Rsa(Box::new(k))),
            rsa::RsaPrivateKey::from_pkcs8_der(der).map(|k| Self::Rsa(Box::new(k))),
            p256::SecretKey::from_sec1_der(der).map(Self::P256),
            p256::SecretKey::from_pkcs8_der(der).map(Self::P256),
            p384::SecretKey::from_sec1_der(der).map(Self::P384),
            p384::SecretKey::from_pkcs8_der(der).map(Self::P384),
            k256::SecretKey::from_sec1_der(der).map(Self::K256),
            k256::SecretKey::from_pkcs8_der(der).map(Self::K256),
        );
        Err(KeyError::Unrecognized)
    }

    /// PEM when the bytes look like text, DER otherwise.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        match std::str::from_utf8(bytes) {
            Ok(text) if text.contains("-----BEGIN") => Self::from_pem(text),
            _ => Self::from_der(bytes),
        }
    }

    /// A short human name of the key type.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Rsa(_) => "RSA",
            Self::P256(_) => "EC P-256",
            Self::P384(_) => "EC P-384",
            Self::K256(_) => "EC secp256k1",
        }
    }

    /// The public key as a JWK, with only the members RFC 7638 requires, in
    /// the lexicographic order the thumbprint needs.
    pub fn public_jwk(&self) -> Value {
        fn ec(crv: &str, point: &[u8]) -> Value {
            // An uncompressed SEC1 point: 0x04 || x || y.
            let coordinates = &point[1..];
            let (x, y) = coordinates.split_at(coordinates.len() / 2);
            json!({"crv": crv, "kty": "EC", "x": b64(x), "y": b64(y)})
        }
        match self {
            Self::Rsa(key) => rsa_jwk(key.as_ref()),
            // Uncompressed points: `to_sec1_bytes` compresses secp256k1 keys.
            Self::P256(key) => ec("P-256", key.public_key().to_encoded_point(false).as_bytes()),
            Self::P384(key) => ec("P-384", key.public_key().to_encoded_point(false).as_bytes()),
            Self::K256(key) => ec(
                "secp256k1",
                key.public_key().to_encoded_point(false).as_bytes(),
            ),
        }
    }

    /// The RFC 7638 JWK thumbprint (SHA-256, base64url): the default `kid`.
    pub fn thumbprint(&self) -> String {
        jwk_thumbprint(&self.public_jwk())
    }
}

fn rsa_jwk(key: &impl PublicKeyParts) -> Value {
    json!({"e": b64(&key.e().to_bytes_be()), "kty": "RSA", "n": b64(&key.n().to_bytes_be())})
}

/// RFC 7638 §3: SHA-256 over the JSON of the required members, sorted, no
/// white space. serde_json keeps object keys sorted, which is that order.
fn jwk_thumbprint(jwk: &Value) -> String {
    b64(&Sha256::digest(jwk.to_string().as_bytes()))
}

/// A fresh RSA-2048 key as PKCS#1 PEM (what MAS writes too).
pub fn generate_rsa_pem(rng: &mut (impl RngCore + CryptoRng)) -> Result<String, KeyError> {
    let key =
        rsa::RsaPrivateKey::new(rng, 2048).map_err(|e| KeyError::Generation(e.to_string()))?;
    let pem = key
        .to_pkcs1_pem(LineEnding::LF)
        .map_err(|e| KeyError::Generation(e.to_string()))?;
    Ok(pem.to_string())
}

/// A fresh P-256 key as SEC1 PEM.
pub fn generate_p256_pem(rng: &mut (impl RngCore + CryptoRng)) -> Result<String, KeyError> {
    let key = p256::SecretKey::random(rng);
    let pem = key
        .to_sec1_pem(LineEnding::LF)
        .map_err(|e| KeyError::Generation(e.to_string()))?;
    Ok(pem.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The EC keys of the MAS-generated sample config: P-256, P-384, K-256.
    const P256: &str = "-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIFlV+SUOpsAV8DM45/ahVbJ2DE/J5MhYa87ycU60BKUZoAoGCCqGSM49
AwEHoUQDQgAELP4FZF/jW/8yokZSx2+ob+eD3blos05Av7JNKTSuU590E2AtHvyO
jk3EskIgV0gL4DsCCPHMhYAhr5mUtV9VUw==
-----END EC PRIVATE KEY-----";
    const P384: &str = "-----BEGIN EC PRIVATE KEY-----
MIGkAgEBBDD8F66B3OXKWygywWmSAe2qdFS8rQ+dVXUFLiiAa6hMTRED1hxsU6gr
/+KvQnRm2Z+gBwYFK4EEACKhZANiAARwoYR0b59Xo74QucapL03c0XIOpgWugnYG
1/FCV+0XfYyVkDFZV7aj5wvIeAMacxT6Mht+wyPmmxImwNkGdTsXxQdVVJEmXE1e
8W5bUJxk3EoXNT9Bpakn6my9lYaQH/I=
-----END EC PRIVATE KEY-----";
    const K256: &str = "-----BEGIN EC PRIVATE KEY-----
MHQCAQEEII/5KI30n7rx85ppwb+iRKnqnog3RGJSbmf06pTwAp/EoAcGBSuBBAAK
oUQDQgAERa1twcOvtvRoP9CpsZIqyxRvTKi9tIqiwjcxSKFYQeiVXhiowtSLCjmL
eZGU4VQWRwnJXZYqXe/6Yz/OidQjSw==
-----END EC PRIVATE KEY-----";

    #[test]
    fn reads_every_curve_of_the_mas_sample() {
        assert!(matches!(
            PrivateKey::from_pem(P256),
            Ok(PrivateKey::P256(_))
        ));
        assert!(matches!(
            PrivateKey::from_pem(P384),
            Ok(PrivateKey::P384(_))
        ));
        assert!(matches!(
            PrivateKey::from_pem(K256),
            Ok(PrivateKey::K256(_))
        ));
    }

    #[test]
    fn generated_keys_load_back_with_the_same_thumbprint() {
        let mut rng = rand::rngs::OsRng;
        for pem in [
            generate_rsa_pem(&mut rng).unwrap(),
            generate_p256_pem(&mut rng).unwrap(),
        ] {
            let a = PrivateKey::from_pem(&pem).unwrap();
            let b = PrivateKey::from_bytes(pem.as_bytes()).unwrap();
            assert_eq!(a.thumbprint(), b.thumbprint());
            assert_eq!(a.thumbprint().len(), 43);
        }
    }

    /// RFC 7638 §3.1 gives this RSA key and its thumbprint.
    #[test]
    fn thumbprint_matches_rfc7638_example() {
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        let key = rsa::RsaPublicKey::new(
            rsa::BigUint::from_bytes_be(&URL_SAFE_NO_PAD.decode(n).unwrap()),
            rsa::BigUint::from(65537u32),
        )
        .unwrap();
        assert_eq!(
            jwk_thumbprint(&rsa_jwk(&key)),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn encrypted_and_garbage_keys_get_clear_errors() {
        let encrypted =
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----";
        assert!(matches!(
            PrivateKey::from_pem(encrypted),
            Err(KeyError::Encrypted)
        ));
        assert!(matches!(
            PrivateKey::from_bytes(b"hello"),
            Err(KeyError::Unrecognized)
        ));
    }
}
