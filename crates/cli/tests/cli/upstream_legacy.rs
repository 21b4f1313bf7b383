//! Legacy SSO (C-S API "Client login via SSO", `m.login.sso` with
//! `identity_providers`, `m.login.token`) through an upstream provider, end
//! to end: a real Synapse delegating to mxauth behind the proxy of
//! synapse_peer.rs, mxauth with a provider that keeps Synapse's name for it
//! (`synapse_idp_id: oidc-testop`), the real OP of op_peer.rs, and headless
//! Chromium. The token the legacy client gets is accepted by Synapse.

use std::collections::HashMap;

use serde_json::{json, Value};

use crate::{support::*, synapse_peer::*, upstream_flow::*, webdriver::Browser};

/// What Synapse named the provider (`oidc-` and its `idp_id`), and what a
/// legacy client's button asks for.
const IDP_ID: &str = "oidc-testop";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_sso_through_the_provider_is_accepted_by_synapse() {
    let Some(venv) = venv() else { return };
    let (synapse_port, proxy_port) = (free_port(), free_port());
    let server_name = format!("127.0.0.1:{proxy_port}");
    let scenario = Scenario {
        name: "upstream-legacy",
        synapse_idp_id: Some(IDP_ID),
        server_name: Some(server_name.clone()),
        synapse_port: Some(synapse_port),
        ..Scenario::default()
    };
    let Some(setup) =
        Setup::start(scenario, TestDatabase::sqlite(&temp_dir("upstream-legacy"))).await
    else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        setup.stop().await;
        return;
    };
    let mut synapse = Synapse::configure(venv, synapse_port, setup.server.server.port, proxy_port);
    synapse.start().await;
    start_proxy(proxy_port, synapse_port, setup.server.server.port).await;
    let public = format!("http://127.0.0.1:{proxy_port}");
    let http = reqwest::Client::new();

    // The homeserver's login API lists the provider under Synapse's name.
    let (status, flows) = call(
        &http,
        "GET",
        &format!("{public}/_matrix/client/v3/login"),
        None,
        None,
    )
    .await;
    assert_eq!(status, 200, "{flows}");
    let sso = flows["flows"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["type"] == "m.login.sso"))
        .unwrap_or_else(|| panic!("no m.login.sso flow: {flows}"));
    assert_eq!(
        sso["identity_providers"],
        json!([{"id": IDP_ID, "name": "Test OP"}]),
        "{flows}"
    );

    // A legacy client's "Sign in with Test OP" button: through the OP
    // (which signs alice in by itself) to mxauth's registration form.
    let redirect = format!("{}/sso-done", client_page().await);
    let encoded: String = url::form_urlencoded::byte_serialize(redirect.as_bytes()).collect();
    browser
        .goto(&format!(
            "{public}/_matrix/client/v3/login/sso/redirect/{IDP_ID}?redirectUrl={encoded}"
        ))
        .await;
    browser
        .wait_for_url(|u| u.contains("/upstream/link/"))
        .await;
    let form = registration_form(&browser).await;
    assert_eq!(form["username"], "alice", "{form}");
    browser
        .click("#upstream-register button[name=action][value=register]")
        .await;

    // The legacy confirmation names the new account, then the browser goes
    // back to the client with a login token.
    browser
        .wait_for_url(|u| u.contains("/complete-compat-sso/"))
        .await;
    let user_id = format!("@alice:{server_name}");
    let page = browser.source().await;
    assert!(
        page.contains(&user_id),
        "the confirmation names {user_id}:\n{page}"
    );
    browser.click("button[name=decision][value=allow]").await;
    let back = browser.wait_for_url(|u| u.starts_with(&redirect)).await;
    let back = url::Url::parse(&back).unwrap();
    let params: HashMap<_, _> = back.query_pairs().into_owned().collect();
    let login_token = params
        .get("loginToken")
        .unwrap_or_else(|| panic!("no loginToken: {back}"));

    // The client exchanges it at the homeserver's address (the proxy sends
    // it to mxauth), and Synapse accepts the access token once the worker
    // has provisioned alice there.
    let (status, login) = call(
        &http,
        "POST",
        &format!("{public}/_matrix/client/v3/login"),
        None,
        Some(json!({"type": "m.login.token", "token": login_token})),
    )
    .await;
    assert_eq!(status, 200, "{login}");
    assert_eq!(login["user_id"], user_id.as_str(), "{login}");
    let token = login["access_token"].as_str().unwrap().to_owned();
    let whoami = format!("{public}/_matrix/client/v3/account/whoami");
    let mut last = (0, Value::Null);
    let accepted = eventually(20, async || {
        last = call(&http, "GET", &whoami, Some(&token), None).await;
        last.0 == 200
    })
    .await;
    assert!(accepted, "Synapse refused the token: {last:?}");
    assert_eq!(last.1["user_id"], user_id.as_str(), "{}", last.1);
    assert_eq!(last.1["device_id"], login["device_id"], "{}", last.1);

    // The login token is spent.
    let (status, again) = call(
        &http,
        "POST",
        &format!("{public}/_matrix/client/v3/login"),
        None,
        Some(json!({"type": "m.login.token", "token": login_token})),
    )
    .await;
    assert_eq!(status, 403, "{again}");

    synapse.stop();
    setup.finish(browser).await;
}
