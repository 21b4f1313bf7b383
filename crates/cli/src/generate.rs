//! What `config generate` writes and development mode runs on: the one base
//! configuration both start from, and fresh secrets; with
//! `--synapse-config`, what is taken over from Synapse ([`synapse`]).

pub mod synapse;
mod synapse_mapping;
mod synapse_oidc;
mod synapse_templates;

use anyhow::Result;
use mxauth_crypto::keys::{generate_p256_pem, generate_rsa_pem};
// Secrets and keys for a new configuration come straight from the OS
// generator: nothing here runs in a request.
#[allow(clippy::disallowed_types)]
use rand::rngs::OsRng;
use rand::{distributions::Alphanumeric, Rng, RngCore};
use serde_norway::{Mapping, Value};

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

/// Where the two users of the base configuration differ.
pub struct BaseSettings {
    /// `http.public_base`.
    pub public_base: String,
    /// The `web` listener's bind address (`host:port`).
    pub web_address: String,
    /// Where `/health` is served: `None` on the `web` listener, else the
    /// port of a separate `internal` listener on localhost (a production
    /// layout keeps it off the public listener).
    pub internal_health_port: Option<u16>,
    /// `database.uri`.
    pub database_uri: String,
}

/// The base configuration: one listener serving every resource, SQLite, a
/// homeserver on localhost, and the device grant off until it is built.
pub fn base_document(settings: &BaseSettings) -> Value {
    let resources = |names: &[&str]| {
        Value::Sequence(
            names
                .iter()
                .map(|n| map(vec![("name", (*n).into())]))
                .collect(),
        )
    };
    let mut web = vec!["discovery", "human", "oauth", "compat"];
    let mut listeners = Vec::new();
    if settings.internal_health_port.is_none() {
        web.push("health");
    }
    listeners.push(map(vec![
        ("name", "web".into()),
        ("resources", resources(&web)),
        (
            "binds",
            Value::Sequence(vec![map(vec![(
                "address",
                settings.web_address.as_str().into(),
            )])]),
        ),
    ]));
    if let Some(port) = settings.internal_health_port {
        listeners.push(map(vec![
            ("name", "internal".into()),
            ("resources", resources(&["health"])),
            (
                "binds",
                Value::Sequence(vec![map(vec![
                    ("host", "localhost".into()),
                    ("port", u64::from(port).into()),
                ])]),
            ),
        ]));
    }
    map(vec![
        (
            "http",
            map(vec![
                ("public_base", settings.public_base.as_str().into()),
                ("listeners", Value::Sequence(listeners)),
            ]),
        ),
        (
            "database",
            map(vec![("uri", settings.database_uri.as_str().into())]),
        ),
        (
            "matrix",
            map(vec![
                ("homeserver", "localhost".into()),
                ("endpoint", "http://localhost:8008/".into()),
            ]),
        ),
        (
            "oauth",
            map(vec![("device_code_grant_enabled", false.into())]),
        ),
    ])
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
