//! The admin console in headless Chromium, against `mxauth server` (with
//! its job worker) and a real Synapse behind the homeserver's proxy
//! (synapse_peer.rs).
//!
//! One story: an admin made by `mxauth manage register-user --admin`
//! signs in at `/admin`, creates bob (Synapse gets him), sets his password
//! (the legacy login through Synapse's domain takes it), adds an email
//! address (Synapse lists it), issues a registration token, and issues a
//! personal access token that Synapse accepts as bob. Locking bob makes
//! Synapse refuse it, unlocking makes it work again, revoking it makes
//! Synapse refuse it for good.
//!
//! Synapse keeps each introspection answer for two minutes (its
//! `mas_token_introspection` cache, which nothing can empty from outside)
//! when the token has no device, as a personal token has none. After each
//! change the test asks mxauth as Synapse asks it (the answer Synapse will
//! get), then restarts Synapse rather than wait out the cache, and asks
//! Synapse itself.

use serde_json::json;

use crate::{support::*, synapse_peer::*, webdriver::Browser};

const ROOT_PASSWORD: &str = "correct horse battery staple";
const BOB_PASSWORD: &str = "tangerine kettle umbrella 42";
const BOB_EMAIL: &str = "bob@example.com";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_manages_a_user_in_chromium_with_synapse() {
    let Some(venv) = venv() else { return };
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (synapse_port, proxy_port) = (free_port(), free_port());
    let db = TestDatabase::sqlite(&temp_dir("admin-console"));
    let server_name = format!("127.0.0.1:{proxy_port}");
    let extra = format!(
        "matrix:\n  homeserver: \"{server_name}\"\n  endpoint: \"http://127.0.0.1:{synapse_port}/\"\n  secret: {SECRET}\n\
         rate_limiting:\n  login:\n    per_ip: {{burst: 20, per_second: 1}}\n"
    );
    let (files, mxauth_port) = server_config("admin-console", &db, &extra);
    serve_compat(&files);
    run(with_configs(&mut mxauth(), &files).args(["database", "migrate"])).succeeded();
    let mut synapse = Synapse::configure(venv, synapse_port, mxauth_port, proxy_port);
    let server = start_server(files.clone(), mxauth_port);
    synapse.start().await;
    start_proxy(proxy_port, synapse_port, mxauth_port).await;
    let public = format!("http://127.0.0.1:{proxy_port}");
    let http = reqwest::Client::new();
    run(with_configs(&mut mxauth(), &files).args([
        "manage",
        "register-user",
        "root",
        "-p",
        ROOT_PASSWORD,
        "--admin",
        "-y",
    ]))
    .succeeded();
    let base = server.base();
    let shot = |name: &str| std::env::temp_dir().join(format!("mxauth-admin-{name}.png"));

    // --- The admin signs in where the console sends them.
    browser.goto(&format!("{base}admin")).await;
    browser.sign_in("root", ROOT_PASSWORD).await;
    browser.wait_for_url(|u| u.ends_with("/admin")).await;
    browser.wait_for_text("Create a user").await;

    // --- Bob is created, and provisioned on Synapse.
    browser.type_into("#username", "bob").await;
    browser.click("#create-user button[type=submit]").await;
    let bob_page = browser.wait_for_url(|u| u.contains("notice=created")).await;
    let bob_page = bob_page.split('?').next().unwrap().to_owned();
    assert!(
        provisioned(&http, synapse_port, "bob").await,
        "Synapse never got bob"
    );

    // --- His password: the legacy login through Synapse's domain takes it.
    browser.type_into("#password", BOB_PASSWORD).await;
    browser.click("#set-password button[type=submit]").await;
    browser
        .wait_for_url(|u| u.contains("notice=password_set"))
        .await;
    let login = json!({"type": "m.login.password", "identifier": {"type": "m.id.user", "user": "bob"},
                       "password": BOB_PASSWORD});
    let login_url = format!("{public}/_matrix/client/v3/login");
    let (status, answer) = call(&http, "POST", &login_url, None, Some(login)).await;
    assert_eq!(status, 200, "{answer}");

    // --- An email address, added as confirmed.
    browser.type_into("#email", BOB_EMAIL).await;
    browser.click("#add-email button[type=submit]").await;
    browser
        .wait_for_url(|u| u.contains("notice=email_added"))
        .await;
    assert!(browser.source().await.contains(BOB_EMAIL));

    // --- A registration token.
    browser
        .goto(&format!("{base}admin/registration-tokens"))
        .await;
    browser.type_into("#token", "e2e-invite").await;
    browser.type_into("#usage_limit", "3").await;
    browser.type_into("#expires_in_days", "7").await;
    browser
        .click("#issue-registration-token button[type=submit]")
        .await;
    browser.wait_for_url(|u| u.contains("notice=issued")).await;
    let page = browser.source().await;
    assert!(page.contains("data-token=\"e2e-invite\""), "{page}");
    assert!(page.contains("Used 0 of 3 times"), "{page}");
    browser.screenshot(&shot("registration-tokens")).await;

    // --- A personal access token, shown once, that Synapse takes as bob.
    browser.goto(&bob_page).await;
    browser.type_into("#token_name", "e2e bot").await;
    browser.click("#issue-token button[type=submit]").await;
    browser.wait_for_text("issued-token-text").await;
    browser.screenshot(&shot("user")).await;
    let token = browser
        .execute("return document.getElementById('issued-token-text').textContent;")
        .await;
    let token = token.as_str().unwrap().to_owned();
    assert!(token.starts_with("mpt_"), "{token}");
    let whoami = format!("{public}/_matrix/client/v3/account/whoami");
    let (status, answer) = call(&http, "GET", &whoami, Some(&token), None).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["user_id"], format!("@bob:{server_name}"));
    // The address reached Synapse through provisioning.
    let threepids = format!("{public}/_matrix/client/v3/account/3pid");
    assert!(
        eventually(20, async || {
            let (_, listed) = call(&http, "GET", &threepids, Some(&token), None).await;
            listed["threepids"]
                .as_array()
                .is_some_and(|t| t.iter().any(|p| p["address"] == BOB_EMAIL))
        })
        .await,
        "Synapse does not list bob's address"
    );
    let mxauth_base = base.trim_end_matches('/');
    let active =
        async |token: &str| introspect_as_synapse(mxauth_base, token).await["active"] == true;
    let whoami_status = async |token: &str| call(&http, "GET", &whoami, Some(token), None).await.0;

    // --- Locked: refused; unlocked: accepted again.
    browser.goto(&bob_page).await;
    browser.click("#lock button[type=submit]").await;
    browser.wait_for_url(|u| u.contains("notice=locked")).await;
    assert!(
        !active(&token).await,
        "mxauth still accepts a locked user's token"
    );
    restart(&mut synapse).await;
    assert_eq!(
        whoami_status(&token).await,
        401,
        "Synapse accepts a locked user's token"
    );

    browser.click("#unlock button[type=submit]").await;
    browser
        .wait_for_url(|u| u.contains("notice=unlocked"))
        .await;
    assert!(active(&token).await);
    restart(&mut synapse).await;
    assert_eq!(whoami_status(&token).await, 200);

    // --- Revoked: refused for good.
    browser
        .click("#personal-tokens li form button[type=submit]")
        .await;
    browser
        .wait_for_url(|u| u.contains("notice=token_revoked"))
        .await;
    assert!(browser.source().await.contains("Revoked "));
    assert!(!active(&token).await);
    restart(&mut synapse).await;
    assert_eq!(
        whoami_status(&token).await,
        401,
        "Synapse accepts a revoked token"
    );

    browser.quit().await;
    drop(server);
}

/// Restarts Synapse: a fresh process has no cached introspection answers.
async fn restart(synapse: &mut Synapse) {
    synapse.stop();
    synapse.start().await;
}
