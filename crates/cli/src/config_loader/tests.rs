//! Tests of finding, merging and deserialising configuration files.

use super::*;

fn yaml(text: &str) -> Value {
    serde_norway::from_str(text).unwrap()
}

const SAMPLE: &str = include_str!("../../tests/fixtures/mas-config-sample.yaml");

#[test]
fn cli_files_win_over_environment_and_default() {
    let env = |k: &str| (k == "MXAUTH_CONFIG").then(|| "a.yaml:b.yaml".to_owned());
    assert_eq!(
        find_sources(&[PathBuf::from("c.yaml")], env),
        ConfigSource::Files(vec!["c.yaml".into()])
    );
    assert_eq!(
        find_sources(&[], env),
        ConfigSource::Files(vec!["a.yaml".into(), "b.yaml".into()])
    );
    let mas_env = |k: &str| (k == "MAS_CONFIG").then(|| "mas.yaml".to_owned());
    assert_eq!(
        find_sources(&[], mas_env),
        ConfigSource::Files(vec!["mas.yaml".into()])
    );
}

#[test]
fn merge_is_deep_for_maps_and_replaces_the_rest() {
    let mut base = yaml("a: {x: 1, y: [1, 2]}\nb: 1");
    merge(&mut base, yaml("a: {y: [3], z: 2}\nc: 3"));
    assert_eq!(base, yaml("a: {x: 1, y: [3], z: 2}\nb: 1\nc: 3"));
}

#[test]
fn the_mas_generated_config_loads_unchanged() {
    let config = deserialize(yaml(SAMPLE)).unwrap();
    assert_eq!(config.matrix.homeserver, "localhost:8008");
    assert_eq!(config.http.listeners.len(), 2);
    assert_eq!(config.secrets.keys.len(), 4);
    assert!(config.validate().is_empty(), "{:?}", config.validate());
    // It has resources mxauth does not serve yet: each one is named.
    let unbuilt: Vec<String> = config.unbuilt().iter().map(|i| i.path.clone()).collect();
    assert!(
        unbuilt.contains(&"http.listeners[0].resources[4]".to_owned()),
        "{unbuilt:?}"
    );
}

#[test]
fn an_unknown_key_is_named_by_its_full_path() {
    let mut config = yaml(SAMPLE);
    merge(
        &mut config,
        yaml("http: {listeners: [{resources: [], binds: [{bind: x}]}]}"),
    );
    let err = deserialize(config).unwrap_err().to_string();
    assert!(err.contains("http.listeners[0].binds[0].bind"), "{err}");
    assert!(err.contains("unknown field `bind`"), "{err}");

    let mut config = yaml(SAMPLE);
    merge(&mut config, yaml("databse: {uri: x}"));
    let err = deserialize(config).unwrap_err().to_string();
    assert!(
        err.starts_with("invalid configuration at databse:"),
        "{err}"
    );
}

#[test]
fn a_wrong_type_names_the_key() {
    let mut config = yaml(SAMPLE);
    merge(&mut config, yaml("passwords: {minimum_complexity: high}"));
    let err = deserialize(config).unwrap_err().to_string();
    assert!(err.contains("passwords.minimum_complexity"), "{err}");
}

#[test]
fn secrets_and_matrix_are_required() {
    let err = deserialize(yaml("http: {}")).unwrap_err().to_string();
    assert!(err.contains("missing field `secrets`"), "{err}");
}

#[test]
fn mas_defaults_apply_to_absent_sections() {
    let config = deserialize(yaml(
        "secrets: {encryption: '00', keys: []}\nmatrix: {secret: s}",
    ))
    .unwrap();
    assert_eq!(
        config.database.effective_uri().as_deref(),
        Some("postgresql://")
    );
    assert_eq!(config.database.max_connections, 10);
    assert_eq!(config.passwords.minimum_complexity, 3);
    assert_eq!(config.experimental.access_token_ttl, 300);
    assert_eq!(config.http.public_base.as_str(), "http://[::]:8080/");
    assert_eq!(config.issuer().as_str(), "http://[::]:8080/");
    assert_eq!(config.rate_limiting.login.per_account.burst, 1800);
    assert!(!config.account.password_registration_enabled);
}

#[test]
fn the_older_registration_token_key_is_accepted() {
    let config = deserialize(yaml(
        "secrets: {encryption: '00'}\nmatrix: {secret: s}\naccount: {registration_token_required: true}",
    ))
    .unwrap();
    assert!(config.account.password_registration_token_required);
}

fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn mas_variables_override_keys_of_the_files() {
    let config = deserialize_with_env(
        yaml(SAMPLE),
        vars(&[
            ("MAS_DATABASE_URI", "postgresql://db.example/mas"),
            ("MAS_HTTP_PUBLIC_BASE", "https://auth.example.com/"),
            ("MAS_PASSWORDS_MINIMUM_COMPLEXITY", "1"),
            ("MAS_ACCOUNT_PASSWORD_REGISTRATION_ENABLED", "true"),
            // Not configuration: the file list, and a container's own variable.
            ("MAS_CONFIG", "a.yaml"),
            ("MAS_VERSION", "1.2"),
            ("HOME", "/root"),
        ]),
    )
    .unwrap();
    assert_eq!(
        config.database.effective_uri().as_deref(),
        Some("postgresql://db.example/mas")
    );
    assert_eq!(
        config.http.public_base.as_str(),
        "https://auth.example.com/"
    );
    assert_eq!(config.passwords.minimum_complexity, 1);
    assert!(config.account.password_registration_enabled);
}

#[test]
fn a_mas_variable_for_a_text_key_stays_text() {
    // `matrix.secret` is text: a value that YAML would read as a map or a
    // number is taken as written.
    let config =
        deserialize_with_env(yaml(SAMPLE), vars(&[("MAS_MATRIX_SECRET", "yes: 0123")])).unwrap();
    assert_eq!(config.matrix.secret.as_deref(), Some("yes: 0123"));
}

#[test]
fn a_mas_variable_naming_no_key_is_refused_by_path() {
    let err = deserialize_with_env(yaml(SAMPLE), vars(&[("MAS_DATABASE_URL", "x")]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("database.url"), "{err}");
    assert!(err.contains("unknown field"), "{err}");
}

#[test]
fn mas_variables_can_supply_a_required_section() {
    // No `matrix` in the files: the variables make the configuration whole.
    let config = deserialize_with_env(
        yaml("secrets: {encryption: '00'}"),
        vars(&[
            ("MAS_MATRIX_SECRET", "s3cret"),
            ("MAS_MATRIX_HOMESERVER", "example.com"),
        ]),
    )
    .unwrap();
    assert_eq!(config.matrix.homeserver, "example.com");
}
