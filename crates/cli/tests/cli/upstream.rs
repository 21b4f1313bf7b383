//! Signing in through an upstream OpenID provider (MAS's
//! `upstream_oauth2.providers`), end to end: headless Chromium, mxauth, and a
//! real OP (oidc-provider, see op_peer.rs), each test with its own. Covers
//! registration with imported claims, linking an existing user, back-channel
//! logout (OpenID Connect Back-Channel Logout 1.0), configuration without
//! discovery, and the JWT client authentication methods (RFC 7523 §2.2, OIDC
//! Core §9).

use crate::{support::*, synapse_peer::eventually, upstream_flow::*, webdriver::Browser};

/// Starts a browser and the scenario's OP and mxauth; `None` (the test
/// skips) when either cannot run here.
async fn start(scenario: Scenario, db: TestDatabase) -> Option<(Browser, Setup)> {
    let setup = Setup::start(scenario, db).await?;
    let Some(browser) = Browser::start().await else {
        setup.stop().await;
        return None;
    };
    Some((browser, setup))
}

fn sqlite(name: &str) -> TestDatabase {
    TestDatabase::sqlite(&temp_dir(name))
}

/// A new person signs up through the OP inside an OAuth authorization: the
/// username, display name and email come from the OP's claims. Signing in
/// again, in a fresh browser, goes through the OP straight to the client.
async fn sign_up_then_sign_in_again(db: TestDatabase) {
    let scenario = Scenario {
        name: "upstream-signup",
        ..Scenario::default()
    };
    let Some((browser, setup)) = start(scenario, db).await else {
        return;
    };
    let tokens = setup.sign_up(&browser, "alice").await;
    let token = tokens["access_token"].as_str().unwrap();
    assert_eq!(setup.username(token).await, "alice");

    // The imported email is the user's; the display name goes to the
    // homeserver when the user is provisioned there.
    let database = setup.db.open().await;
    let mut repo = database.begin().await.unwrap();
    let alice = repo
        .users()
        .find_by_username("alice")
        .await
        .unwrap()
        .expect("alice was registered");
    let emails = repo.user_emails().list(&alice).await.unwrap();
    assert_eq!(
        emails.iter().map(|e| e.email.as_str()).collect::<Vec<_>>(),
        ["alice@example.test"]
    );
    drop(repo);
    database.close().await;
    let provisioned = eventually(20, async || {
        setup
            .homeserver
            .bodies("provision_user")
            .iter()
            .any(|b| b["localpart"] == "alice" && b["set_displayname"] == "Test alice")
    })
    .await;
    assert!(
        provisioned,
        "the homeserver was not given the display name: {:?}",
        setup.homeserver.bodies("provision_user")
    );

    // A fresh browser: no mxauth session; the OP signs alice in again and
    // the linked subject needs no form.
    let again = Browser::start().await.unwrap();
    let page = setup.sign_in_through_provider(&again).await;
    assert!(
        !page.contains("/upstream/link/") && again.count("form#upstream-register").await == 0,
        "a linked subject signs in without a form, but the browser is at {page}"
    );
    let tokens = setup.allow_and_exchange(&again).await;
    let token = tokens["access_token"].as_str().unwrap();
    assert_eq!(setup.username(token).await, "alice");
    again.quit().await;

    let database = setup.db.open().await;
    let mut repo = database.begin().await.unwrap();
    assert_eq!(repo.users().count().await.unwrap(), 1, "no second user");
    drop(repo);
    database.close().await;
    setup.finish(browser).await;
}

mod sign_up_then_sign_in_again {
    use crate::support::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::sign_up_then_sign_in_again(super::sqlite("upstream-signup")).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if let Some(db) = TestDatabase::postgres().await {
            super::sign_up_then_sign_in_again(db).await;
        }
    }
}

/// `on_conflict: add`: the OP's `bob` becomes a way to sign in as the local
/// user `bob`, who had a password before; no new user is made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn existing_user_is_linked() {
    let scenario = Scenario {
        name: "upstream-link",
        op_user: "bob",
        localpart: "{action: force, template: \"{{ user.preferred_username }}\", on_conflict: add}",
        local_users: &["bob"],
        ..Scenario::default()
    };
    let Some((browser, setup)) = start(scenario, sqlite("upstream-link")).await else {
        return;
    };
    let database = setup.db.open().await;
    let mut repo = database.begin().await.unwrap();
    let bob = repo
        .users()
        .find_by_username("bob")
        .await
        .unwrap()
        .expect("bob was registered locally");
    drop(repo);

    let page = setup.sign_in_through_provider(&browser).await;
    if page.contains("/upstream/link/") {
        // Whatever the page asks to confirm (MAS asks unless
        // `skip_confirmation`), the person confirms it.
        browser.click("button[name=action]").await;
    }
    let tokens = setup.allow_and_exchange(&browser).await;
    let info = setup
        .userinfo(tokens["access_token"].as_str().unwrap())
        .await;
    assert_eq!(info["sub"], bob.sub(), "signed in as the local bob: {info}");
    assert_eq!(info["username"], "bob", "{info}");

    let mut repo = database.begin().await.unwrap();
    assert_eq!(repo.users().count().await.unwrap(), 1, "no second user");
    drop(repo);
    database.close().await;
    setup.finish(browser).await;
}

/// Signs alice up, ends the OP session from the same browser (RP-initiated
/// logout, confirmed), and returns whether mxauth's browser session and the
/// OAuth session's access token outlive the back-channel logout.
async fn after_backchannel_logout(name: &'static str, mode: &'static str) -> Option<(bool, bool)> {
    let scenario = Scenario {
        name,
        on_backchannel_logout: Some(mode),
        ..Scenario::default()
    };
    let (browser, setup) = start(scenario, sqlite(name)).await?;
    let tokens = setup.sign_up(&browser, "alice").await;
    let token = tokens["access_token"].as_str().unwrap().to_owned();
    assert!(setup.signed_in(&browser).await);
    assert!(setup.active(&token).await);

    browser.goto(&setup.op.end_session_url()).await;
    browser
        .wait_for_url(|u| u.contains("/session/end/success"))
        .await;
    // The OP posts the logout token before it answers the confirmation.
    assert!(
        setup.op.log().contains("backchannel logout delivered"),
        "the OP's back-channel logout did not succeed:\n{}",
        setup.op.log()
    );
    let signed_out = eventually(10, async || !setup.signed_in(&browser).await).await;
    let active = setup.active(&token).await;
    setup.finish(browser).await;
    Some((!signed_out, active))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backchannel_logout_ends_everything() {
    let Some((signed_in, active)) =
        after_backchannel_logout("upstream-bcl-all", "logout_all").await
    else {
        return;
    };
    assert!(!signed_in, "the browser session must end");
    assert!(!active, "the OAuth session's access token must end");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backchannel_logout_of_the_browser_only() {
    let Some((signed_in, active)) =
        after_backchannel_logout("upstream-bcl-browser", "logout_browser_only").await
    else {
        return;
    };
    assert!(!signed_in, "the browser session must end");
    assert!(active, "the OAuth session lives on");
}

/// A new person signs up through the OP configured by `scenario`.
async fn signs_up(scenario: Scenario) {
    let name = scenario.name;
    let method = scenario.auth_method;
    let Some((browser, setup)) = start(scenario, sqlite(name)).await else {
        return;
    };
    let tokens = setup.sign_up(&browser, "alice").await;
    assert_eq!(
        setup
            .username(tokens["access_token"].as_str().unwrap())
            .await,
        "alice"
    );
    // The OP only accepts the client's registered method, and says which.
    assert!(
        setup
            .op
            .log()
            .contains(&format!("token issued to mas ({method})")),
        "{}",
        setup.op.log()
    );
    setup.finish(browser).await;
}

/// `discovery_mode: disabled`: the endpoints come from the configuration.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_discovery() {
    signs_up(Scenario {
        name: "upstream-no-discovery",
        without_discovery: true,
        ..Scenario::default()
    })
    .await;
}

/// The client secret as an HMAC key for the client's assertion.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_secret_jwt() {
    signs_up(Scenario {
        name: "upstream-client-secret-jwt",
        auth_method: "client_secret_jwt",
        auth_alg: Some("HS256"),
        ..Scenario::default()
    })
    .await;
}

/// mxauth signs the assertion with its own key (`secrets.keys`); the OP
/// checks it against mxauth's JWKS at /oauth2/keys.json.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_key_jwt() {
    signs_up(Scenario {
        name: "upstream-private-key-jwt",
        auth_method: "private_key_jwt",
        auth_alg: Some("RS256"),
        ..Scenario::default()
    })
    .await;
}
