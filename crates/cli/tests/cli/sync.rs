//! `config sync` and the static clients of the configuration file.

use crate::support::*;

const CLIENT_ID: &str = "01JSYNC0000000000000000000";

#[tokio::test]
async fn static_clients_are_synced_pruned_and_usable() {
    let dir = temp_dir("sync");
    let db = TestDatabase::sqlite(&dir);
    let secret_file = dir.join("client-secret");
    std::fs::write(&secret_file, "s3cret-from-a-file\n").unwrap();
    let client_yaml = format!(
        "clients:\n  - client_id: {CLIENT_ID}\n    client_auth_method: client_secret_post\n    client_secret_file: {}\n    redirect_uris: [\"https://app.example.com/cb\"]\npolicy:\n  data:\n    admin_clients: [{CLIENT_ID}]\n",
        secret_file.display()
    );
    let (files, port) = server_config("sync", &db, &client_yaml);
    assert_eq!(
        run(with_configs(&mut mxauth(), &files).args(["database", "migrate"])).code,
        0
    );

    let dry = run(with_configs(&mut mxauth(), &files).args(["config", "sync", "--dry-run"]));
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert!(
        dry.stderr.contains("1 static client(s) would be written"),
        "{}",
        dry.stderr
    );
    let database = db.open().await;
    let mut repo = database.begin().await.unwrap();
    assert!(
        repo.oauth2_clients()
            .list_static()
            .await
            .unwrap()
            .is_empty(),
        "a dry run writes nothing"
    );
    repo.rollback().await.unwrap();

    let synced = run(with_configs(&mut mxauth(), &files).args(["config", "sync"]));
    assert!(
        synced.stderr.contains("1 static client(s) were written"),
        "{}",
        synced.stderr
    );
    let mut repo = database.begin().await.unwrap();
    let clients = repo.oauth2_clients().list_static().await.unwrap();
    assert_eq!(clients.len(), 1);
    let sealed = clients[0].encrypted_client_secret.clone().unwrap();
    assert!(
        !sealed.contains("s3cret"),
        "client secrets are stored encrypted"
    );
    repo.rollback().await.unwrap();

    // The server uses the synced client; the secret file's newline is trimmed.
    let server = start_server(files.clone(), port);
    let response = reqwest::Client::new()
        .post(format!("{}oauth2/token", server.base()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "urn:mas:admin"),
            ("client_id", CLIENT_ID),
            ("client_secret", "s3cret-from-a-file"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    drop(server);

    // Gone from the file: reported, and removed with --prune.
    std::fs::write(files.last().unwrap(), "{}").unwrap();
    let stale = run(with_configs(&mut mxauth(), &files).args(["config", "sync"]));
    assert!(
        stale.stderr.contains(&format!(
            "Client {CLIENT_ID} is no longer in the configuration"
        )),
        "{}",
        stale.stderr
    );
    let pruned = run(with_configs(&mut mxauth(), &files).args(["config", "sync", "--prune"]));
    assert!(
        pruned
            .stderr
            .contains(&format!("Client {CLIENT_ID} was removed")),
        "{}",
        pruned.stderr
    );
    let mut repo = database.begin().await.unwrap();
    assert!(repo
        .oauth2_clients()
        .list_static()
        .await
        .unwrap()
        .is_empty());
    repo.rollback().await.unwrap();
    database.close().await;
}

const KEYCLOAK: &str = "01JSYNCKEYC0AK00000000000A";
const GOOGLE: &str = "01JSYNCG00G1E0000000000000";

#[tokio::test]
async fn upstream_providers_are_synced_in_order_disabled_and_pruned() {
    let dir = temp_dir("sync-upstream");
    let db = TestDatabase::sqlite(&dir);
    let secret_file = dir.join("keycloak-secret");
    std::fs::write(&secret_file, "kc-s3cret\n").unwrap();
    let providers = format!(
        "upstream_oauth2:\n  providers:\n    - id: {KEYCLOAK}\n      issuer: https://sso.example.com/realms/matrix\n      human_name: Keycloak\n      synapse_idp_id: oidc-keycloak\n      client_id: matrix\n      client_secret_file: {}\n      token_endpoint_auth_method: client_secret_basic\n      scope: openid profile email\n    - id: {GOOGLE}\n      issuer: https://accounts.google.com/\n      brand_name: google\n      client_id: g-client\n      client_secret: g-s3cret\n      token_endpoint_auth_method: client_secret_post\n",
        secret_file.display()
    );
    let (files, _port) = server_config("sync-upstream", &db, &providers);
    assert_eq!(
        run(with_configs(&mut mxauth(), &files).args(["database", "migrate"])).code,
        0
    );
    let synced = run(with_configs(&mut mxauth(), &files).args(["config", "sync"]));
    assert_eq!(synced.code, 0, "{}", synced.stderr);
    assert!(
        synced
            .stderr
            .contains("2 upstream provider(s) were written"),
        "{}",
        synced.stderr
    );
    let database = db.open().await;
    let mut read = database.read().await.unwrap();
    let stored = read.upstream_providers().list().await.unwrap();
    drop(read);
    let ids: Vec<String> = stored.iter().map(|p| p.id.to_string()).collect();
    assert_eq!(ids, [KEYCLOAK, GOOGLE], "the file's order");
    let keycloak = &stored[0];
    assert!(keycloak.enabled);
    assert_eq!(keycloak.synapse_idp_id.as_deref(), Some("oidc-keycloak"));
    let sealed = keycloak.encrypted_client_secret.as_deref().unwrap();
    assert!(!sealed.contains("kc-s3cret"), "secrets are sealed");
    for provider in &stored {
        assert!(
            !provider.settings.contains("s3cret") && !provider.settings.contains("secret_file"),
            "no secret or secret path in the settings: {}",
            provider.settings
        );
    }
    let settings: serde_json::Value = serde_json::from_str(&keycloak.settings).unwrap();
    assert_eq!(settings["scope"], "openid profile email");

    // Keycloak leaves the file: disabled, not deleted; --prune deletes it.
    let google_block = &providers[providers.find(&format!("    - id: {GOOGLE}")).unwrap()..];
    let only_google = format!("upstream_oauth2:\n  providers:\n{google_block}");
    std::fs::write(files.last().unwrap(), &only_google).unwrap();
    let stale = run(with_configs(&mut mxauth(), &files).args(["config", "sync"]));
    assert!(
        stale.stderr.contains(&format!(
            "Upstream provider {KEYCLOAK} is no longer in the configuration and was disabled"
        )),
        "{}",
        stale.stderr
    );
    let mut read = database.read().await.unwrap();
    let kept = read
        .upstream_providers()
        .find(KEYCLOAK.parse().unwrap())
        .await
        .unwrap();
    assert!(!kept.unwrap().enabled);
    drop(read);
    let pruned = run(with_configs(&mut mxauth(), &files).args(["config", "sync", "--prune"]));
    assert_eq!(pruned.code, 0, "{}", pruned.stderr);
    let mut read = database.read().await.unwrap();
    let left: Vec<String> = read
        .upstream_providers()
        .list()
        .await
        .unwrap()
        .iter()
        .map(|p| p.id.to_string())
        .collect();
    assert_eq!(left, [GOOGLE]);
    drop(read);
    database.close().await;
}
