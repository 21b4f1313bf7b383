//! Unit tests of the JOSE module, with keys generated once per test run.

mod known_answers;
mod rejections;
mod round_trips;

use std::sync::OnceLock;

use serde_json::{json, Value};

use super::{b64, JwsAlgorithm, Keystore};
use crate::keys::{generate_rsa_pem, PrivateKey};

/// RSA generation is slow, so one 2048-bit key serves every test.
fn rsa_pem() -> &'static str {
    static PEM: OnceLock<String> = OnceLock::new();
    PEM.get_or_init(|| generate_rsa_pem(&mut rand::rngs::OsRng).unwrap())
}

fn rsa_key() -> PrivateKey {
    PrivateKey::from_pem(rsa_pem()).unwrap()
}

fn p256_key() -> PrivateKey {
    PrivateKey::P256(p256::SecretKey::random(&mut rand::rngs::OsRng))
}

fn p384_key() -> PrivateKey {
    PrivateKey::P384(p384::SecretKey::random(&mut rand::rngs::OsRng))
}

fn k256_key() -> PrivateKey {
    PrivateKey::K256(k256::SecretKey::random(&mut rand::rngs::OsRng))
}

/// One key of each kind, with the kids "rsa", "p256", "p384" and "k256".
fn keystore() -> Keystore {
    Keystore::new(vec![
        ("rsa".to_owned(), rsa_key()),
        ("p256".to_owned(), p256_key()),
        ("p384".to_owned(), p384_key()),
        ("k256".to_owned(), k256_key()),
    ])
}

fn claims() -> Value {
    json!({"iss": "https://auth.example.com/", "sub": "01J0ALICE", "aud": "client", "exp": 1_900_000_000})
}

/// A compact JWS from arbitrary parts, for tokens no honest signer makes.
fn assemble(header: &Value, payload: &Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        b64(header.to_string().as_bytes()),
        b64(payload.to_string().as_bytes()),
        b64(signature)
    )
}

/// The token with its three parts replaced by `edit`.
fn edit_parts(token: &str, edit: impl FnOnce(&mut Vec<String>)) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    edit(&mut parts);
    parts.join(".")
}

/// A JWT signed with `key` whose header has no `kid`.
fn sign_without_kid(key: &PrivateKey, alg: JwsAlgorithm) -> String {
    let header = json!({ "alg": alg });
    super::jws::sign_compact(&header, &claims(), |input| {
        super::keystore::sign_with(key, alg, input)
    })
    .unwrap()
}
