//! A person who signed in to Synapse through an OpenID provider reaches the
//! same account through mxauth after `mxauth syn2mas migrate`, end to end: a
//! real Synapse signs carol in through the real OP of op_peer.rs (Synapse
//! records the OP's `sub` in `user_external_ids` under `oidc-testop`), the
//! import turns that into a link to mxauth's provider (found by its
//! `synapse_idp_id`, or by `--upstream-provider-mapping`), and carol signs
//! in to mxauth through the same OP in headless Chromium without
//! registering again.

use std::collections::HashMap;

use serde_json::json;

use crate::{
    op_peer::{OpOptions, OpenIdProvider},
    support::*,
    syn2mas::syn2mas,
    synapse_peer::*,
    upstream_flow::*,
    webdriver::Browser,
};

/// Synapse's `idp_id`; its users' `user_external_ids` say `oidc-testop`.
const SYNAPSE_IDP: &str = "testop";
const AUTH_PROVIDER: &str = "oidc-testop";

/// How mxauth learns which of its providers Synapse's `oidc-testop` is.
#[derive(Clone, Copy, Debug)]
enum Mapping {
    /// The provider says `synapse_idp_id: oidc-testop`.
    SynapseIdpId,
    /// `--upstream-provider-mapping oidc-testop:<ULID>`; the provider has
    /// no `synapse_idp_id`.
    Flag,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn synapse_oidc_user_reaches_the_same_account_after_syn2mas() {
    let Some(venv) = venv() else { return };
    // The OP keeps its port, so its issuer, across its restarts: for
    // Synapse before the migration and for mxauth after, it is one provider.
    let (synapse_port, op_port) = (free_port(), free_port());
    let Some(synapse) = synapse_era(venv, synapse_port, op_port).await else {
        return;
    };
    for mapping in [Mapping::SynapseIdpId, Mapping::Flag] {
        after_migration(&synapse, synapse_port, op_port, mapping).await;
    }
}

/// Synapse on its own with the OP as its OIDC provider; carol signs in
/// through it in Chromium, which makes her account. Returns the stopped
/// Synapse, whose database is the source of the migration; `None` (the
/// test skips) when the OP or Chromium cannot run here.
async fn synapse_era(venv: std::path::PathBuf, port: u16, op_port: u16) -> Option<Synapse> {
    let op = OpenIdProvider::start(OpOptions {
        port: op_port,
        client_secret: CLIENT_SECRET.into(),
        redirect_uris: vec![format!(
            "http://127.0.0.1:{port}/_synapse/client/oidc/callback"
        )],
        user: "carol".into(),
        ..OpOptions::default()
    })
    .await?;
    let browser = Browser::start().await?;
    // Nothing of mxauth's runs yet; the port it names is not used.
    let mut synapse = Synapse::configure(venv, port, free_port(), port);
    synapse.stand_alone();
    let client_done = format!("{}/sso-done", client_page().await);
    // Synapse's own OIDC login (its `oidc_providers` schema), the only way
    // in (so syn2mas needs no password scheme); the client's address is
    // whitelisted, so Synapse skips its "Continue to …" page.
    synapse.add_config(&format!(
        "password_config:
  enabled: false
oidc_providers:
  - idp_id: {SYNAPSE_IDP}
    idp_name: Test OP
    issuer: \"{}\"
    client_id: mas
    client_secret: \"{CLIENT_SECRET}\"
    client_auth_method: client_secret_basic
    scopes: [openid, profile, email]
    skip_verification: true
    user_mapping_provider:
      config:
        localpart_template: \"{{{{ user.preferred_username }}}}\"
        display_name_template: \"{{{{ user.name }}}}\"
sso:
  client_whitelist: [\"{client_done}\"]
",
        op.issuer()
    ));
    synapse.start().await;
    let direct = format!("http://127.0.0.1:{port}");
    browser
        .goto(&format!(
            "{direct}/_matrix/client/v3/login/sso/redirect/{AUTH_PROVIDER}?redirectUrl={}",
            url::form_urlencoded::byte_serialize(client_done.as_bytes()).collect::<String>()
        ))
        .await;
    let back = browser.wait_for_url(|u| u.starts_with(&client_done)).await;
    let back = url::Url::parse(&back).unwrap();
    let params: HashMap<_, _> = back.query_pairs().into_owned().collect();
    let login_token = params
        .get("loginToken")
        .unwrap_or_else(|| panic!("Synapse gave no loginToken: {back}"));
    let http = reqwest::Client::new();
    let (status, login) = call(
        &http,
        "POST",
        &format!("{direct}/_matrix/client/v3/login"),
        None,
        Some(json!({"type": "m.login.token", "token": login_token})),
    )
    .await;
    assert_eq!(status, 200, "{login}");
    assert_eq!(
        login["user_id"],
        format!("@carol:127.0.0.1:{port}"),
        "{login}"
    );
    browser.quit().await;
    synapse.stop();
    drop(op);

    // What Synapse recorded: the OP's subject for carol (op.mjs uses the
    // account id as `sub`), under its name for the provider.
    let external_ids: Vec<(String, String, String)> = {
        let uri = format!(
            "sqlite://{}?mode=ro",
            synapse.dir.join("homeserver.db").display()
        );
        let pool = sqlx::SqlitePool::connect(&uri).await.unwrap();
        let rows =
            sqlx::query_as("SELECT auth_provider, external_id, user_id FROM user_external_ids")
                .fetch_all(&pool)
                .await
                .unwrap();
        pool.close().await;
        rows
    };
    assert_eq!(
        external_ids,
        [(
            AUTH_PROVIDER.to_owned(),
            "carol".to_owned(),
            format!("@carol:127.0.0.1:{port}")
        )]
    );
    Some(synapse)
}

/// Imports the stopped Synapse into a fresh mxauth whose provider is the
/// same OP, starts mxauth, and has carol sign in there through the OP.
async fn after_migration(synapse: &Synapse, synapse_port: u16, op_port: u16, mapping: Mapping) {
    let name = match mapping {
        Mapping::SynapseIdpId => "upstream-syn2mas-idp-id",
        Mapping::Flag => "upstream-syn2mas-flag",
    };
    let scenario = Scenario {
        name,
        op_user: "carol",
        synapse_idp_id: match mapping {
            Mapping::SynapseIdpId => Some(AUTH_PROVIDER),
            Mapping::Flag => None,
        },
        op_port: Some(op_port),
        server_name: Some(format!("127.0.0.1:{synapse_port}")),
        ..Scenario::default()
    };
    let prepared = Setup::prepare(scenario, TestDatabase::sqlite(&temp_dir(name)))
        .await
        .expect("the OP ran a moment ago");
    let flag = format!("{AUTH_PROVIDER}:{PROVIDER}");
    let mut args = vec!["migrate"];
    if let Mapping::Flag = mapping {
        args.extend(["--upstream-provider-mapping", &flag]);
    }
    let migrated = syn2mas(prepared.files(), &synapse.config_path(), &args);
    assert_eq!(migrated.code, 0, "{mapping:?}: {}", migrated.stderr);
    let setup = prepared.start().await;
    let browser = Browser::start().await.expect("Chromium ran a moment ago");

    // The link exists: no registration form, straight on to the client.
    let page = setup.sign_in_through_provider(&browser).await;
    assert!(
        !page.contains("/upstream/link/") && browser.count("form#upstream-register").await == 0,
        "{mapping:?}: carol is linked and needs no form, but the browser is at {page}"
    );
    let tokens = setup.allow_and_exchange(&browser).await;
    let info = setup
        .userinfo(tokens["access_token"].as_str().unwrap())
        .await;
    assert_eq!(info["username"], "carol", "{mapping:?}: {info}");

    // The very account syn2mas imported, and no other.
    let database = setup.db.open().await;
    let mut repo = database.begin().await.unwrap();
    let carol = repo
        .users()
        .find_by_username("carol")
        .await
        .unwrap()
        .expect("carol was imported");
    assert_eq!(info["sub"], carol.sub(), "{mapping:?}: {info}");
    assert_eq!(
        repo.users().count().await.unwrap(),
        1,
        "{mapping:?}: no second user"
    );
    drop(repo);
    database.close().await;
    setup.finish(browser).await;
}
