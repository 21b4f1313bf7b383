//! The smaller sections: `policy`, `rate_limiting`, `templates`,
//! `experimental` and `oauth` (`telemetry` has its own file).

use serde::{Deserialize, Serialize};

use super::Issues;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicyConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wasm_module: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_registration_entrypoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub register_entrypoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_grant_entrypoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compat_login_entrypoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_entrypoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_entrypoint: Option<String>,
    /// Data for the policy (`admin_users`, `admin_clients`,
    /// `client_registration`, `registration`, `emails`, `requester`; other
    /// keys are kept and ignored). The server checks it at start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
}

impl PolicyConfig {
    pub(super) fn unbuilt(&self, issues: &mut Issues) {
        let entrypoints = [
            ("wasm_module", &self.wasm_module),
            (
                "client_registration_entrypoint",
                &self.client_registration_entrypoint,
            ),
            ("register_entrypoint", &self.register_entrypoint),
            (
                "authorization_grant_entrypoint",
                &self.authorization_grant_entrypoint,
            ),
            ("compat_login_entrypoint", &self.compat_login_entrypoint),
            ("password_entrypoint", &self.password_entrypoint),
            ("email_entrypoint", &self.email_entrypoint),
        ];
        for (key, value) in entrypoints {
            if value.is_some() {
                issues.unbuilt(format!("policy.{key}"), "OPA policy modules");
            }
        }
    }
}

/// A token bucket: `burst` requests at once, refilled at `per_second`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    pub burst: u32,
    pub per_second: f64,
}

const fn limit(burst: u32, per_second: f64) -> RateLimit {
    RateLimit { burst, per_second }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccountRecoveryLimits {
    pub per_ip: RateLimit,
    pub per_address: RateLimit,
}

impl Default for AccountRecoveryLimits {
    fn default() -> Self {
        Self {
            per_ip: limit(3, 3.0 / 3600.0),
            per_address: limit(3, 1.0 / 3600.0),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoginLimits {
    pub per_ip: RateLimit,
    pub per_account: RateLimit,
}

impl Default for LoginLimits {
    fn default() -> Self {
        Self {
            per_ip: limit(3, 3.0 / 60.0),
            per_account: limit(1800, 0.5),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmailAuthenticationLimits {
    pub per_ip: RateLimit,
    pub per_address: RateLimit,
    pub emails_per_session: RateLimit,
    pub attempt_per_session: RateLimit,
}

impl Default for EmailAuthenticationLimits {
    fn default() -> Self {
        Self {
            per_ip: limit(5, 1.0 / 60.0),
            per_address: limit(3, 1.0 / 3600.0),
            emails_per_session: limit(2, 1.0 / 300.0),
            attempt_per_session: limit(10, 1.0 / 60.0),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitingConfig {
    pub account_recovery: AccountRecoveryLimits,
    pub login: LoginLimits,
    pub registration: RateLimit,
    pub email_authentication: EmailAuthenticationLimits,
    /// mxauth's own key (MAS has none): dynamic client registrations per
    /// client IP. Registration is open to anyone; without a limit one
    /// address can fill the database.
    pub client_registration: RateLimit,
}

impl Default for RateLimitingConfig {
    fn default() -> Self {
        Self {
            account_recovery: AccountRecoveryLimits::default(),
            login: LoginLimits::default(),
            registration: limit(3, 3.0 / 3600.0),
            email_authentication: EmailAuthenticationLimits::default(),
            // A burst for an office behind one address logging in at once,
            // then one every 10 s (360 an hour).
            client_registration: limit(20, 0.1),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TemplatesConfig {
    /// A directory of templates overriding the embedded ones by relative
    /// path (`pages/login.html`); templates missing there stay embedded.
    /// Unset (MAS's default path does not apply): the embedded templates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assets_manifest: Option<String>,
    /// A directory of `LANG.json` catalogues (English text → translation)
    /// merged over the built-in languages. MAS's nested catalogues do not
    /// work here and are refused by name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub translations_path: Option<String>,
}

impl TemplatesConfig {
    /// `path` and `translations_path` are used; the pages have no built
    /// assets.
    pub(super) fn unbuilt(&self, issues: &mut Issues) {
        if self.assets_manifest.is_some() {
            issues.unbuilt("templates.assets_manifest", "a frontend assets manifest");
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExperimentalConfig {
    /// Seconds an OAuth access token lives.
    pub access_token_ttl: u64,
    /// Seconds a refreshable compat access token lives.
    pub compat_token_ttl: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inactive_session_expiration: Option<InactiveSessionExpiration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan_management_iframe_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_limit: Option<SessionLimit>,
}

impl Default for ExperimentalConfig {
    fn default() -> Self {
        Self {
            access_token_ttl: 300,
            compat_token_ttl: 300,
            inactive_session_expiration: None,
            plan_management_iframe_uri: None,
            session_limit: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InactiveSessionExpiration {
    pub ttl: u64,
    #[serde(default = "yes")]
    pub expire_compat_sessions: bool,
    #[serde(default = "yes")]
    pub expire_oauth_sessions: bool,
    #[serde(default = "yes")]
    pub expire_user_sessions: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionLimit {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soft_limit: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hard_limit: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_session_threshold: Option<u64>,
    #[serde(default)]
    pub dangerous_hard_limit_eviction: bool,
}

impl ExperimentalConfig {
    pub(super) fn unbuilt(&self, issues: &mut Issues) {
        if self.inactive_session_expiration.is_some() {
            issues.unbuilt(
                "experimental.inactive_session_expiration",
                "expiry of idle sessions",
            );
        }
        if self.plan_management_iframe_uri.is_some() {
            issues.unbuilt(
                "experimental.plan_management_iframe_uri",
                "the plan management tab",
            );
        }
        if self.session_limit.is_some() {
            issues.unbuilt("experimental.session_limit", "session limits");
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OAuthConfig {
    pub device_code_grant_enabled: bool,
    pub device_code_user_code_auto_fill_enabled: bool,
}

impl Default for OAuthConfig {
    fn default() -> Self {
        Self {
            device_code_grant_enabled: true,
            device_code_user_code_auto_fill_enabled: false,
        }
    }
}
