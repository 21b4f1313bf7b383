//! The admin API against a real Synapse, as an admin's script drives it:
//! a `client_credentials` token of an admin client creates a user (the
//! homeserver is asked about the name), sets a password, adds an email,
//! creates a registration token and a personal access token, which then
//! works through Synapse (`whoami`); locking the user makes Synapse refuse
//! it, unlocking lets it back, revoking ends it. Also: no token, a token
//! without the admin scope, an expired personal token are refused.

use serde_json::{json, Value};

use crate::{support::*, synapse_peer::*};

const CLIENT_ID: &str = "01J8ADM1N5CR1PT0000000000A";
const CLIENT_SECRET: &str = "admin-script-secret";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_script_manages_a_user_whose_personal_token_works_through_synapse() {
    let Some(venv) = venv() else { return };
    let (synapse_port, proxy_port) = (free_port(), free_port());
    let dir = temp_dir("admin-api");
    let db = TestDatabase::sqlite(&dir);
    let server_name = format!("127.0.0.1:{proxy_port}");
    let extra = format!(
        "matrix:\n  homeserver: \"{server_name}\"\n  endpoint: \"http://127.0.0.1:{synapse_port}/\"\n  secret: {SECRET}\n\
         clients:\n  - client_id: {CLIENT_ID}\n    client_auth_method: client_secret_post\n    client_secret: {CLIENT_SECRET}\n\
         policy:\n  data:\n    admin_clients: [{CLIENT_ID}]\n"
    );
    let (files, mxauth_port) = server_config("admin-api", &db, &extra);
    let listeners = std::fs::read_to_string(&files[1]).unwrap().replace(
        "{name: health}]",
        "{name: health}, {name: compat}, {name: adminapi}]",
    );
    std::fs::write(&files[1], listeners).unwrap();
    assert_eq!(
        run(with_configs(&mut mxauth(), &files).args(["database", "migrate"])).code,
        0
    );
    let mut synapse = Synapse::configure(venv, synapse_port, mxauth_port, proxy_port);
    let _server = start_server(files.clone(), mxauth_port);
    synapse.start().await;
    start_proxy(proxy_port, synapse_port, mxauth_port).await;
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{mxauth_port}");
    let v1 = format!("{base}/api/admin/v1");
    let whoami = format!("http://127.0.0.1:{proxy_port}/_matrix/client/v3/account/whoami");

    // No token, a wrong one: 401.
    assert_eq!(
        call(&http, "GET", &format!("{v1}/users"), None, None)
            .await
            .0,
        401
    );
    assert_eq!(
        call(&http, "GET", &format!("{v1}/users"), Some("mat_x"), None)
            .await
            .0,
        401
    );

    // The admin client's token.
    let answer = http
        .post(format!("{base}/oauth2/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "urn:mas:admin"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let admin: Value = serde_json::from_str(&answer.text().await.unwrap()).unwrap();
    let admin = admin["access_token"].as_str().unwrap().to_owned();
    let token = Some(admin.as_str());

    // Create bob: the homeserver is asked about the name (Synapse reserves
    // names starting with `_`).
    let (status, refused) = call(
        &http,
        "POST",
        &format!("{v1}/users"),
        token,
        Some(json!({"username": "_bot"})),
    )
    .await;
    assert_eq!(status, 409, "{refused}");
    let (status, bob) = call(
        &http,
        "POST",
        &format!("{v1}/users"),
        token,
        Some(json!({"username": "bob"})),
    )
    .await;
    assert_eq!(status, 201, "{bob}");
    let bob = bob["data"]["id"].as_str().unwrap().to_owned();
    assert!(provisioned(&http, synapse_port, "bob").await);
    let (status, _) = call(
        &http,
        "POST",
        &format!("{v1}/users/{bob}/set-password"),
        token,
        Some(json!({"password": "correct horse battery staple"})),
    )
    .await;
    assert_eq!(status, 204);
    let (status, email) = call(
        &http,
        "POST",
        &format!("{v1}/user-emails"),
        token,
        Some(json!({"user_id": bob, "email": "bob@example.org"})),
    )
    .await;
    assert_eq!(status, 201, "{email}");
    let (status, reg) = call(
        &http,
        "POST",
        &format!("{v1}/user-registration-tokens"),
        token,
        Some(json!({"usage_limit": 3})),
    )
    .await;
    assert_eq!(status, 201, "{reg}");
    assert_eq!(reg["data"]["attributes"]["valid"], true);

    // A personal access token for bob, used through Synapse.
    let (status, pat) = call(&http, "POST", &format!("{v1}/personal-sessions"), token,
        Some(json!({"actor_user_id": bob, "human_name": "bob's bot", "scope": "urn:matrix:client:api:*"}))).await;
    assert_eq!(status, 201, "{pat}");
    let session = pat["data"]["id"].as_str().unwrap().to_owned();
    let pat = pat["data"]["attributes"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, me) = call(&http, "GET", &whoami, Some(&pat), None).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["user_id"], format!("@bob:{server_name}"));
    // It is no admin token.
    assert_eq!(
        call(&http, "GET", &format!("{v1}/users"), Some(&pat), None)
            .await
            .0,
        403
    );

    // Synapse caches each introspection answer for two minutes (its
    // ResponseCache; MAS behaves the same), so each check below uses a
    // token Synapse has not seen yet: issued now, used after the change.
    let issue = async |name: &str| {
        let (status, pat) = call(&http, "POST", &format!("{v1}/personal-sessions"), token,
            Some(json!({"actor_user_id": bob, "human_name": name, "scope": "urn:matrix:client:api:*"}))).await;
        assert_eq!(status, 201, "{pat}");
        (
            pat["data"]["id"].as_str().unwrap().to_owned(),
            pat["data"]["attributes"]["access_token"]
                .as_str()
                .unwrap()
                .to_owned(),
        )
    };
    let (_, while_locked) = issue("used while locked").await;
    let (_, after_unlock) = issue("used after unlocking").await;
    let (revoked_id, revoked) = issue("revoked").await;

    // Locked: Synapse refuses bob's token; unlocked: it takes it.
    let (status, _) = call(
        &http,
        "POST",
        &format!("{v1}/users/{bob}/lock"),
        token,
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        call(&http, "GET", &whoami, Some(&while_locked), None)
            .await
            .0,
        401
    );
    let (status, _) = call(
        &http,
        "POST",
        &format!("{v1}/users/{bob}/unlock"),
        token,
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        call(&http, "GET", &whoami, Some(&after_unlock), None)
            .await
            .0,
        200
    );

    // Revoked: Synapse refuses it.
    let (status, _) = call(
        &http,
        "POST",
        &format!("{v1}/personal-sessions/{revoked_id}/revoke"),
        token,
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        call(&http, "GET", &whoami, Some(&revoked), None).await.0,
        401
    );
    // The first token, revoked too, is inactive at once for mxauth (Synapse
    // follows when its cached answer expires).
    let (status, _) = call(
        &http,
        "POST",
        &format!("{v1}/personal-sessions/{session}/revoke"),
        token,
        None,
    )
    .await;
    assert_eq!(status, 200);
    let introspected: Value = http
        .post(format!("{base}/oauth2/introspect"))
        .bearer_auth(SECRET)
        .form(&[("token", pat.as_str())])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap();
    assert_eq!(introspected["active"], false, "{introspected}");
    // An expired token is refused.
    let (_, short) = call(&http, "POST", &format!("{v1}/personal-sessions"), token,
        Some(json!({"actor_user_id": bob, "human_name": "short", "scope": "urn:matrix:client:api:*", "expires_in": 1}))).await;
    let short = short["data"]["attributes"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(call(&http, "GET", &whoami, Some(&short), None).await.0, 401);

    // The audit trail names the client for each change to bob.
    let (_, trail) = call(
        &http,
        "GET",
        &format!("{v1}/audit-log?filter[target]={bob}"),
        token,
        None,
    )
    .await;
    let actions: Vec<&str> = trail["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["attributes"]["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "add_user",
            "set_password",
            "add_email",
            "lock_user",
            "unlock_user"
        ],
        "{trail}"
    );
}
