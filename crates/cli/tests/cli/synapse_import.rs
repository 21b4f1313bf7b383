//! `config generate --synapse-config`: a configuration made from Synapse's
//! passes `config check`, carries Synapse's providers with their
//! `synapse_idp_id`, and `syn2mas` then links Synapse's SSO users to them
//! without `--upstream-provider-mapping`, while Synapse's peppered hashes
//! verify under scheme 1 and are upgraded to scheme 2.

use std::path::{Path, PathBuf};

use mxauth_config::{RootConfig, UpstreamProviderConfig};
use mxauth_server::passwords::{Algorithm, PasswordManager, Scheme};

use crate::{support::*, synapse_peer::venv};

const HOMESERVER: &str = include_str!("../fixtures/synapse-homeserver.yaml");

/// Writes the fixture (with `extra` appended) and a second file that
/// overrides one key, as `-s` twice would be used.
fn synapse_files(dir: &Path, extra: &str) -> Vec<PathBuf> {
    let main = dir.join("homeserver.yaml");
    std::fs::write(&main, format!("{HOMESERVER}{extra}")).unwrap();
    let more = dir.join("conf.d.yaml");
    std::fs::write(&more, "enable_set_displayname: false\n").unwrap();
    vec![main, more]
}

/// `config generate -s … -o mxauth.yaml` in `dir`.
fn generate(dir: &Path, synapse: &[PathBuf]) -> (Run, RootConfig) {
    let mut command = mxauth();
    command
        .current_dir(dir)
        .args(["config", "generate", "-o", "mxauth.yaml"]);
    for file in synapse {
        command.arg("-s").arg(file);
    }
    let generated = run(&mut command);
    generated.succeeded();
    let text = std::fs::read_to_string(dir.join("mxauth.yaml")).unwrap();
    (generated, serde_norway::from_str(&text).unwrap())
}

fn provider<'a>(config: &'a RootConfig, synapse_idp_id: &str) -> &'a UpstreamProviderConfig {
    config
        .upstream_oauth2
        .providers
        .iter()
        .find(|p| p.synapse_idp_id.as_deref() == Some(synapse_idp_id))
        .unwrap_or_else(|| panic!("no provider for {synapse_idp_id}"))
}

#[test]
fn generated_from_synapse_passes_check_with_its_providers() {
    let dir = temp_dir("generate-synapse");
    let (generated, config) = generate(&dir, &synapse_files(&dir, ""));

    assert_eq!(config.matrix.homeserver, "example.com");
    assert_eq!(
        config.matrix.endpoint.as_str(),
        "https://matrix.example.com/"
    );
    let schemes = &config.passwords.schemes;
    assert_eq!(schemes.len(), 2);
    assert_eq!(schemes[0].version, 1);
    assert_eq!(schemes[0].secret.as_deref(), Some("pepper-s3cret"));
    assert!(schemes[0].unicode_normalization);
    assert_eq!(schemes[1].version, 2);
    assert!(!config.account.email_change_allowed);
    // From the second file.
    assert!(!config.account.displayname_change_allowed);

    let keycloak = provider(&config, "oidc-keycloak");
    assert_eq!(keycloak.discovery_mode, None);
    assert_eq!(keycloak.scope.as_deref(), Some("openid profile email"));
    assert_eq!(keycloak.token_endpoint_auth_method, "client_secret_basic");
    let test = provider(&config, "oidc-test");
    assert_eq!(test.discovery_mode.as_deref(), Some("disabled"));
    assert_eq!(test.jwks_uri.as_deref(), Some("http://127.0.0.1:3000/jwks"));
    assert_eq!(test.token_endpoint_auth_method, "client_secret_post");
    assert!(test.fetch_userinfo);
    let localpart = test.claims_imports.localpart.as_ref().unwrap();
    assert_eq!(
        localpart.template.as_deref(),
        Some("{{ user.email | split('@') | first }}")
    );
    assert_eq!(localpart.action.as_deref(), Some("require"));
    assert_ne!(keycloak.id, test.id);

    // The summary names what came and what did not, never a secret.
    generated
        .says("upstream_oauth2.providers[1]: oidc_providers[1], id ")
        .says("synapse_idp_id oidc-test")
        .says("warning: oidc_providers[0] (oidc-keycloak): attribute_requirements cannot be converted");
    for secret in ["pepper-s3cret", "keycloak-s3cret", "test-s3cret"] {
        assert!(!generated.stderr.contains(secret), "{}", generated.stderr);
    }

    run(mxauth()
        .current_dir(&dir)
        .args(["-c", "mxauth.yaml", "config", "check"]))
    .succeeded()
    .says("Configuration is valid")
    .says("homeserver example.com");

    // A Synapse config without server_name is refused, naming the key.
    let bad = dir.join("bad.yaml");
    std::fs::write(&bad, "public_baseurl: https://x/\n").unwrap();
    run(mxauth().args(["config", "generate", "-s"]).arg(&bad))
        .failed()
        .says("server_name");
}

/// Synapse's schema and users (a real Synapse builds the schema), then the
/// generated configuration: `syn2mas` maps `oidc-test` by itself and its
/// users get links to the generated provider; passwords verify and upgrade.
#[tokio::test]
async fn syn2mas_links_users_to_the_generated_providers() {
    let Some(venv) = venv() else { return };
    let dir = temp_dir("generate-syn2mas");
    let synapse_db = dir.join("homeserver.db");
    let generator = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../bench/syn2mas/generate_synapse_db.py");
    let built = std::process::Command::new(venv.join("bin/python"))
        .arg(generator)
        .arg("--sqlite")
        .arg(&synapse_db)
        .args(["--force", "--server-name", "example.com", "--users", "20"])
        .args(["--external-ids", "4", "--emails", "3", "--msisdns", "0"])
        .args([
            "--appservice-users",
            "0",
            "--guests",
            "0",
            "--devices-per-user",
            "1",
        ])
        .args(["--pepper", "pepper-s3cret", "--bcrypt-rounds", "4"])
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let synapse = synapse_files(
        &dir,
        &format!(
            "database:\n  name: sqlite3\n  args:\n    database: {}\n",
            synapse_db.display()
        ),
    );
    let (_, config) = generate(&dir, &synapse);
    let test_provider: ulid::Ulid = provider(&config, "oidc-test").id.parse().unwrap();

    let syn2mas = |args: &[&str]| {
        let mut command = mxauth();
        command
            .current_dir(&dir)
            .args(["-c", "mxauth.yaml", "syn2mas"]);
        for file in &synapse {
            command.arg("--synapse-config").arg(file);
        }
        run(command.args(args))
    };
    let checked = syn2mas(&["check"]);
    assert!(
        checked.code == 0 || checked.code == 11,
        "{}",
        checked.stderr
    );
    assert!(!checked.stderr.contains("error:"), "{}", checked.stderr);
    syn2mas(&["migrate", "--accept-warnings"]).succeeded();

    let db = TestDatabase::Sqlite(format!("sqlite://{}", dir.join("mxauth.db").display()));
    let database = db.open().await;
    let mut read = database.read().await.unwrap();
    // The generator links user0, user5, user10 and user15 as sub-0, sub-5…
    for i in [0, 5, 10, 15] {
        let link = read
            .upstream_links()
            .find_by_subject(test_provider, &format!("sub-{i}"))
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no link for sub-{i}"));
        let user = read
            .users()
            .find_by_id(link.user_id.unwrap())
            .await
            .unwrap();
        assert_eq!(user.unwrap().username, format!("user{i}"));
    }

    // user3's Synapse password verifies under scheme 1 and is re-hashed
    // with scheme 2, with the peppers of the generated configuration.
    let user3 = read
        .users()
        .find_by_username("user3")
        .await
        .unwrap()
        .unwrap();
    let stored = read.user_passwords().active(&user3).await.unwrap().unwrap();
    assert_eq!(stored.version, 1);
    drop(read);
    database.close().await;
    let schemes = config
        .passwords
        .schemes
        .iter()
        .map(|s| Scheme {
            version: s.version,
            algorithm: match s.version {
                1 => Algorithm::Bcrypt,
                _ => Algorithm::Argon2id,
            },
            cost: s.cost,
            pepper: s.secret.clone().map(String::into_bytes),
            unicode_normalization: s.unicode_normalization,
        })
        .collect();
    let passwords = PasswordManager::new(schemes, 0, 1);
    let upgraded = passwords
        .verify(1, "password-3".into(), stored.hashed_password.clone())
        .await
        .expect("Synapse's hash verifies");
    assert_eq!(upgraded.map(|(version, _)| version), Some(2));
    assert!(passwords
        .verify(1, "password-4".into(), stored.hashed_password)
        .await
        .is_err());
}
