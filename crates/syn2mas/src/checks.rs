//! Everything syn2mas verifies before it writes anything: the two
//! configurations agree, Synapse's data has nothing mxauth would lose
//! silently, Synapse is not running (for a real run), and the target holds
//! nothing that would clash. Each finding says what is wrong and how to fix it.

use std::{collections::HashMap, fmt};

use mxauth_config::{HashAlgorithm, PasswordSchemeConfig, RootConfig};
use mxauth_storage::Database;
use ulid::Ulid;

use crate::{source::SynapseSource, synapse_config::SynapseConfig, Syn2masError};

type Result<T, E = Syn2masError> = std::result::Result<T, E>;

/// The pepper of `passwords.schemes[index]` (its `secret`, or what its
/// `secret_file` holds), from the caller, who reads files; an error is the
/// message of the finding.
pub type SchemePepper<'a> =
    &'a dyn Fn(usize, &PasswordSchemeConfig) -> Result<Option<Vec<u8>>, String>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

#[derive(Debug)]
pub struct Finding {
    pub severity: Severity,
    pub message: String,
    pub fix: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{label}: {}\n  fix: {}", self.message, self.fix)
    }
}

#[derive(Default)]
pub struct Findings(pub Vec<Finding>);

impl Findings {
    fn error(&mut self, message: impl Into<String>, fix: impl Into<String>) {
        self.0.push(Finding {
            severity: Severity::Error,
            message: message.into(),
            fix: fix.into(),
        });
    }

    fn warning(&mut self, message: impl Into<String>, fix: impl Into<String>) {
        self.0.push(Finding {
            severity: Severity::Warning,
            message: message.into(),
            fix: fix.into(),
        });
    }

    pub fn worst(&self) -> Option<Severity> {
        self.0.iter().map(|f| f.severity).max()
    }
}

/// What the user asked for on the command line.
pub struct CheckOptions<'a> {
    pub mappings: &'a [String],
    pub ignore_missing_auth_providers: bool,
    /// A real run (not `check`, not `--dry-run`): Synapse must be stopped.
    pub real_run: bool,
    pub scheme_pepper: SchemePepper<'a>,
}

/// The configuration checks. Returns the mapping from Synapse
/// `auth_provider` to mxauth provider id for the providers that have one.
pub fn check_configs(
    synapse: &SynapseConfig,
    config: &RootConfig,
    options: &CheckOptions<'_>,
    findings: &mut Findings,
) -> HashMap<String, Ulid> {
    if synapse.server_name != config.matrix.homeserver {
        findings.error(
            format!(
                "Synapse's server_name is {:?} but mxauth's matrix.homeserver is {:?}",
                synapse.server_name, config.matrix.homeserver
            ),
            format!(
                "set matrix.homeserver: {:?} in mxauth's config",
                synapse.server_name
            ),
        );
    }
    check_password_scheme(synapse, config, options.scheme_pepper, findings);
    if synapse.allow_guest_access {
        findings.error(
            "Synapse has allow_guest_access enabled; guests are not supported with delegated authentication",
            "set allow_guest_access: false in homeserver.yaml",
        );
    }
    if synapse.enable_3pid_changes {
        findings.error(
            "Synapse has enable_3pid_changes enabled; with mxauth, emails are managed by mxauth",
            "set enable_3pid_changes: false in homeserver.yaml",
        );
    }
    if synapse.login_via_existing_session {
        findings.error(
            "Synapse has login_via_existing_session enabled, which mxauth replaces",
            "set login_via_existing_session.enabled: false in homeserver.yaml",
        );
    }
    for section in &synapse.other_sso {
        findings.warning(
            format!("Synapse has {section}; its users' links to that provider are not imported"),
            "set up the provider as an upstream OAuth 2.0 provider if it speaks OIDC, or have those users set a password",
        );
    }
    if synapse.enable_registration {
        findings.warning(
            "Synapse has enable_registration on; after the migration registration is mxauth's (account.password_registration_enabled)",
            "set enable_registration: false in homeserver.yaml",
        );
    }
    if synapse.registration_captcha {
        findings.warning(
            "Synapse asks for a captcha at registration; that setting is not carried over",
            "configure mxauth's captcha section",
        );
    }
    if synapse.user_consent {
        findings.warning(
            "Synapse's user_consent is configured; it is not carried over",
            "remove user_consent from homeserver.yaml and set branding.tos_uri in mxauth",
        );
    }
    provider_mapping(config, options, findings)
}

/// Synapse's bcrypt hashes are imported as scheme version 1, so version 1
/// must be bcrypt with Synapse's pepper and normalisation.
fn check_password_scheme(
    synapse: &SynapseConfig,
    config: &RootConfig,
    scheme_pepper: SchemePepper<'_>,
    findings: &mut Findings,
) {
    if !synapse.password_enabled {
        return;
    }
    let fix_scheme = "add `{version: 1, algorithm: bcrypt, unicode_normalization: true, secret: <Synapse's pepper>}` to passwords.schemes, and a version 2 (argon2id) for new passwords";
    let Some((index, scheme)) = config
        .passwords
        .schemes
        .iter()
        .enumerate()
        .find(|(_, s)| s.version == 1)
    else {
        findings.error(
            "mxauth has no password scheme version 1, which Synapse's hashes are imported as",
            fix_scheme,
        );
        return;
    };
    if scheme.algorithm != HashAlgorithm::Bcrypt {
        findings.error(
            format!(
                "password scheme version 1 is {:?}, but Synapse's hashes are bcrypt",
                scheme.algorithm
            ),
            fix_scheme,
        );
        return;
    }
    match scheme_pepper(index, scheme) {
        Ok(pepper) => {
            let pepper = pepper.unwrap_or_default();
            if pepper != synapse.pepper.as_bytes() {
                findings.error(
                    "the pepper of password scheme version 1 differs from Synapse's password_config.pepper: no imported password would verify",
                    "copy password_config.pepper from homeserver.yaml into passwords.schemes[version 1].secret (or leave both unset)",
                );
            }
        }
        Err(message) => findings.error(message, "make the secret_file readable"),
    }
    if !scheme.unicode_normalization {
        findings.warning(
            "password scheme version 1 does not apply Unicode normalisation (NFKC) as Synapse does; passwords with non-ASCII characters would not verify",
            "set unicode_normalization: true on scheme version 1",
        );
    }
}

/// Maps each Synapse OIDC provider to an mxauth upstream provider, from
/// `--upstream-provider-mapping` first, then from `synapse_idp_id`.
fn provider_mapping(
    config: &RootConfig,
    options: &CheckOptions<'_>,
    findings: &mut Findings,
) -> HashMap<String, Ulid> {
    let mut mapping = HashMap::new();
    for entry in options.mappings {
        let Some((synapse_id, provider)) = entry.rsplit_once(':') else {
            findings.error(
                format!(
                    "--upstream-provider-mapping {entry:?} is not SYNAPSE_IDP_ID:PROVIDER_ULID"
                ),
                "write it as e.g. oidc-keycloak:01HFVBY12TMNTYTBV8W921M5FA",
            );
            continue;
        };
        let configured = |id: Ulid| {
            config
                .upstream_oauth2
                .providers
                .iter()
                .any(|p| p.id.parse::<Ulid>() == Ok(id))
        };
        match provider.parse::<Ulid>() {
            // Links to a provider nobody configured would never be found:
            // those users would be offered to register again.
            Ok(id) if !configured(id) => findings.error(
                format!("--upstream-provider-mapping {entry:?}: no provider in upstream_oauth2.providers has the id {id}"),
                "map to the id of a configured provider, or add the provider first",
            ),
            Ok(id) => {
                mapping.insert(synapse_id.to_owned(), id);
            }
            Err(_) => findings.error(
                format!("--upstream-provider-mapping {entry:?}: {provider:?} is not a ULID"),
                "use the id of a provider in upstream_oauth2.providers",
            ),
        }
    }
    for provider in &config.upstream_oauth2.providers {
        let (Some(synapse_id), Ok(id)) = (&provider.synapse_idp_id, provider.id.parse::<Ulid>())
        else {
            continue;
        };
        let full = if synapse_id == "oidc" || synapse_id.starts_with("oidc-") {
            synapse_id.clone()
        } else {
            format!("oidc-{synapse_id}")
        };
        mapping.entry(full).or_insert(id);
    }
    mapping
}

/// The checks that read Synapse's database and the target.
pub async fn check_data(
    synapse: &SynapseConfig,
    source: &SynapseSource,
    target: &Database,
    mapping: &HashMap<String, Ulid>,
    options: &CheckOptions<'_>,
    findings: &mut Findings,
) -> Result<()> {
    check_running(synapse, source, options, findings).await?;
    for (provider, users) in source.external_id_providers().await? {
        if mapping.contains_key(&provider) {
            continue;
        }
        if provider == "oauth-delegated" {
            findings.error(
                format!("{users} users have external ids from a previous MAS (auth_provider oauth-delegated)"),
                "this Synapse already delegated to MAS once; delete those rows from user_external_ids if you are sure",
            );
        } else if !synapse.oidc_providers.contains(&provider) {
            let message = format!(
                "{users} users are linked to {provider:?}, a provider that is not in Synapse's config"
            );
            let fix = "map it with --upstream-provider-mapping, or pass --ignore-missing-auth-providers to import those users without the link";
            if options.ignore_missing_auth_providers {
                findings.warning(message, fix);
            } else {
                findings.error(message, fix);
            }
        } else {
            findings.error(
                format!("{users} users are linked to Synapse's provider {provider:?}, which has no mxauth counterpart"),
                format!("add an upstream_oauth2 provider with synapse_idp_id: {provider}, or pass --upstream-provider-mapping {provider}:<PROVIDER_ULID>"),
            );
        }
    }
    for (medium, count) in source.non_email_threepids().await? {
        findings.warning(
            format!("{count} third-party ids of medium {medium:?} are kept aside: mxauth only uses email"),
            "nothing to do; they are stored in user_unsupported_third_party_ids",
        );
    }
    let guests = source.guest_count().await?;
    if guests > 0 {
        findings.warning(
            format!("{guests} guest accounts are not imported (guests do not exist with delegated authentication)"),
            "nothing to do",
        );
    }
    check_target(synapse, source, target, findings).await
}

/// A real run refuses while Synapse may still write: tokens issued after
/// the import would not work afterwards. The signs: the process in
/// Synapse's `pid_file` is alive (when Synapse daemonises), another process
/// has Synapse's SQLite file open, or other sessions are connected to
/// Synapse's PostgreSQL database.
async fn check_running(
    synapse: &SynapseConfig,
    source: &SynapseSource,
    options: &CheckOptions<'_>,
    findings: &mut Findings,
) -> Result<()> {
    let mut signs = Vec::new();
    if let Some(pid_file) = &synapse.pid_file {
        if let Ok(text) = std::fs::read_to_string(pid_file) {
            if let Ok(pid) = text.trim().parse::<u32>() {
                if std::path::Path::new(&format!("/proc/{pid}")).exists() {
                    signs.push(format!(
                        "process {pid} from {} is running",
                        pid_file.display()
                    ));
                }
            }
        }
    }
    let holders = source.sqlite_users();
    if !holders.is_empty() {
        signs.push(format!(
            "process(es) {} have its SQLite database open",
            holders.join(", ")
        ));
    }
    let connections = source.other_connections().await?;
    if !connections.is_empty() {
        signs.push(format!(
            "{} other connection(s) to its database ({})",
            connections.len(),
            connections.join(", ")
        ));
    }
    if signs.is_empty() {
        return Ok(());
    }
    let message = format!("Synapse looks like it is running: {}", signs.join("; "));
    if options.real_run {
        findings.error(
            message,
            "stop Synapse and its workers first (a --dry-run works while it runs)",
        );
    } else {
        findings.warning(message, "stop Synapse and its workers before the real run");
    }
    Ok(())
}

/// The target may be empty, or hold what an earlier syn2mas run wrote;
/// users it got some other way must not clash with Synapse's.
async fn check_target(
    synapse: &SynapseConfig,
    source: &SynapseSource,
    target: &Database,
    findings: &mut Findings,
) -> Result<()> {
    let mut repo = target.read().await?;
    // Usually none or a handful; all of them are checked, so a clash can
    // never surface half-way through the import.
    let usernames = repo.syn2mas().foreign_usernames().await?;
    drop(repo);
    let Some(example) = usernames.first() else {
        return Ok(());
    };
    let ids: Vec<String> = usernames
        .iter()
        .map(|name| format!("@{name}:{}", synapse.server_name))
        .collect();
    let clashes = source.existing_user_ids(&ids).await?;
    if let Some(first) = clashes.first() {
        findings.error(
            format!(
                "mxauth's database already has {} user(s) that syn2mas did not import and that also exist in Synapse (e.g. {first})",
                clashes.len()
            ),
            "import into an empty mxauth database, or remove those users from it",
        );
    } else {
        findings.warning(
            format!(
                "mxauth's database already has {} user(s) that syn2mas did not import (e.g. {example}); they do not clash with Synapse's",
                usernames.len()
            ),
            "nothing to do if they belong there",
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sample config of the CLI's tests, with the keys of `extra`'s
    /// sections set on top of it.
    fn config(extra: &str) -> RootConfig {
        let mut config: serde_norway::Value = serde_norway::from_str(include_str!(
            "../../cli/tests/fixtures/mas-config-sample.yaml"
        ))
        .unwrap();
        let extra: serde_norway::Mapping = serde_norway::from_str(extra).unwrap();
        for (section, keys) in extra {
            for (key, value) in keys.as_mapping().unwrap() {
                config[section.as_str().unwrap()][key.as_str().unwrap()] = value.clone();
            }
        }
        serde_norway::from_value(config).unwrap()
    }

    /// Peppers from `secret` only: these tests have no files.
    fn inline_pepper(_: usize, scheme: &PasswordSchemeConfig) -> Result<Option<Vec<u8>>, String> {
        Ok(scheme.secret.clone().map(String::into_bytes))
    }

    fn options(mappings: &[String]) -> CheckOptions<'_> {
        CheckOptions {
            mappings,
            ignore_missing_auth_providers: false,
            real_run: false,
            scheme_pepper: &inline_pepper,
        }
    }

    #[test]
    fn providers_map_by_flag_and_by_synapse_idp_id() {
        let config = config(
            "upstream_oauth2:\n  providers:\n    - id: 01JSHPZHAXC50QBKH67MH33TNF\n      synapse_idp_id: keycloak\n      issuer: https://id.example.com/\n      client_id: mxauth\n      token_endpoint_auth_method: none\n    - id: 01HFVBY12TMNTYTBV8W921M5FA\n      issuer: https://accounts.google.com\n      client_id: mxauth\n      token_endpoint_auth_method: none\n",
        );
        let mut findings = Findings::default();
        let flag = ["oidc-google:01HFVBY12TMNTYTBV8W921M5FA".to_owned()];
        let mapping = provider_mapping(&config, &options(&flag), &mut findings);
        assert!(findings.0.is_empty(), "{:?}", findings.0);
        // Synapse writes `oidc-<idp_id>`; the config may name either form.
        assert_eq!(
            mapping.get("oidc-keycloak").map(Ulid::to_string).as_deref(),
            Some("01JSHPZHAXC50QBKH67MH33TNF")
        );
        assert_eq!(
            mapping.get("oidc-google").map(Ulid::to_string).as_deref(),
            Some("01HFVBY12TMNTYTBV8W921M5FA")
        );
    }

    /// Links to a provider nobody configured would never be found.
    #[test]
    fn a_mapping_to_an_unconfigured_provider_is_an_error() {
        let config = config("{}");
        let mut findings = Findings::default();
        let flag = ["oidc-google:01HFVBY12TMNTYTBV8W921M5FA".to_owned()];
        let mapping = provider_mapping(&config, &options(&flag), &mut findings);
        assert!(mapping.is_empty());
        assert_eq!(findings.worst(), Some(Severity::Error));
        assert!(
            findings.0[0].to_string().contains("no provider"),
            "{}",
            findings.0[0]
        );
    }

    #[test]
    fn a_malformed_mapping_is_an_error_with_an_example() {
        let config = config("{}");
        let mut findings = Findings::default();
        let flag = ["oidc-google".to_owned(), "oidc-x:not-a-ulid".to_owned()];
        provider_mapping(&config, &options(&flag), &mut findings);
        assert_eq!(findings.worst(), Some(Severity::Error));
        assert_eq!(findings.0.len(), 2);
        assert!(
            findings.0[0].fix.contains("oidc-keycloak:"),
            "{}",
            findings.0[0]
        );
    }

    #[test]
    fn scheme_one_must_be_bcrypt_with_synapse_pepper() {
        let synapse = SynapseConfig {
            server_name: "example.com".into(),
            password_enabled: true,
            pepper: "pep".into(),
            ..SynapseConfig::default()
        };
        let mut findings = Findings::default();
        check_password_scheme(&synapse, &config("{}"), &inline_pepper, &mut findings);
        assert!(
            findings.0[0].message.contains("argon2") || findings.0[0].message.contains("Argon2"),
            "{}",
            findings.0[0]
        );
        let mut findings = Findings::default();
        check_password_scheme(
            &synapse,
            &config("passwords:\n  schemes:\n    - {version: 1, algorithm: bcrypt, unicode_normalization: true, secret: other}\n"),
            &inline_pepper,
            &mut findings,
        );
        assert!(
            findings.0[0].message.contains("pepper"),
            "{}",
            findings.0[0]
        );
        let mut findings = Findings::default();
        check_password_scheme(
            &synapse,
            &config("passwords:\n  schemes:\n    - {version: 1, algorithm: bcrypt, unicode_normalization: true, secret: pep}\n"),
            &inline_pepper,
            &mut findings,
        );
        assert!(findings.0.is_empty(), "{:?}", findings.0);
    }
}
