//! The state every handler reaches: database, clock, keys, URLs, cookies,
//! templates, passwords, and the few settings handlers read.

use std::sync::Arc;

use chrono::Duration;
use mxauth_model::{Clock, RandomSource};
use mxauth_storage::Database;

use crate::{
    cookies::CookieSettings, email::Mailer, homeserver::Homeserver, outbound::Outbound,
    passwords::PasswordManager, rate_limit::Limiter, templates::Templates, urls::UrlBuilder,
};
use mxauth_config::{AccountRecoveryLimits, EmailAuthenticationLimits, IpNetwork, RateLimit};
use mxauth_crypto::encrypter::Encrypter;
use mxauth_crypto::jose::Keystore;

/// Settings handlers need, taken from the configuration once.
#[derive(Debug, Clone)]
pub struct SiteConfig {
    /// `matrix.homeserver`: the part after `:` in Matrix IDs.
    pub server_name: String,
    /// Shown on pages: `branding.service_name`, else the server name.
    pub service_name: String,
    /// `experimental.access_token_ttl`.
    pub access_token_ttl: Duration,
    /// `matrix.secret`: the homeserver authenticates to introspection with it.
    pub matrix_secret: String,
    /// `http.trusted_proxies`: whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpNetwork>,
    /// `rate_limiting.login`: password checks per client IP and per account.
    pub login_per_ip: RateLimit,
    pub login_per_account: RateLimit,
    /// `rate_limiting.client_registration`: dynamic client registrations
    /// per client IP.
    pub client_registration_per_ip: RateLimit,
    /// `rate_limiting.email_authentication`: codes asked per client IP and
    /// per address, emails and attempts per authentication.
    pub email_authentication: EmailAuthenticationLimits,
    /// `experimental.compat_token_ttl`: life of refreshable compat tokens.
    pub compat_token_ttl: Duration,
    /// `http.limits.handler_timeout`: past it a request answers 503.
    pub handler_timeout: std::time::Duration,
    /// `account`: what people may change on their account pages.
    pub account: mxauth_config::AccountConfig,
    /// `rate_limiting.registration`: registrations started per client IP.
    pub registration_per_ip: RateLimit,
    /// `rate_limiting.account_recovery`: recovery emails asked per client
    /// IP and per address.
    pub account_recovery: AccountRecoveryLimits,
    /// `branding.tos_uri`: the terms people accept to register.
    pub tos_uri: Option<String>,
    /// `captcha`: the challenge of the registration form, when set.
    pub captcha: Option<crate::captcha::Captcha>,
    /// `telemetry.metrics.exporter: prometheus`: `/metrics` answers on
    /// listeners with the `prometheus` resource.
    pub prometheus_metrics: bool,
}

/// What handlers reach, behind one `Arc`: axum clones the state for every
/// extractor and layer that takes it, several times a request, and a
/// struct of twenty `Arc`s made each clone and drop twenty atomic updates
/// of shared cache lines (16% of the server's CPU under introspection
/// load, measured with `perf`). Now each is one.
///
/// Read fields through `Deref` (`state.db`). Assigning one (`state.site =
/// …`, in tests) goes through `DerefMut`, which copies the parts if
/// another clone shares them, so no other holder sees the change.
#[derive(Clone)]
pub struct AppState(Arc<StateParts>);

impl From<StateParts> for AppState {
    fn from(parts: StateParts) -> Self {
        Self(Arc::new(parts))
    }
}

impl std::ops::Deref for AppState {
    type Target = StateParts;

    fn deref(&self) -> &StateParts {
        &self.0
    }
}

impl std::ops::DerefMut for AppState {
    fn deref_mut(&mut self) -> &mut StateParts {
        Arc::make_mut(&mut self.0)
    }
}

/// The parts of [`AppState`].
#[derive(Clone)]
pub struct StateParts {
    pub db: Database,
    pub clock: Arc<dyn Clock>,
    /// Every random id, token, code and CSRF value handlers make.
    pub random: Arc<dyn RandomSource>,
    pub site: Arc<SiteConfig>,
    pub urls: Arc<UrlBuilder>,
    pub keystore: Arc<Keystore>,
    pub encrypter: Encrypter,
    pub cookies: Arc<CookieSettings>,
    pub templates: Arc<Templates>,
    /// `None` when `passwords.enabled` is false.
    pub passwords: Option<PasswordManager>,
    pub limiter: Arc<Limiter>,
    /// Outbound HTTP (client key sets; upstream providers to come) behind
    /// the SSRF guard.
    pub outbound: Outbound,
    /// Upstream providers' discovery documents and JWK Sets.
    pub upstream_metadata: Arc<crate::upstream::MetadataCache>,
    /// The homeserver this server provisions users and devices on.
    pub homeserver: Arc<dyn Homeserver>,
    /// Where email goes (`email.transport`); jobs send, requests do not.
    pub mailer: Arc<dyn Mailer>,
    /// When sessions were last used, written in batches.
    pub activity: Arc<crate::activity::ActivityTracker>,
    /// Documents that never change while the process runs, serialised once.
    pub documents: Arc<StaticDocuments>,
    /// Counters and histograms for `/metrics`.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// `policy.data` with the admin-set data merged over it.
    pub policy: Arc<crate::policy::PolicyStore>,
}

/// The discovery document and the key set: built on first use, then served
/// as stored bytes.
#[derive(Debug, Default)]
pub struct StaticDocuments {
    pub discovery: std::sync::OnceLock<axum::body::Bytes>,
    pub jwks: std::sync::OnceLock<axum::body::Bytes>,
}
