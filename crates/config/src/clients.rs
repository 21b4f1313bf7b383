//! `clients`: OAuth 2.0 clients declared in the file (synced to the database).

use serde::{Deserialize, Serialize};
use ulid::Ulid;
use url::Url;

use super::{one_of, Issues};

/// The model's method, with the same names the file uses.
pub use mxauth_model::oauth2::ClientAuthMethod;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    /// Must be a ULID.
    pub client_id: String,
    pub client_auth_method: ClientAuthMethod,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<Url>,
    #[serde(default)]
    pub redirect_uris: Vec<Url>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_uri: Option<Url>,
}

impl ClientConfig {
    pub(super) fn validate(&self, path: &str, issues: &mut Issues) {
        if self.client_id.parse::<Ulid>().is_err() {
            issues.push(
                format!("{path}.client_id"),
                format!(
                    "{:?} is not a ULID (26 characters of Crockford base32)",
                    self.client_id
                ),
            );
        }
        let has_secret = self.client_secret.is_some() || self.client_secret_file.is_some();
        one_of(
            issues,
            path,
            "client_secret",
            &self.client_secret,
            &self.client_secret_file,
            false,
        );
        match self.client_auth_method {
            ClientAuthMethod::ClientSecretBasic
            | ClientAuthMethod::ClientSecretPost
            | ClientAuthMethod::ClientSecretJwt
                if !has_secret =>
            {
                issues.push(
                    format!("{path}.client_secret"),
                    "this client_auth_method needs client_secret or client_secret_file",
                )
            }
            ClientAuthMethod::PrivateKeyJwt => one_of(
                issues,
                path,
                "jwks",
                &self.jwks,
                &self.jwks_uri.as_ref().map(|_| ()),
                true,
            ),
            _ => {}
        }
    }
}
