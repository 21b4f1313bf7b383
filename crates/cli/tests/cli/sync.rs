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
