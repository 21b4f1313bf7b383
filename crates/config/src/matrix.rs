//! `matrix`: the homeserver mxauth serves and how to reach it.

use serde::{Deserialize, Serialize};
use url::Url;

use super::{one_of, Issues};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HomeserverKind {
    /// Synapse through its `/_synapse/mas` API.
    #[default]
    Synapse,
    /// The same as `synapse` (MAS's explicit name for it).
    SynapseModern,
    /// Like `synapse`, but never writes to the homeserver.
    SynapseReadOnly,
    /// Synapse's older admin API.
    SynapseLegacy,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatrixConfig {
    #[serde(default)]
    pub kind: HomeserverKind,
    /// The server name, the part after `:` in user IDs.
    #[serde(default = "default_homeserver")]
    pub homeserver: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_file: Option<String>,
    #[serde(default = "default_endpoint")]
    pub endpoint: Url,
}

fn default_homeserver() -> String {
    "localhost:8008".into()
}

fn default_endpoint() -> Url {
    Url::parse("http://localhost:8008/").expect("a valid constant URL")
}

impl MatrixConfig {
    pub(super) fn validate(&self, issues: &mut Issues) {
        one_of(
            issues,
            "matrix",
            "secret",
            &self.secret,
            &self.secret_file,
            true,
        );
        if self.homeserver.is_empty() {
            issues.push("matrix.homeserver", "the server name must not be empty");
        }
    }

    pub(super) fn unbuilt(&self, issues: &mut Issues) {
        if self.kind == HomeserverKind::SynapseLegacy {
            issues.unbuilt(
                "matrix.kind",
                "the legacy Synapse admin API (use `synapse`)",
            );
        }
    }
}
