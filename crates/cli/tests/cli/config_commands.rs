//! `config generate`, `config check`, `config dump` through the binary.

use std::{os::unix::fs::PermissionsExt, path::Path};

use crate::support::*;

/// `config check` on the MAS sample with `overrides` merged over it.
fn check_with(name: &str, overrides: &str) -> Run {
    let files = write_config(&temp_dir(name), overrides);
    run(with_configs(&mut mxauth(), &files).args(["config", "check"]))
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// `config generate > FILE` and `-o FILE` over an existing file both leave
/// the secrets readable by their owner only.
#[test]
fn generated_secrets_are_never_left_world_readable() {
    let dir = temp_dir("generate-mode");
    let redirected = dir.join("redirected.yaml");
    let file = std::fs::File::create(&redirected).unwrap();
    file.set_permissions(std::fs::Permissions::from_mode(0o644))
        .unwrap();
    run(mxauth().args(["config", "generate"]).stdout(file))
        .succeeded()
        .says("made readable by its owner only");
    assert_eq!(mode(&redirected), 0o600);
    assert!(std::fs::read_to_string(&redirected)
        .unwrap()
        .contains("BEGIN RSA PRIVATE KEY"));

    let existing = dir.join("existing.yaml");
    std::fs::write(&existing, "old").unwrap();
    std::fs::set_permissions(&existing, std::fs::Permissions::from_mode(0o644)).unwrap();
    run(mxauth().args(["config", "generate", "-o"]).arg(&existing)).succeeded();
    assert_eq!(mode(&existing), 0o600);
}

/// `config check` names the database: host, port, database and user, never
/// the password.
#[test]
fn check_names_the_database_without_its_password() {
    let checked = check_with(
        "check-database",
        "database:\n  uri: postgresql://mas:s3cret-pw@db.example.com:5433/auth\n",
    );
    checked
        .succeeded()
        .says("PostgreSQL database auth on db.example.com:5433 as user mas");
    assert!(!checked.stderr.contains("s3cret-pw"), "{}", checked.stderr);
}

#[test]
fn generated_config_passes_check() {
    let dir = temp_dir("generate");
    let config = dir.join("c.yaml");
    let generated = run(mxauth().args(["config", "generate", "-o"]).arg(&config));
    assert_eq!(generated.code, 0, "{}", generated.stderr);
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("BEGIN RSA PRIVATE KEY") && text.contains("BEGIN EC PRIVATE KEY"));
    assert_eq!(mode(&config), 0o600, "-o writes the secrets privately");
    let checked = run(mxauth()
        .current_dir(&dir)
        .args(["-c", "c.yaml", "config", "check"]));
    checked
        .succeeded()
        .says("Configuration is valid: 2 signing key(s), SQLite file mxauth.db,");
    // A fresh configuration asks for nothing mxauth ignores.
    assert!(!checked.stderr.contains("warning"), "{}", checked.stderr);

    // Two runs never share secrets.
    let other = run(mxauth().args(["config", "generate"]));
    assert!(!other
        .stdout
        .contains(text.lines().find(|l| l.contains("encryption")).unwrap()));
}

#[test]
fn mas_generated_config_passes_with_warnings() {
    let dir = temp_dir("mas-sample");
    let files = write_config(&dir, "{}");
    let checked = run(with_configs(&mut mxauth(), &files[..1]).args(["config", "check"]));
    assert_eq!(checked.code, 0, "{}", checked.stderr);
    assert!(
        checked
            .stderr
            .contains("warning: http.listeners[0].resources[4]: the graphql resource is not built"),
        "{}",
        checked.stderr
    );
    assert!(
        checked.stderr.contains("4 signing key(s)"),
        "{}",
        checked.stderr
    );
}

#[test]
fn unknown_key_fails_and_names_it() {
    let checked = check_with(
        "unknown-key",
        "http:\n  listeners:\n    - resources: []\n      binds:\n        - bind: '[::]:1'\n",
    );
    assert_ne!(checked.code, 0);
    assert!(
        checked
            .stderr
            .contains("http.listeners[0].binds[0].bind: unknown field `bind`"),
        "{}",
        checked.stderr
    );
    assert_eq!(
        checked.stderr.lines().count(),
        1,
        "one line: {}",
        checked.stderr
    );
}

#[test]
fn secrets_from_files_are_read() {
    let dir = temp_dir("secret-files");
    std::fs::write(dir.join("matrix-secret"), "from-a-file\n").unwrap();
    let files = write_config(
        &dir,
        &format!(
            "matrix:\n  secret_file: {}\n",
            dir.join("matrix-secret").display()
        ),
    );
    // The sample has `secret` inline too: both at once is an error.
    let checked = run(with_configs(&mut mxauth(), &files).args(["config", "check"]));
    assert_ne!(checked.code, 0);
    assert!(
        checked
            .stderr
            .contains("matrix.secret: give either secret or secret_file, not both"),
        "{}",
        checked.stderr
    );

    let mut sample: serde_norway::Value = serde_norway::from_str(SAMPLE).unwrap();
    sample["matrix"].as_mapping_mut().unwrap().remove("secret");
    std::fs::write(&files[0], serde_norway::to_string(&sample).unwrap()).unwrap();
    let checked = run(with_configs(&mut mxauth(), &files).args(["config", "check"]));
    assert_eq!(checked.code, 0, "{}", checked.stderr);
    assert!(
        checked.stderr.contains("shared secret of 11 characters"),
        "{}",
        checked.stderr
    );

    std::fs::remove_file(dir.join("matrix-secret")).unwrap();
    let checked = run(with_configs(&mut mxauth(), &files).args(["config", "check"]));
    assert_ne!(checked.code, 0);
    assert!(
        checked.stderr.contains("matrix.secret_file: cannot read"),
        "{}",
        checked.stderr
    );
}

#[test]
fn dump_prints_the_merged_config_with_defaults() {
    let dir = temp_dir("dump");
    let files = write_config(&dir, "passwords:\n  minimum_complexity: 1\n");
    let dumped = run(with_configs(&mut mxauth(), &files).args(["config", "dump"]));
    assert_eq!(dumped.code, 0, "{}", dumped.stderr);
    let value: serde_norway::Value = serde_norway::from_str(&dumped.stdout).unwrap();
    assert_eq!(value["passwords"]["minimum_complexity"], 1);
    assert_eq!(value["experimental"]["access_token_ttl"], 300);
    assert_eq!(value["matrix"]["homeserver"], "localhost:8008");
}

#[test]
fn a_mas_environment_variable_overrides_the_file_in_dump() {
    let dir = temp_dir("dump-env");
    let files = write_config(&dir, "database:\n  uri: sqlite://from-file.db\n");
    let dumped = run(with_configs(&mut mxauth(), &files)
        .env("MAS_DATABASE_URI", "postgresql://env-host/mas")
        .env("MAS_HTTP_PUBLIC_BASE", "https://auth.example.com/")
        .args(["config", "dump"]));
    assert_eq!(dumped.code, 0, "{}", dumped.stderr);
    let value: serde_norway::Value = serde_norway::from_str(&dumped.stdout).unwrap();
    assert_eq!(value["database"]["uri"], "postgresql://env-host/mas");
    assert_eq!(value["http"]["public_base"], "https://auth.example.com/");
    // Each applied variable is named on standard error, never its value.
    assert!(
        dumped
            .stderr
            .contains("MAS_DATABASE_URI sets database.uri (from the environment)"),
        "{}",
        dumped.stderr
    );
    assert!(!dumped.stderr.contains("env-host"), "{}", dumped.stderr);
}

#[test]
fn check_refuses_policy_data_that_makes_no_policy_naming_the_key() {
    check_with(
        "check-policy-regex",
        "policy:\n  data:\n    registration:\n      banned_usernames:\n        regexes: [\"(\"]\n",
    )
    .failed()
    .says("policy.data: registration.banned_usernames.regexes: \"(\" is not a regex");
    check_with(
        "check-policy-typo",
        "policy:\n  data:\n    emails:\n      banned_address: {literals: [a@b.c]}\n",
    )
    .failed()
    .says("policy.data: emails.banned_address: unknown field `banned_address`, expected `allowed_addresses` or `banned_addresses`");
    // Keys of the operator's own are kept, and a valid policy passes
    // without a warning that it is not acted on.
    let fine = check_with(
        "check-policy-fine",
        "policy:\n  data:\n    admin_users: [alice]\n    my_own: {x: 1}\n    requester:\n      banned_ips: [\"192.0.2.0/24\"]\n",
    );
    fine.succeeded();
    assert!(!fine.stderr.contains("policy.data"), "{}", fine.stderr);
}
