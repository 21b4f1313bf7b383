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
        let flags = [
            (
                "password_registration_enabled",
                self.password_registration_enabled,
                "self-service registration",
            ),
            (
                "password_recovery_enabled",
                self.password_recovery_enabled,
                "password recovery by email",
            ),
            (
                "login_with_email_allowed",
                self.login_with_email_allowed,
                "login with an email address",
            ),
            (
                "password_registration_token_required",
                self.password_registration_token_required,
                "registration tokens",
            ),
        ];
        for (key, on, feature) in flags {
            if on {
                issues.unbuilt(format!("account.{key}"), feature);
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
    pub(super) fn unbuilt(&self, issues: &mut Issues) {
        if self.service_name.is_some()
            || self.policy_uri.is_some()
            || self.tos_uri.is_some()
            || self.imprint.is_some()
            || self.logo_uri.is_some()
        {
            issues.unbuilt("branding", "branded pages");
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

impl CaptchaConfig {
    pub(super) fn unbuilt(&self, issues: &mut Issues) {
        if self.service.is_some() {
            issues.unbuilt("captcha.service", "CAPTCHA at registration");
        }
    }
}
