//! Fresh secrets: what `config generate` writes and what development mode
//! keeps in its data directory.

use anyhow::Result;
use mxauth_server::keys::{generate_p256_pem, generate_rsa_pem};
use rand::{distributions::Alphanumeric, rngs::OsRng, Rng, RngCore};
use serde_yaml::{Mapping, Value};

/// A random string of ASCII letters and digits.
pub fn random_alphanumeric(len: usize) -> String {
    OsRng
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// 32 random bytes as 64 hex digits, for `secrets.encryption`.
pub fn encryption_key() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn map(entries: Vec<(&str, Value)>) -> Value {
    let mut mapping = Mapping::new();
    for (key, value) in entries {
        mapping.insert(Value::from(key), value);
    }
    Value::Mapping(mapping)
}

/// `secrets` (encryption key, an RSA-2048 and a P-256 key) and `matrix.secret`,
/// as a YAML document to merge into a configuration.
pub fn secrets_document() -> Result<Value> {
    let mut rng = OsRng;
    let keys = vec![
        map(vec![("key", Value::from(generate_rsa_pem(&mut rng)?))]),
        map(vec![("key", Value::from(generate_p256_pem(&mut rng)?))]),
    ];
    Ok(map(vec![
        (
            "secrets",
            map(vec![
                ("encryption", Value::from(encryption_key())),
                ("keys", Value::Sequence(keys)),
            ]),
        ),
        (
            "matrix",
            map(vec![("secret", Value::from(random_alphanumeric(32)))]),
        ),
    ]))
}
