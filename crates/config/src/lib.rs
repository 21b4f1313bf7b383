//! The configuration file schema, section by section, the same as MAS's: a
//! MAS config file loads unchanged. Every struct rejects unknown keys (the
//! loader reports their full path), every default is MAS's, and every secret
//! has a `*_file` variant. Reading files is the CLI's job; this module only
//! describes, checks and reports.
//!
//! [`RootConfig::unbuilt`] lists keys that mxauth accepts but does not act on
//! yet, so `config check` can warn about each one by name.

mod account;
mod clients;
mod database;
mod email;
mod http;
mod http_limits;
mod matrix;
mod misc;
mod passwords;
mod secrets;
mod telemetry;
mod upstream;

pub use account::{AccountConfig, BrandingConfig, CaptchaConfig};
pub use clients::{ClientAuthMethod, ClientConfig};
pub use database::{DatabaseConfig, PgSslMode};
pub use email::{EmailConfig, EmailSmtpMode, EmailTransport, DEFAULT_SENDMAIL_COMMAND};
pub use http::{
    BindConfig, HttpConfig, IpNetwork, ListenerConfig, ResourceConfig, ResourceName, TlsConfig,
};
pub use http_limits::HttpLimits;
pub use matrix::{HomeserverKind, MatrixConfig};
pub use misc::{
    AccountRecoveryLimits, EmailAuthenticationLimits, ExperimentalConfig, OAuthConfig,
    PolicyConfig, RateLimit, RateLimitingConfig, TemplatesConfig,
};
pub use passwords::{HashAlgorithm, PasswordSchemeConfig, PasswordsConfig};
pub use secrets::{KeyConfig, SecretsConfig};
pub use telemetry::{
    MetricsConfig, MetricsExporter, Propagator, SentryConfig, TelemetryConfig, TracingConfig,
    TracingExporter, DEFAULT_OTLP_ENDPOINT,
};
pub use upstream::{
    ClaimImport, ClaimsImports, SignInWithAppleConfig, TemplateOnly, UpstreamOAuth2Config,
    UpstreamProviderConfig,
};

use serde::{Deserialize, Serialize};

/// The whole configuration file. `secrets` and `matrix` are required, as in MAS.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RootConfig {
    #[serde(default)]
    pub http: HttpConfig,
    #[serde(default)]
    pub database: DatabaseConfig,
    pub secrets: SecretsConfig,
    #[serde(default)]
    pub passwords: PasswordsConfig,
    pub matrix: MatrixConfig,
    #[serde(default)]
    pub email: EmailConfig,
    #[serde(default)]
    pub upstream_oauth2: UpstreamOAuth2Config,
    #[serde(default)]
    pub clients: Vec<ClientConfig>,
    #[serde(default)]
    pub account: AccountConfig,
    #[serde(default)]
    pub branding: BrandingConfig,
    #[serde(default)]
    pub captcha: CaptchaConfig,
    #[serde(default)]
    pub policy: PolicyConfig,
    #[serde(default)]
    pub rate_limiting: RateLimitingConfig,
    #[serde(default)]
    pub telemetry: TelemetryConfig,
    #[serde(default)]
    pub templates: TemplatesConfig,
    #[serde(default)]
    pub experimental: ExperimentalConfig,
    #[serde(default)]
    pub oauth: OAuthConfig,
}

/// The top-level sections of the schema: the keys of [`RootConfig`].
/// `MAS_*` environment variables are read only under these.
pub const SECTIONS: &[&str] = &[
    "http",
    "database",
    "secrets",
    "passwords",
    "matrix",
    "email",
    "upstream_oauth2",
    "clients",
    "account",
    "branding",
    "captcha",
    "policy",
    "rate_limiting",
    "telemetry",
    "templates",
    "experimental",
    "oauth",
];

/// A problem with one key: its full path and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Collects issues while walking the configuration.
#[derive(Debug, Default)]
pub struct Issues(pub Vec<ConfigIssue>);

impl Issues {
    pub fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(ConfigIssue {
            path: path.into(),
            message: message.into(),
        });
    }

    /// Records that `path` is set but the feature behind it is not built yet.
    pub fn unbuilt(&mut self, path: impl Into<String>, feature: &str) {
        self.push(
            path,
            format!("{feature} is not built in mxauth yet; this setting is ignored for now"),
        );
    }
}

impl RootConfig {
    /// Checks rules that the schema alone cannot express (one of `x` or
    /// `x_file`, unique versions, ULIDs…). Each issue is an error.
    pub fn validate(&self) -> Vec<ConfigIssue> {
        let mut issues = Issues::default();
        self.http.validate(&mut issues);
        self.database.validate(&mut issues);
        self.secrets.validate(&mut issues);
        self.passwords.validate(&mut issues);
        self.account.validate(self.passwords.enabled, &mut issues);
        self.captcha.validate(&mut issues);
        self.matrix.validate(&mut issues);
        self.email.validate(&mut issues);
        for (i, client) in self.clients.iter().enumerate() {
            client.validate(&format!("clients[{i}]"), &mut issues);
        }
        self.upstream_oauth2.validate(&mut issues);
        self.telemetry.validate(&mut issues);
        issues.0
    }

    /// Keys that are set but whose feature mxauth does not implement yet.
    pub fn unbuilt(&self) -> Vec<ConfigIssue> {
        let mut issues = Issues::default();
        self.http.unbuilt(&mut issues);
        self.matrix.unbuilt(&mut issues);
        self.upstream_oauth2.unbuilt(&mut issues);
        self.account.unbuilt(&mut issues);
        self.branding.unbuilt(&mut issues);
        self.policy.unbuilt(&mut issues);
        self.telemetry.unbuilt(&mut issues);
        self.templates.unbuilt(&mut issues);
        self.experimental.unbuilt(&mut issues);
        issues.0
    }

    /// Settings that are valid but probably wrong, with what to do instead.
    pub fn advice(&self) -> Vec<ConfigIssue> {
        let mut issues = Issues::default();
        self.http.advice(&mut issues);
        self.telemetry.advice(&self.http, &mut issues);
        issues.0
    }

    /// The issuer: `http.issuer`, else `http.public_base`.
    pub fn issuer(&self) -> &url::Url {
        self.http.issuer.as_ref().unwrap_or(&self.http.public_base)
    }
}

/// Exactly one of `name` and `name_file` must be given.
pub(crate) fn one_of<T, U>(
    issues: &mut Issues,
    path: &str,
    name: &str,
    inline: &Option<T>,
    file: &Option<U>,
    required: bool,
) {
    match (inline.is_some(), file.is_some()) {
        (true, true) => issues.push(
            format!("{path}.{name}"),
            format!("give either {name} or {name}_file, not both"),
        ),
        (false, false) if required => issues.push(
            format!("{path}.{name}"),
            format!("missing: give {name} or {name}_file"),
        ),
        _ => {}
    }
}

#[cfg(test)]
mod telemetry_tests;
#[cfg(test)]
mod tests;
