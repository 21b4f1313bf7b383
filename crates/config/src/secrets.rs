//! `secrets`: the encryption key and the signing keys.

use serde::{Deserialize, Serialize};

use super::{one_of, Issues};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretsConfig {
    /// 32 bytes as 64 hex digits; encrypts cookies and secrets at rest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption_file: Option<String>,
    #[serde(default)]
    pub keys: Vec<KeyConfig>,
    /// A directory of unencrypted key files, as an alternative to `keys`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys_dir: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyConfig {
    /// Defaults to the RFC 7638 thumbprint of the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_file: Option<String>,
}

/// Whether `value` is 64 hexadecimal digits.
pub fn is_encryption_key(value: &str) -> bool {
    value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit())
}

impl SecretsConfig {
    pub(super) fn validate(&self, issues: &mut Issues) {
        one_of(
            issues,
            "secrets",
            "encryption",
            &self.encryption,
            &self.encryption_file,
            true,
        );
        if let Some(key) = &self.encryption {
            if !is_encryption_key(key) {
                issues.push(
                    "secrets.encryption",
                    "must be 64 hexadecimal digits (32 bytes); `openssl rand -hex 32` makes one",
                );
            }
        }
        for (i, key) in self.keys.iter().enumerate() {
            let path = format!("secrets.keys[{i}]");
            one_of(issues, &path, "key", &key.key, &key.key_file, true);
            one_of(
                issues,
                &path,
                "password",
                &key.password,
                &key.password_file,
                false,
            );
        }
        if self.keys.is_empty() && self.keys_dir.is_none() {
            issues.push(
                "secrets.keys",
                "at least one signing key is needed (an RSA key for RS256); `mxauth config generate` makes them",
            );
        }
    }
}
