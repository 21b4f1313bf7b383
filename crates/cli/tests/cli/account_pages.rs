//! The account pages in headless Chromium against a real Synapse: a person
//! follows a client's `org.matrix.sessions_list` link, signs in, ends the
//! session of a bot (Synapse then refuses the bot's token), and changes
//! their password (the legacy login through Synapse's domain then takes
//! the new one only).

use serde_json::json;

use crate::{support::*, synapse_peer::*, webdriver::Browser};

const OLD: &str = "correct horse battery staple";
const NEW: &str = "tangerine kettle umbrella 42";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_change_and_ending_a_session_in_chromium_with_synapse() {
    let Some(venv) = venv() else { return };
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (synapse_port, proxy_port) = (free_port(), free_port());
    let dir = temp_dir("account-pages");
    let db = TestDatabase::sqlite(&dir);
    let server_name = format!("127.0.0.1:{proxy_port}");
    // MAS's default login limit (3 per IP) would stop this one person's
    // six password checks.
    let extra = format!(
        "matrix:\n  homeserver: \"{server_name}\"\n  endpoint: \"http://127.0.0.1:{synapse_port}/\"\n  secret: {SECRET}\n\
         rate_limiting:\n  login:\n    per_ip: {{burst: 20, per_second: 1}}\n"
    );
    let (files, mxauth_port) = server_config("account-pages", &db, &extra);
    serve_compat(&files);
    assert_eq!(
        run(with_configs(&mut mxauth(), &files).args(["database", "migrate"])).code,
        0
    );
    let mut synapse = Synapse::configure(venv, synapse_port, mxauth_port, proxy_port);
    let server = start_server(files.clone(), mxauth_port);
    synapse.start().await;
    start_proxy(proxy_port, synapse_port, mxauth_port).await;
    let public = format!("http://127.0.0.1:{proxy_port}");
    let http = reqwest::Client::new();
    let created = run(with_configs(&mut mxauth(), &files).args([
        "manage",
        "register-user",
        "alice",
        "-p",
        OLD,
        "-y",
    ]));
    assert_eq!(created.code, 0, "{}", created.stderr);
    assert!(provisioned(&http, synapse_port, "alice").await);

    // A bot signs in through the homeserver's domain.
    let login = |password: &str| {
        json!({"type": "m.login.password", "identifier": {"type": "m.id.user", "user": "alice"},
               "password": password, "device_id": "BOTDEVICE", "initial_device_display_name": "Alice's bot"})
    };
    let login_url = format!("{public}/_matrix/client/v3/login");
    let (status, answer) = call(&http, "POST", &login_url, None, Some(login(OLD))).await;
    assert_eq!(status, 200, "{answer}");
    let bot = answer["access_token"].as_str().unwrap().to_owned();
    let whoami = format!("{public}/_matrix/client/v3/account/whoami");
    assert_eq!(call(&http, "GET", &whoami, Some(&bot), None).await.0, 200);

    // The client's "manage sessions" link: log in, land on the list.
    let base = server.base();
    browser
        .goto(&format!("{base}account/?action=org.matrix.sessions_list"))
        .await;
    browser.sign_in("alice", OLD).await;
    browser
        .wait_for_url(|u| u.ends_with("/account/sessions"))
        .await;
    let page = browser.source().await;
    assert!(page.contains("This browser"), "{page}");
    assert!(page.contains("Device BOTDEVICE"), "{page}");
    browser
        .screenshot(&std::env::temp_dir().join("mxauth-account-sessions.png"))
        .await;

    // The bot's page, from its device (as a client's link opens it), and
    // the confirmation.
    browser
        .goto(&format!(
            "{base}account/?action=org.matrix.session_end&device_id=BOTDEVICE"
        ))
        .await;
    browser.wait_for_url(|u| u.contains("confirm=end")).await;
    assert!(browser.source().await.contains("BOTDEVICE"));
    browser.click("button.danger").await;
    browser
        .wait_for_url(|u| u.contains("notice=session_ended"))
        .await;
    assert!(!browser.source().await.contains("BOTDEVICE"));
    // Synapse refuses the ended session's token (its device is gone).
    assert!(
        eventually(20, async || call(&http, "GET", &whoami, Some(&bot), None)
            .await
            .0
            == 401)
        .await,
        "Synapse still accepts the ended session's token"
    );

    // The password: a wrong current one changes nothing, then the change.
    browser
        .goto(&format!("{base}account/password/change"))
        .await;
    browser.type_into("#current_password", "not it").await;
    browser.type_into("#new_password", NEW).await;
    browser.type_into("#new_password_confirm", NEW).await;
    browser
        .click("form:not([action$=logout]) button[type=submit]")
        .await;
    // The form posts back to its own URL: wait for the answer's words.
    browser
        .wait_for_text("Your current password is not right")
        .await;
    browser.type_into("#current_password", OLD).await;
    browser.type_into("#new_password", NEW).await;
    browser.type_into("#new_password_confirm", NEW).await;
    browser
        .screenshot(&std::env::temp_dir().join("mxauth-account-password.png"))
        .await;
    browser
        .click("form:not([action$=logout]) button[type=submit]")
        .await;
    browser
        .wait_for_url(|u| u.contains("notice=password_changed"))
        .await;
    assert!(browser
        .source()
        .await
        .contains("Your password was changed."));
    let (status, _) = call(&http, "POST", &login_url, None, Some(login(OLD))).await;
    assert_eq!(status, 403, "the old password still works");
    let (status, answer) = call(&http, "POST", &login_url, None, Some(login(NEW))).await;
    assert_eq!(status, 200, "{answer}");
    let token = answer["access_token"].as_str().unwrap();
    assert_eq!(call(&http, "GET", &whoami, Some(token), None).await.0, 200);

    browser.quit().await;
    drop(server);
}
