//! A real Matrix client library, matrix-sdk 0.18 (the SDK Element X is
//! built on), against a real Synapse delegating to mxauth.
//!
//! - OAuth: the SDK discovers mxauth through Synapse (MSC2965
//!   `auth_metadata`), registers itself (MSC2966), sends the user through
//!   mxauth's login and consent pages with PKCE, then calls whoami and sends
//!   a message through Synapse, refreshes, and logs out; Synapse then refuses
//!   its token.
//! - Legacy: the same SDK logs in with `m.login.password` through the
//!   compatibility layer as a bot would, uploads device keys, logs in again
//!   with the same device, and after the background jobs have run the keys
//!   are still there.
//!
//! mxauth serves its public side over HTTPS (a self-signed certificate the
//! SDK is told to trust): the SDK refuses to revoke tokens over plain HTTP.

use matrix_sdk::{
    authentication::oauth::registration::{
        ApplicationType, ClientMetadata, Localized, OAuthGrantType,
    },
    ruma::{
        api::client::{
            keys::{get_keys, upload_keys},
            room::create_room,
        },
        events::room::message::RoomMessageEventContent,
        serde::Raw,
        OwnedDeviceId, UserId,
    },
    Client,
};
use serde_json::json;

use crate::{support::*, synapse_peer::*};

const PASSWORD: &str = "correct horse battery staple";

/// Jobs not yet done in mxauth's queue.
async fn unfinished_jobs(db: &TestDatabase) -> i64 {
    let database = db.open().await;
    let count = match &database {
        mxauth_storage::Database::Sqlite(pool, _) => sqlx::query_scalar(
            "SELECT COUNT(*) FROM queue_jobs WHERE status IN ('available', 'running')",
        )
        .fetch_one(pool)
        .await
        .unwrap(),
        mxauth_storage::Database::Postgres(..) => unreachable!("this test runs on SQLite"),
    };
    database.close().await;
    count
}

async fn sdk_client(public: &str, certificate: &std::path::Path) -> Client {
    let certificate =
        matrix_sdk::reqwest::Certificate::from_pem(&std::fs::read(certificate).unwrap()).unwrap();
    Client::builder()
        .homeserver_url(public)
        .add_root_certificates(vec![certificate])
        .build()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matrix_sdk_logs_in_through_synapse() {
    let Some(venv) = venv() else { return };
    let dir = temp_dir("matrix-sdk");
    let (certificate, key) = self_signed_certificate(&dir);
    let (synapse_port, proxy_port, tls_port) = (free_port(), free_port(), free_port());
    let db = TestDatabase::sqlite(&dir);
    let server_name = format!("127.0.0.1:{proxy_port}");
    // The public side is HTTPS; Synapse and the homeserver's proxy reach
    // mxauth on a plain internal listener, as deployments commonly do.
    let (files, mxauth_port) = server_config(
        "matrix-sdk",
        &db,
        &format!(
            "http:\n  public_base: \"https://127.0.0.1:{tls_port}/\"\n  issuer: \"https://127.0.0.1:{tls_port}/\"\n  listeners:\n    - name: public\n      resources: [{{name: discovery}}, {{name: human}}, {{name: oauth}}, {{name: compat}}]\n      binds: [{{address: \"127.0.0.1:{tls_port}\"}}]\n      tls: {{certificate_file: \"{}\", key_file: \"{}\"}}\n    - name: internal\n      resources: [{{name: discovery}}, {{name: human}}, {{name: oauth}}, {{name: compat}}, {{name: health}}]\n      binds: [{{address: \"127.0.0.1:MXAUTH_PORT\"}}]\nmatrix:\n  homeserver: \"{server_name}\"\n  endpoint: \"http://127.0.0.1:{synapse_port}/\"\n  secret: {SECRET}\n",
            certificate.display(),
            key.display()
        ),
    );
    let extra = std::fs::read_to_string(&files[2])
        .unwrap()
        .replace("MXAUTH_PORT", &mxauth_port.to_string());
    std::fs::write(&files[2], extra).unwrap();
    // Synapse is not started yet; the worker provisions alice once it is.
    migrate_and_register(&files, "alice", PASSWORD, &["--ignore-homeserver-check"]);
    let mut synapse = Synapse::configure(venv, synapse_port, mxauth_port, proxy_port);
    let _mxauth = start_server(files.clone(), mxauth_port);
    synapse.start().await;
    start_proxy(proxy_port, synapse_port, mxauth_port).await;
    let public = format!("http://127.0.0.1:{proxy_port}");
    let http = reqwest::Client::new();
    assert!(
        provisioned(&http, synapse_port, "alice").await,
        "alice was not provisioned"
    );
    let user_id = UserId::parse(format!("@alice:{server_name}")).unwrap();

    // --- OAuth 2.0 (MSC3861): discovery through Synapse, registration,
    // authorization code with PKCE through mxauth's pages.
    let client = sdk_client(&public, &certificate).await;
    let metadata = client
        .oauth()
        .server_metadata()
        .await
        .expect("MSC2965 discovery through Synapse");
    assert_eq!(
        metadata.issuer.as_str(),
        format!("https://127.0.0.1:{tls_port}/")
    );
    let redirect_uri = url::Url::parse("http://127.0.0.1:1/callback").unwrap();
    let client_metadata = ClientMetadata::new(
        ApplicationType::Native,
        vec![OAuthGrantType::AuthorizationCode {
            redirect_uris: vec![redirect_uri.clone()],
        }],
        Localized::new(
            url::Url::parse("https://sdk-client.example.org/").unwrap(),
            [],
        ),
    );
    let authorization = client
        .oauth()
        .login(
            redirect_uri,
            None,
            Some(Raw::new(&client_metadata).unwrap().into()),
            None,
        )
        .build()
        .await
        .expect("dynamic client registration and the authorization URL");
    let url = authorization.url.to_string();
    assert!(
        url.starts_with(&format!("https://127.0.0.1:{tls_port}/")),
        "{url}"
    );
    assert!(url.contains("code_challenge_method=S256"), "PKCE: {url}");
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .add_root_certificate(
            reqwest::Certificate::from_pem(&std::fs::read(&certificate).unwrap()).unwrap(),
        )
        .build()
        .unwrap();
    let (back, _) = log_in_and_allow(&browser, &url, "alice", PASSWORD).await;
    client
        .oauth()
        .finish_login(back.into())
        .await
        .expect("code exchange");
    let me = client.whoami().await.expect("whoami through Synapse");
    assert_eq!(me.user_id, user_id);
    let device = me.device_id.expect("an OAuth session has a device");
    assert_eq!(client.device_id(), Some(device.as_ref()));

    let room = client
        .create_room(create_room::v3::Request::new())
        .await
        .expect("createRoom through Synapse");
    room.send(RoomMessageEventContent::text_plain("hello from matrix-sdk"))
        .await
        .expect("a message through Synapse");

    let before = client.access_token().unwrap();
    client
        .oauth()
        .refresh_access_token()
        .await
        .expect("refresh");
    let after = client.access_token().unwrap();
    assert_ne!(before, after, "refresh gives a new access token");
    assert_eq!(
        client.whoami().await.unwrap().device_id,
        Some(device.clone())
    );

    client.oauth().logout().await.expect("logout (revocation)");
    let whoami = format!("{public}/_matrix/client/v3/account/whoami");
    assert!(
        eventually(20, async || call(&http, "GET", &whoami, Some(&after), None)
            .await
            .0
            == 401)
        .await,
        "Synapse still accepts the token after logout"
    );

    // --- The legacy API: a bot logs in with a password, uploads keys, and
    // logs in again with the same device.
    let bot_device: OwnedDeviceId = "SDKBOTDEVICE".into();
    let bot = sdk_client(&public, &certificate).await;
    bot.matrix_auth()
        .login_username("alice", PASSWORD)
        .device_id(bot_device.as_str())
        .initial_device_display_name("sdk bot")
        .await
        .expect("m.login.password through the compatibility layer");
    assert_eq!(bot.device_id(), Some(bot_device.as_ref()));
    let first_token = bot.access_token().unwrap();
    assert!(first_token.starts_with("mct_"), "{first_token}");
    let mut upload = upload_keys::v3::Request::new();
    upload.device_keys = Some(Raw::from_json(
        serde_json::value::to_raw_value(&json!({
            "user_id": user_id, "device_id": bot_device,
            "algorithms": ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
            "keys": {format!("curve25519:{bot_device}"): "Y3VydmUyNTUxOWtleWZyb21zZGs",
                     format!("ed25519:{bot_device}"): "ZWQyNTUxOWtleWZyb21zZGs"},
            "signatures": {}
        }))
        .unwrap(),
    ));
    bot.send(upload).await.expect("keys upload");

    let restarted = sdk_client(&public, &certificate).await;
    restarted
        .matrix_auth()
        .login_username("alice", PASSWORD)
        .device_id(bot_device.as_str())
        .await
        .expect("the second login");
    assert_eq!(restarted.device_id(), Some(bot_device.as_ref()));
    assert!(
        eventually(30, async || unfinished_jobs(&db).await == 0).await,
        "the background jobs did not finish"
    );
    let mut query = get_keys::v3::Request::new();
    query.device_keys.insert(user_id.clone(), vec![]);
    let found = restarted.send(query).await.expect("keys query");
    let keys = found
        .device_keys
        .get(&user_id)
        .and_then(|devices| devices.get(&bot_device))
        .expect("the bot's device keys survive the second login")
        .json()
        .get()
        .to_owned();
    assert!(keys.contains("ZWQyNTUxOWtleWZyb21zZGs"), "{keys}");
    // The replaced session is over at mxauth (Synapse may cache it for up
    // to two minutes, see docs/compat.md).
    let introspected =
        introspect_as_synapse(&format!("http://127.0.0.1:{mxauth_port}"), &first_token).await;
    assert_eq!(introspected["active"], false, "{introspected}");
    assert_eq!(
        restarted.whoami().await.unwrap().device_id,
        Some(bot_device)
    );
}
