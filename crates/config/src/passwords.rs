//! `passwords`: whether passwords are used, their hashing schemes, strength.

use serde::{Deserialize, Serialize};

use super::{one_of, Issues};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HashAlgorithm {
    Argon2id,
    Bcrypt,
    Pbkdf2,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordSchemeConfig {
    pub version: u16,
    pub algorithm: HashAlgorithm,
    /// bcrypt only; 12 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_file: Option<String>,
    /// Apply NFKC before hashing, as Synapse does.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unicode_normalization: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordsConfig {
    pub enabled: bool,
    pub schemes: Vec<PasswordSchemeConfig>,
    /// zxcvbn score 0–4 a new password must reach.
    pub minimum_complexity: u8,
}

impl Default for PasswordsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            schemes: vec![PasswordSchemeConfig {
                version: 1,
                algorithm: HashAlgorithm::Argon2id,
                cost: None,
                secret: None,
                secret_file: None,
                unicode_normalization: false,
            }],
            minimum_complexity: 3,
        }
    }
}

impl PasswordsConfig {
    pub(super) fn validate(&self, issues: &mut Issues) {
        if self.enabled && self.schemes.is_empty() {
            issues.push(
                "passwords.schemes",
                "at least one scheme is needed while passwords are enabled",
            );
        }
        if self.minimum_complexity > 4 {
            issues.push("passwords.minimum_complexity", "must be between 0 and 4");
        }
        for (i, scheme) in self.schemes.iter().enumerate() {
            let path = format!("passwords.schemes[{i}]");
            if self.schemes[..i]
                .iter()
                .any(|s| s.version == scheme.version)
            {
                issues.push(
                    format!("{path}.version"),
                    format!(
                        "version {} appears twice; versions must be unique",
                        scheme.version
                    ),
                );
            }
            one_of(
                issues,
                &path,
                "secret",
                &scheme.secret,
                &scheme.secret_file,
                false,
            );
            match (scheme.algorithm, scheme.cost) {
                (HashAlgorithm::Bcrypt, Some(cost)) if !(4..=31).contains(&cost) => issues.push(
                    format!("{path}.cost"),
                    "bcrypt cost must be between 4 and 31",
                ),
                (HashAlgorithm::Argon2id | HashAlgorithm::Pbkdf2, Some(_)) => {
                    issues.push(format!("{path}.cost"), "cost applies to bcrypt only")
                }
                _ => {}
            }
        }
    }
}
