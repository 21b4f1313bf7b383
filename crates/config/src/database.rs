//! `database`: a URI or libpq-style fields, TLS, and pool sizes.

use serde::{Deserialize, Serialize};

use super::{one_of, Issues};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PgSslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `postgresql://…` or, mxauth only, `sqlite://path`. MAS's default is
    /// `postgresql://` (everything from the PG* environment variables).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub socket: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssl_mode: Option<PgSslMode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssl_ca: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssl_ca_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssl_certificate: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssl_certificate_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssl_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssl_key_file: Option<String>,
    pub max_connections: u32,
    pub min_connections: u32,
    /// Seconds.
    pub connect_timeout: u64,
    /// Seconds; absent means never.
    pub idle_timeout: Option<u64>,
    /// Seconds; absent means never.
    pub max_lifetime: Option<u64>,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            uri: None,
            host: None,
            port: None,
            socket: None,
            username: None,
            password: None,
            password_file: None,
            database: None,
            ssl_mode: None,
            ssl_ca: None,
            ssl_ca_file: None,
            ssl_certificate: None,
            ssl_certificate_file: None,
            ssl_key: None,
            ssl_key_file: None,
            max_connections: 10,
            min_connections: 0,
            connect_timeout: 30,
            idle_timeout: Some(600),
            max_lifetime: Some(1800),
        }
    }
}

impl DatabaseConfig {
    fn has_fields(&self) -> bool {
        self.host.is_some()
            || self.port.is_some()
            || self.socket.is_some()
            || self.username.is_some()
            || self.password.is_some()
            || self.password_file.is_some()
            || self.database.is_some()
    }

    /// The URI in effect: `uri`, or MAS's `postgresql://` when neither a URI
    /// nor individual fields are given.
    pub fn effective_uri(&self) -> Option<String> {
        match &self.uri {
            Some(uri) => Some(uri.clone()),
            None if self.has_fields() => None,
            None => Some("postgresql://".into()),
        }
    }

    pub(super) fn validate(&self, issues: &mut Issues) {
        if self.uri.is_some() && self.has_fields() {
            issues.push(
                "database.uri",
                "give either uri or the separate host/port/socket/username/password/database fields, not both",
            );
        }
        if let Some(uri) = &self.uri {
            let known = ["postgres://", "postgresql://", "sqlite:"];
            if !known.iter().any(|p| uri.starts_with(p)) {
                issues.push(
                    "database.uri",
                    "must start with postgresql:// (or postgres://) or sqlite://",
                );
            }
        }
        one_of(
            issues,
            "database",
            "password",
            &self.password,
            &self.password_file,
            false,
        );
        one_of(
            issues,
            "database",
            "ssl_ca",
            &self.ssl_ca,
            &self.ssl_ca_file,
            false,
        );
        one_of(
            issues,
            "database",
            "ssl_certificate",
            &self.ssl_certificate,
            &self.ssl_certificate_file,
            false,
        );
        one_of(
            issues,
            "database",
            "ssl_key",
            &self.ssl_key,
            &self.ssl_key_file,
            false,
        );
        if self.max_connections == 0 {
            issues.push("database.max_connections", "must be at least 1");
        }
    }
}
