//! `upstream_oauth2`: upstream OpenID/OAuth providers people can log in with.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use ulid::Ulid;

use super::{one_of, Issues};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamOAuth2Config {
    #[serde(default)]
    pub providers: Vec<UpstreamProviderConfig>,
}

/// One upstream provider. Enumerated values are kept as strings here and
/// checked by [`UpstreamOAuth2Config::validate`], so an error can list them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamProviderConfig {
    pub id: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synapse_idp_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub human_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brand_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovery_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_endpoint: Option<String>,
    pub client_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_file: Option<String>,
    pub token_endpoint_auth_method: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_signing_alg: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_in_with_apple: Option<SignInWithAppleConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pkce_method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_mode: Option<String>,
    #[serde(default)]
    pub fetch_userinfo: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_signed_response_alg: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token_signed_response_alg: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub additional_authorization_parameters: BTreeMap<String, String>,
    #[serde(default)]
    pub forward_login_hint: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_backchannel_logout: Option<String>,
    #[serde(default)]
    pub registration_token_required: bool,
    #[serde(default)]
    pub claims_imports: ClaimsImports,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignInWithAppleConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key_file: Option<String>,
    pub team_id: String,
    pub key_id: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimsImports {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<TemplateOnly>,
    #[serde(default)]
    pub skip_confirmation: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub localpart: Option<ClaimImport>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub displayname: Option<ClaimImport>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<ClaimImport>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_name: Option<TemplateOnly>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateOnly {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimImport {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// localpart only: `fail`, `add`, `replace` or `set`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_conflict: Option<String>,
    /// email only (older MAS): how to treat the `email_verified` claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_email_verification: Option<String>,
}

/// Checks that `value`, when set, is one of `allowed`.
fn enumerated(issues: &mut Issues, path: String, value: Option<&str>, allowed: &[&str]) {
    if let Some(value) = value {
        if !allowed.contains(&value) {
            issues.push(
                path,
                format!("{value:?} is not one of {}", allowed.join(", ")),
            );
        }
    }
}

impl UpstreamOAuth2Config {
    pub(super) fn validate(&self, issues: &mut Issues) {
        const ACTIONS: &[&str] = &["ignore", "suggest", "force", "require"];
        for (i, p) in self.providers.iter().enumerate() {
            let path = format!("upstream_oauth2.providers[{i}]");
            if p.id.parse::<Ulid>().is_err() {
                issues.push(format!("{path}.id"), format!("{:?} is not a ULID", p.id));
            }
            if self.providers[..i].iter().any(|q| q.id == p.id) {
                issues.push(format!("{path}.id"), "two providers have this id");
            }
            one_of(
                issues,
                &path,
                "client_secret",
                &p.client_secret,
                &p.client_secret_file,
                false,
            );
            enumerated(
                issues,
                format!("{path}.token_endpoint_auth_method"),
                Some(&p.token_endpoint_auth_method),
                &[
                    "none",
                    "client_secret_basic",
                    "client_secret_post",
                    "client_secret_jwt",
                    "private_key_jwt",
                    "sign_in_with_apple",
                ],
            );
            enumerated(
                issues,
                format!("{path}.discovery_mode"),
                p.discovery_mode.as_deref(),
                &["oidc", "insecure", "disabled"],
            );
            enumerated(
                issues,
                format!("{path}.pkce_method"),
                p.pkce_method.as_deref(),
                &["auto", "always", "never"],
            );
            enumerated(
                issues,
                format!("{path}.response_mode"),
                p.response_mode.as_deref(),
                &["query", "form_post"],
            );
            enumerated(
                issues,
                format!("{path}.on_backchannel_logout"),
                p.on_backchannel_logout.as_deref(),
                &["do_nothing", "logout_browser_only", "logout_all"],
            );
            p.validate_flow(&path, issues);
            let imports = &p.claims_imports;
            for (name, import) in [
                ("localpart", &imports.localpart),
                ("displayname", &imports.displayname),
                ("email", &imports.email),
            ] {
                if let Some(import) = import {
                    enumerated(
                        issues,
                        format!("{path}.claims_imports.{name}.action"),
                        import.action.as_deref(),
                        ACTIONS,
                    );
                }
            }
            if let Some(localpart) = &imports.localpart {
                enumerated(
                    issues,
                    format!("{path}.claims_imports.localpart.on_conflict"),
                    localpart.on_conflict.as_deref(),
                    &["fail", "add", "replace", "set"],
                );
            }
        }
    }
}

/// Methods that authenticate with the client secret (OIDC Core §9).
const SECRET_METHODS: [&str; 3] = [
    "client_secret_basic",
    "client_secret_post",
    "client_secret_jwt",
];

impl UpstreamProviderConfig {
    /// What the sign-in needs to work at all, so `config check` says it
    /// before a person meets the error page.
    fn validate_flow(&self, path: &str, issues: &mut Issues) {
        let method = self.token_endpoint_auth_method.as_str();
        let has_secret = self.client_secret.is_some() || self.client_secret_file.is_some();
        if SECRET_METHODS.contains(&method) && !has_secret {
            issues.push(
                format!("{path}.client_secret"),
                format!("missing: token_endpoint_auth_method {method} needs client_secret or client_secret_file"),
            );
        }
        if method == "sign_in_with_apple" {
            match &self.sign_in_with_apple {
                None => issues.push(
                    format!("{path}.sign_in_with_apple"),
                    "missing: token_endpoint_auth_method sign_in_with_apple needs this block (private_key or private_key_file, team_id, key_id)",
                ),
                Some(apple) => one_of(
                    issues,
                    &format!("{path}.sign_in_with_apple"),
                    "private_key",
                    &apple.private_key,
                    &apple.private_key_file,
                    true,
                ),
            }
        }
        if self.discovery_mode.as_deref() == Some("disabled") {
            for (name, value) in [
                ("authorization_endpoint", &self.authorization_endpoint),
                ("token_endpoint", &self.token_endpoint),
            ] {
                if value.is_none() {
                    issues.push(
                        format!("{path}.{name}"),
                        "missing: with discovery_mode: disabled the endpoints must be configured",
                    );
                }
            }
        }
        if self.discovery_mode.as_deref() != Some("disabled") && self.issuer.is_none() {
            issues.push(
                format!("{path}.issuer"),
                "missing: discovery needs the issuer (or set discovery_mode: disabled and the endpoints)",
            );
        }
        for (name, value) in [
            ("issuer", &self.issuer),
            ("authorization_endpoint", &self.authorization_endpoint),
            ("token_endpoint", &self.token_endpoint),
            ("jwks_uri", &self.jwks_uri),
            ("userinfo_endpoint", &self.userinfo_endpoint),
        ] {
            if let Some(value) = value {
                if url::Url::parse(value).is_err() {
                    issues.push(format!("{path}.{name}"), format!("{value:?} is not a URL"));
                }
            }
        }
    }
}

impl UpstreamOAuth2Config {
    pub(super) fn unbuilt(&self, issues: &mut Issues) {
        for (i, p) in self.providers.iter().enumerate() {
            if p.registration_token_required {
                issues.unbuilt(
                    format!("upstream_oauth2.providers[{i}].registration_token_required"),
                    "registration tokens",
                );
            }
        }
    }
}
