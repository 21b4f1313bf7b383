//! `config generate --synapse-config`: what a new configuration takes over
//! from Synapse's `homeserver.yaml` (merged as Synapse merges several files),
//! so that `syn2mas` finds nothing to complain about and people sign in as
//! before: the server name and where Synapse is, the password schemes that
//! verify Synapse's hashes, the account settings, registration, and the
//! OIDC providers (`synapse_oidc`). Whatever is left behind is reported,
//! never silently: the summary names keys, never values (it may be read over
//! someone's shoulder; the file holds the secrets).

use mxauth_config::{HashAlgorithm, PasswordSchemeConfig};
use mxauth_syn2mas::{
    synapse_config::{self, SynapseConfigFile},
    SynapseConfigError,
};
use serde_norway::{Mapping, Value};
use ulid::Ulid;

use super::synapse_oidc;

/// What was taken over, and what was not and why.
#[derive(Debug, Default)]
pub struct Report {
    pub imported: Vec<String>,
    pub warnings: Vec<String>,
}

impl Report {
    pub fn imported(&mut self, line: impl Into<String>) {
        self.imported.push(line.into());
    }

    pub fn warn(&mut self, line: impl Into<String>) {
        self.warnings.push(line.into());
    }

    /// The summary for standard error.
    pub fn print(&self) {
        eprintln!("Imported from Synapse's configuration:");
        for line in &self.imported {
            eprintln!("  {line}");
        }
        if !self.warnings.is_empty() {
            eprintln!("Not imported (check these by hand):");
            for line in &self.warnings {
                eprintln!("warning: {line}");
            }
        }
    }
}

/// The part of the configuration taken from Synapse, to merge over the
/// generated one, and the report.
pub struct Imported {
    pub document: Value,
    pub report: Report,
}

/// Reads the merged Synapse configuration. `new_id` gives each imported
/// provider its id.
pub fn import(
    files: &[SynapseConfigFile],
    new_id: &mut dyn FnMut() -> Ulid,
) -> Result<Imported, SynapseConfigError> {
    let synapse = synapse_config::merge(files)?;
    let server_name = string(&synapse, "server_name").ok_or(SynapseConfigError::NoServerName)?;
    let mut report = Report::default();
    let mut document = Mapping::new();
    insert(
        &mut document,
        "matrix",
        matrix(&synapse, &server_name, &mut report),
    );
    insert(&mut document, "passwords", passwords(&synapse, &mut report));
    insert(&mut document, "account", account(&synapse, &mut report));
    if let Some(captcha) = captcha(&synapse, &mut report) {
        insert(&mut document, "captcha", captcha);
    }
    let providers = synapse_oidc::providers(&synapse, new_id, &mut report);
    if !providers.is_empty() {
        let providers = providers
            .into_iter()
            .map(|p| serde_norway::to_value(p).unwrap_or(Value::Null))
            .collect();
        let mut upstream = Mapping::new();
        insert(&mut upstream, "providers", Value::Sequence(providers));
        insert(&mut document, "upstream_oauth2", Value::Mapping(upstream));
    }
    other_sso(&synapse, &mut report);
    Ok(Imported {
        document: Value::Mapping(document),
        report,
    })
}

pub(super) fn insert(map: &mut Mapping, key: &str, value: impl Into<Value>) {
    map.insert(Value::from(key), value.into());
}

/// A scalar as text: Synapse's YAML may hold ids and names as numbers.
pub(super) fn string(map: &Mapping, key: &str) -> Option<String> {
    match map.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

pub(super) fn flag(map: &Mapping, key: &str) -> Option<bool> {
    map.get(key).and_then(Value::as_bool)
}

pub(super) fn section<'a>(map: &'a Mapping, key: &str) -> Option<&'a Mapping> {
    map.get(key).and_then(Value::as_mapping)
}

/// `matrix.homeserver` from `server_name`; `matrix.endpoint` from
/// `public_baseurl`, as MAS does.
fn matrix(synapse: &Mapping, server_name: &str, report: &mut Report) -> Mapping {
    let mut matrix = Mapping::new();
    insert(&mut matrix, "homeserver", server_name);
    report.imported(format!("matrix.homeserver: {server_name:?} (server_name)"));
    match string(synapse, "public_baseurl") {
        Some(base) if url::Url::parse(&base).is_ok() => {
            insert(&mut matrix, "endpoint", base.as_str());
            report.imported(format!(
                "matrix.endpoint: {base:?} (public_baseurl); mxauth calls Synapse's /_synapse/mas API there: if the reverse proxy does not pass /_synapse/mas, use Synapse's own listener (e.g. http://localhost:8008/)"
            ));
        }
        Some(base) => report.warn(format!(
            "public_baseurl {base:?} is not a URL: matrix.endpoint left at its default"
        )),
        None => report.warn(
            "Synapse has no public_baseurl: set matrix.endpoint to where mxauth reaches Synapse",
        ),
    }
    matrix
}

/// Version 1 verifies Synapse's bcrypt hashes as syn2mas imports them (with
/// the pepper, after NFKC as Synapse does); version 2, argon2id, hashes new
/// passwords, and each imported hash is upgraded at its next use.
fn passwords(synapse: &Mapping, report: &mut Report) -> Mapping {
    let config = section(synapse, "password_config")
        .cloned()
        .unwrap_or_default();
    let mut enabled = match config.get("enabled") {
        None => true,
        Some(Value::Bool(on)) => *on,
        Some(other) => {
            report.warn(format!(
                "password_config.enabled is {}: mxauth has no password mode for re-authentication only, so passwords are off",
                serde_norway::to_string(other).unwrap_or_default().trim()
            ));
            false
        }
    };
    if flag(&config, "localdb_enabled") == Some(false) {
        report.warn(
            "password_config.localdb_enabled is false (passwords are checked by a password provider module): mxauth has no password providers, so passwords are off",
        );
        enabled = false;
    }
    if section(&config, "policy").is_some_and(|p| flag(p, "enabled") == Some(true)) {
        report.warn(
            "password_config.policy is not carried over: mxauth asks for passwords of a zxcvbn strength (passwords.minimum_complexity)",
        );
    }
    let pepper = string(&config, "pepper").filter(|p| !p.is_empty());
    let cost = match synapse.get("bcrypt_rounds").and_then(Value::as_u64) {
        Some(cost @ 4..=31) => u32::try_from(cost).ok(),
        Some(cost) => {
            report.warn(format!(
                "bcrypt_rounds {cost} is outside 4–31: scheme version 1 uses bcrypt's default cost"
            ));
            None
        }
        None => None,
    };
    let schemes = [
        PasswordSchemeConfig {
            version: 1,
            algorithm: HashAlgorithm::Bcrypt,
            cost,
            secret: pepper.clone(),
            secret_file: None,
            unicode_normalization: true,
        },
        PasswordSchemeConfig {
            version: 2,
            algorithm: HashAlgorithm::Argon2id,
            cost: None,
            secret: None,
            secret_file: None,
            unicode_normalization: false,
        },
    ];
    let mut passwords = Mapping::new();
    insert(&mut passwords, "enabled", enabled);
    insert(
        &mut passwords,
        "schemes",
        serde_norway::to_value(schemes).unwrap_or(Value::Null),
    );
    report.imported(format!(
        "passwords.enabled: {enabled} (password_config.enabled)"
    ));
    report.imported(format!(
        "passwords.schemes: version 1 bcrypt{}{} with Unicode normalisation, for Synapse's hashes; version 2 argon2id for new passwords (imported hashes are upgraded at next login)",
        if pepper.is_some() { " with Synapse's pepper (password_config.pepper)" } else { "" },
        cost.map(|c| format!(", cost {c} (bcrypt_rounds)")).unwrap_or_default(),
    ));
    if synapse
        .get("password_providers")
        .and_then(Value::as_sequence)
        .is_some_and(|p| !p.is_empty())
    {
        report.warn("password_providers (e.g. LDAP) are not supported by mxauth: put them behind an OIDC provider such as Dex");
    }
    passwords
}

/// The account settings Synapse has an equivalent of, with Synapse's
/// defaults when absent.
fn account(synapse: &Mapping, report: &mut Report) -> Mapping {
    let mut account = Mapping::new();
    let mut set = |key: &str, value: bool, from: &str, report: &mut Report| {
        insert(&mut account, key, value);
        report.imported(format!("account.{key}: {value} ({from})"));
    };
    let registration = flag(synapse, "enable_registration").unwrap_or(false);
    set(
        "password_registration_enabled",
        registration,
        "enable_registration",
        report,
    );
    if registration {
        let email_required = synapse
            .get("registrations_require_3pid")
            .and_then(Value::as_sequence)
            .is_some_and(|media| media.iter().any(|m| m.as_str() == Some("email")));
        set(
            "password_registration_email_required",
            email_required,
            "registrations_require_3pid",
            report,
        );
        if let Some(token) = flag(synapse, "registration_requires_token") {
            set(
                "password_registration_token_required",
                token,
                "registration_requires_token",
                report,
            );
        }
    }
    set(
        "displayname_change_allowed",
        flag(synapse, "enable_set_displayname").unwrap_or(true),
        "enable_set_displayname",
        report,
    );
    // Synapse's default is on, unless it already delegates (MSC3861).
    let delegated = section(synapse, "experimental_features")
        .and_then(|f| section(f, "msc3861"))
        .and_then(|m| flag(m, "enabled"))
        .unwrap_or(false);
    set(
        "email_change_allowed",
        flag(synapse, "enable_3pid_changes").unwrap_or(!delegated),
        "enable_3pid_changes",
        report,
    );
    account
}

/// Synapse's reCAPTCHA at registration, when it is on.
fn captcha(synapse: &Mapping, report: &mut Report) -> Option<Mapping> {
    if flag(synapse, "enable_registration_captcha") != Some(true) {
        return None;
    }
    let (Some(site_key), Some(secret_key)) = (
        string(synapse, "recaptcha_public_key"),
        string(synapse, "recaptcha_private_key"),
    ) else {
        report.warn("enable_registration_captcha is on but the reCAPTCHA keys are not both in the file (recaptcha_public_key, recaptcha_private_key): set captcha.site_key and captcha.secret_key by hand");
        return None;
    };
    let mut captcha = Mapping::new();
    insert(&mut captcha, "service", "recaptcha_v2");
    insert(&mut captcha, "site_key", site_key);
    insert(&mut captcha, "secret_key", secret_key);
    report.imported(
        "captcha: recaptcha_v2 with Synapse's keys (enable_registration_captcha, recaptcha_public_key, recaptcha_private_key)",
    );
    Some(captcha)
}

/// Single sign-on that is not OIDC cannot become an upstream provider.
fn other_sso(synapse: &Mapping, report: &mut Report) {
    let enabled = |key: &str, default: bool| {
        section(synapse, key).is_some_and(|s| flag(s, "enabled").unwrap_or(default))
    };
    if enabled("cas_config", true) {
        report.warn("cas_config: CAS is not supported; bridge it to OIDC (e.g. with Dex) and add it as an upstream provider");
    }
    if section(synapse, "saml2_config").is_some_and(|s| s.contains_key("sp_config")) {
        report.warn("saml2_config: SAML is not supported; bridge it to OIDC (e.g. with Dex) and add it as an upstream provider");
    }
    if enabled("jwt_config", false) {
        report.warn("jwt_config: JSON Web Token login is not supported");
    }
}

#[cfg(test)]
mod tests;
