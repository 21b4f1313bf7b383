//! `account`, `branding` and `captcha`: what people may do with their
//! account, how pages are branded, and CAPTCHA at registration.

use serde::{Deserialize, Serialize};

use super::Issues;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccountConfig {
    pub email_change_allowed: bool,
    pub displayname_change_allowed: bool,
    pub password_registration_enabled: bool,
    pub password_registration_email_required: bool,
    pub password_change_allowed: bool,
    pub password_recovery_enabled: bool,
    pub account_deactivation_allowed: bool,
    pub login_with_email_allowed: bool,
    /// Also accepted under its older name, `registration_token_required`.
    #[serde(alias = "registration_token_required")]
    pub password_registration_token_required: bool,
}

impl Default for AccountConfig {
    fn default() -> Self {
        Self {
            email_change_allowed: true,
            displayname_change_allowed: true,
            password_registration_enabled: false,
            password_registration_email_required: true,
            password_change_allowed: true,
            password_recovery_enabled: false,
            account_deactivation_allowed: true,
            login_with_email_allowed: false,
            password_registration_token_required: false,
        }
    }
}

impl AccountConfig {
    pub(super) fn unbuilt(&self, issues: &mut Issues) {
        if self.login_with_email_allowed {
            issues.unbuilt(
                "account.login_with_email_allowed",
                "login with an email address",
            );
        }
    }

    /// Registration and recovery need passwords to be on.
    pub(super) fn validate(&self, passwords_enabled: bool, issues: &mut Issues) {
        for (key, on) in [
            (
                "password_registration_enabled",
                self.password_registration_enabled,
            ),
            ("password_recovery_enabled", self.password_recovery_enabled),
        ] {
            if on && !passwords_enabled {
                issues.push(format!("account.{key}"), "needs `passwords.enabled: true`");
            }
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BrandingConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tos_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub imprint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logo_uri: Option<String>,
}

impl BrandingConfig {
    /// `service_name` names the pages and `tos_uri` adds the terms
    /// checkbox to registration; the others are not shown yet.
    pub(super) fn unbuilt(&self, issues: &mut Issues) {
        if self.policy_uri.is_some() || self.imprint.is_some() || self.logo_uri.is_some() {
            issues.unbuilt("branding", "a policy link, imprint or logo on the pages");
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CaptchaConfig {
    /// `recaptcha_v2`, `cloudflare_turnstile` or `hcaptcha`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_key: Option<String>,
}

/// The CAPTCHA services registration can ask (MAS's names).
pub const CAPTCHA_SERVICES: [&str; 3] = ["recaptcha_v2", "cloudflare_turnstile", "hcaptcha"];

impl CaptchaConfig {
    /// A service needs both keys; an unknown service is refused by name.
    pub(super) fn validate(&self, issues: &mut Issues) {
        let Some(service) = &self.service else {
            return;
        };
        if !CAPTCHA_SERVICES.contains(&service.as_str()) {
            issues.push(
                "captcha.service",
                format!("must be one of {}", CAPTCHA_SERVICES.join(", ")),
            );
        }
        for (key, value) in [
            ("site_key", &self.site_key),
            ("secret_key", &self.secret_key),
        ] {
            if value.as_deref().unwrap_or_default().is_empty() {
                issues.push(
                    format!("captcha.{key}"),
                    format!("is needed with `captcha.service: {service}`"),
                );
            }
        }
    }
}
