//! The parts of Synapse's `homeserver.yaml` that syn2mas needs. Synapse
//! merges several `-c` files by top-level key, later files winning; so do we.
//! Unknown keys are ignored: this reads someone else's file.
//!
//! The caller reads the files and passes their text (only the CLI reads
//! files); parsing here only looks at the file system to place relative
//! paths the way Synapse would.

use std::{
    num::ParseIntError,
    path::{Path, PathBuf},
};

use serde_norway::{Mapping, Value};
use thiserror::Error;

/// Why Synapse's config cannot be used; each names the file or key at fault.
#[derive(Debug, Error)]
pub enum SynapseConfigError {
    #[error("{} is not valid YAML", .file.display())]
    NotYaml {
        file: PathBuf,
        #[source]
        source: serde_norway::Error,
    },
    #[error("{} is not a YAML mapping", .0.display())]
    NotAMapping(PathBuf),
    #[error("the Synapse config has no server_name")]
    NoServerName,
    #[error("Synapse's database is in memory (:memory:): there is nothing to import")]
    InMemoryDatabase,
    #[error("database.args.host {host:?} is not a host name")]
    BadHost {
        host: String,
        #[source]
        source: url::ParseError,
    },
    #[error("database.args.port {port:?} is not a port")]
    BadPort {
        port: String,
        #[source]
        source: ParseIntError,
    },
    #[error("Synapse's database.name {0:?} is neither sqlite3 nor psycopg2")]
    UnknownEngine(String),
    #[error(transparent)]
    Uri(#[from] url::ParseError),
}

/// One of Synapse's config files, as the caller read it.
#[derive(Debug, Clone)]
pub struct SynapseConfigFile {
    pub path: PathBuf,
    pub text: String,
}

/// Synapse's settings, as far as the migration cares.
#[derive(Debug, Default)]
pub struct SynapseConfig {
    pub server_name: String,
    pub database: Option<SynapseDatabase>,
    pub password_enabled: bool,
    pub pepper: String,
    pub allow_guest_access: bool,
    pub enable_3pid_changes: bool,
    pub login_via_existing_session: bool,
    pub enable_registration: bool,
    pub registration_captcha: bool,
    pub user_consent: bool,
    /// `cas_config`, `saml2_config`, `jwt_config` that are enabled.
    pub other_sso: Vec<&'static str>,
    /// The `auth_provider` values Synapse's OIDC providers write into
    /// `user_external_ids` (`oidc` for the legacy `oidc_config`,
    /// `oidc-<idp_id>` otherwise).
    pub oidc_providers: Vec<String>,
    pub pid_file: Option<PathBuf>,
}

/// Where Synapse keeps its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SynapseDatabase {
    Sqlite(PathBuf),
    /// A `postgresql://` URI built from psycopg2's connection arguments.
    Postgres(String),
}

fn flag(map: &Mapping, key: &str) -> bool {
    map.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// `key: {enabled: true, …}`; `enabled` defaults to `default_enabled` when
/// the section is present without it.
fn section_enabled(map: &Mapping, key: &str, default_enabled: bool) -> bool {
    match map.get(key) {
        Some(Value::Mapping(section)) => section
            .get("enabled")
            .and_then(Value::as_bool)
            .unwrap_or(default_enabled),
        _ => false,
    }
}

fn string(map: &Mapping, key: &str) -> Option<String> {
    match map.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl SynapseConfig {
    /// Parses and merges the files, in order; relative paths inside (the
    /// SQLite database, the pid file) are taken relative to the first file's
    /// folder only if they do not exist as given, because Synapse resolves
    /// them against its working directory.
    pub fn parse(files: &[SynapseConfigFile]) -> Result<Self, SynapseConfigError> {
        let merged = merge(files)?;
        let base = files
            .first()
            .and_then(|file| file.path.parent())
            .unwrap_or(Path::new("."));
        Self::from_mapping(&merged, base)
    }

    fn from_mapping(map: &Mapping, base: &Path) -> Result<Self, SynapseConfigError> {
        let Some(server_name) = string(map, "server_name") else {
            return Err(SynapseConfigError::NoServerName);
        };
        let resolve = |path: &str| {
            let path = PathBuf::from(path);
            if path.is_relative() && !path.exists() {
                base.join(path)
            } else {
                path
            }
        };
        let database = match map.get("database") {
            Some(Value::Mapping(db)) => Some(database(db, &resolve)?),
            // Synapse's default is an SQLite file beside the config.
            _ => Some(SynapseDatabase::Sqlite(resolve("homeserver.db"))),
        };
        let password = match map.get("password_config") {
            Some(Value::Mapping(p)) => p.clone(),
            _ => Mapping::new(),
        };
        let mut other_sso = Vec::new();
        if section_enabled(map, "cas_config", true) {
            other_sso.push("cas_config");
        }
        if matches!(map.get("saml2_config"), Some(Value::Mapping(m)) if m.contains_key("sp_config"))
        {
            other_sso.push("saml2_config");
        }
        if section_enabled(map, "jwt_config", false) {
            other_sso.push("jwt_config");
        }
        let mut oidc_providers = Vec::new();
        // Synapse reads `oidc_providers` first, then the legacy block.
        if let Some(Value::Sequence(providers)) = map.get("oidc_providers") {
            for provider in providers {
                if let Some(idp_id) = provider.as_mapping().and_then(|p| string(p, "idp_id")) {
                    oidc_providers.push(auth_provider_id(Some(&idp_id)));
                }
            }
        }
        if section_enabled(map, "oidc_config", false) {
            let idp_id = match map.get("oidc_config") {
                Some(Value::Mapping(legacy)) => string(legacy, "idp_id"),
                _ => None,
            };
            oidc_providers.push(auth_provider_id(idp_id.as_deref()));
        }
        Ok(Self {
            server_name,
            database,
            password_enabled: password
                .get("enabled")
                .and_then(Value::as_bool)
                .unwrap_or(true),
            pepper: string(&password, "pepper").unwrap_or_default(),
            allow_guest_access: flag(map, "allow_guest_access"),
            enable_3pid_changes: flag(map, "enable_3pid_changes"),
            login_via_existing_session: section_enabled(map, "login_via_existing_session", false),
            enable_registration: flag(map, "enable_registration"),
            registration_captcha: flag(map, "enable_registration_captcha"),
            user_consent: matches!(map.get("user_consent"), Some(Value::Mapping(_))),
            other_sso,
            oidc_providers,
            pid_file: string(map, "pid_file").map(|p| resolve(&p)),
        })
    }
}

/// Synapse's config files merged as Synapse merges them: by top-level key,
/// later files winning. An empty file counts as an empty mapping.
pub fn merge(files: &[SynapseConfigFile]) -> Result<Mapping, SynapseConfigError> {
    let mut merged = Mapping::new();
    for file in files {
        let value: Value =
            serde_norway::from_str(&file.text).map_err(|source| SynapseConfigError::NotYaml {
                file: file.path.clone(),
                source,
            })?;
        match value {
            Value::Mapping(map) => merged.extend(map),
            Value::Null => {}
            _ => return Err(SynapseConfigError::NotAMapping(file.path.clone())),
        }
    }
    Ok(merged)
}

/// The `auth_provider` an OIDC provider of Synapse writes into
/// `user_external_ids`: its `idp_id` (`oidc` when absent) prefixed with
/// `oidc-`, except `oidc` itself, which stays as it is so that the legacy
/// `oidc_config` block keeps its users when it moves to `oidc_providers`.
/// The prefix is added even to an id that already starts with `oidc-`, as
/// Synapse does (`idp_id: oidc-google` gives `oidc-oidc-google`).
pub fn auth_provider_id(idp_id: Option<&str>) -> String {
    match idp_id {
        None | Some("oidc") => "oidc".to_owned(),
        Some(id) => format!("oidc-{id}"),
    }
}

/// `database: {name: sqlite3|psycopg2, args: {…}}`.
fn database(
    db: &Mapping,
    resolve: &dyn Fn(&str) -> PathBuf,
) -> Result<SynapseDatabase, SynapseConfigError> {
    let name = string(db, "name").unwrap_or_else(|| "sqlite3".to_owned());
    let args = match db.get("args") {
        Some(Value::Mapping(args)) => args.clone(),
        _ => Mapping::new(),
    };
    match name.as_str() {
        "sqlite3" => {
            let path = string(&args, "database").unwrap_or_else(|| "homeserver.db".to_owned());
            if path == ":memory:" {
                return Err(SynapseConfigError::InMemoryDatabase);
            }
            Ok(SynapseDatabase::Sqlite(resolve(&path)))
        }
        "psycopg2" | "psycopg" => {
            let mut uri = url::Url::parse("postgresql://localhost/")?;
            let field = |keys: &[&str]| keys.iter().find_map(|k| string(&args, k));
            if let Some(user) = field(&["user"]) {
                let _ = uri.set_username(&user);
            }
            if let Some(password) = field(&["password"]) {
                let _ = uri.set_password(Some(&password));
            }
            let host = field(&["host"]).unwrap_or_else(|| "localhost".to_owned());
            let port = field(&["port"]);
            let dbname = field(&["dbname", "database"]).unwrap_or_else(|| "synapse".to_owned());
            if host.starts_with('/') {
                // A unix socket folder: libpq's `host` query parameter.
                uri.query_pairs_mut().append_pair("host", &host);
            } else {
                if let Err(source) = uri.set_host(Some(&host)) {
                    return Err(SynapseConfigError::BadHost { host, source });
                }
            }
            if let Some(port) = port {
                let port: u16 = port
                    .parse()
                    .map_err(|source| SynapseConfigError::BadPort { port, source })?;
                let _ = uri.set_port(Some(port));
            }
            uri.set_path(&dbname);
            if let Some(mode) = field(&["sslmode"]) {
                uri.query_pairs_mut().append_pair("sslmode", &mode);
            }
            Ok(SynapseDatabase::Postgres(uri.to_string()))
        }
        other => Err(SynapseConfigError::UnknownEngine(other.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> SynapseConfig {
        let map: Mapping = serde_norway::from_str(yaml).unwrap();
        SynapseConfig::from_mapping(&map, Path::new("/srv/synapse")).unwrap()
    }

    #[test]
    fn reads_postgres_arguments_as_a_uri() {
        let config = parse(
            "server_name: example.com\ndatabase:\n  name: psycopg2\n  args: {user: synapse, password: 's3cr/t', host: db.internal, port: 5433, database: synapse_db, cp_min: 5}\n",
        );
        assert_eq!(
            config.database,
            Some(SynapseDatabase::Postgres(
                "postgresql://synapse:s3cr%2Ft@db.internal:5433/synapse_db".into()
            ))
        );
        assert!(config.password_enabled);
    }

    #[test]
    fn sqlite_paths_resolve_beside_the_config_and_providers_get_their_prefix() {
        let config = parse(
            "server_name: example.com\ndatabase: {name: sqlite3, args: {database: data/homeserver.db}}\noidc_providers: [{idp_id: keycloak}, {idp_id: oidc-google}, {idp_id: oidc}]\noidc_config: {client_id: x}\nallow_guest_access: true\npassword_config: {pepper: pep}\ncas_config: {enabled: true}\n",
        );
        assert_eq!(
            config.database,
            Some(SynapseDatabase::Sqlite(PathBuf::from(
                "/srv/synapse/data/homeserver.db"
            )))
        );
        // Synapse prefixes every idp_id but `oidc`, even one that starts
        // with `oidc-`; the legacy block counts only with `enabled: true`.
        assert_eq!(
            config.oidc_providers,
            ["oidc-keycloak", "oidc-oidc-google", "oidc"]
        );
        assert!(config.allow_guest_access);
        assert_eq!(config.pepper, "pep");
        assert_eq!(config.other_sso, ["cas_config"]);
    }

    #[test]
    fn later_files_win_by_top_level_key_and_bad_yaml_names_its_file() {
        let file = |path: &str, text: &str| SynapseConfigFile {
            path: PathBuf::from(path),
            text: text.to_owned(),
        };
        let config = SynapseConfig::parse(&[
            file("/srv/synapse/homeserver.yaml", "server_name: a.org\n"),
            file("/etc/extra.yaml", "server_name: b.org\n"),
            file("/etc/empty.yaml", ""),
        ])
        .unwrap();
        assert_eq!(config.server_name, "b.org");
        assert_eq!(
            config.database,
            Some(SynapseDatabase::Sqlite(PathBuf::from(
                "/srv/synapse/homeserver.db"
            )))
        );
        let err = SynapseConfig::parse(&[file("/etc/bad.yaml", "server_name: [")]).unwrap_err();
        assert!(err.to_string().contains("/etc/bad.yaml"), "{err}");
        let err = SynapseConfig::parse(&[file("/etc/list.yaml", "- a")]).unwrap_err();
        assert_eq!(err.to_string(), "/etc/list.yaml is not a YAML mapping");
    }

    #[test]
    fn refuses_a_config_without_server_name() {
        let map: Mapping = serde_norway::from_str("database: {name: sqlite3}").unwrap();
        let err = SynapseConfig::from_mapping(&map, Path::new(".")).unwrap_err();
        assert!(err.to_string().contains("server_name"), "{err}");
    }
}
