//! The login and consent pages in a real headless Chromium: a person types
//! the password, allows the application, and the application gets a code
//! it exchanges for tokens; a second visit reuses the browser session, and
//! "Cancel" sends `access_denied` back.

use serde_json::json;

use crate::{support::*, webdriver::Browser};

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

#[tokio::test]
async fn login_and_consent_in_chromium() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let dir = temp_dir("browser");
    let db = TestDatabase::sqlite(&dir);
    let (files, port) = server_config("browser", &db, "");
    let created = run(with_configs(&mut mxauth(), &files).args([
        "manage",
        "register-user",
        "alice",
        "-p",
        "correct horse battery staple",
        "-y",
    ]));
    // manage refuses an unmigrated database outside development mode.
    assert_ne!(created.code, 0);
    assert_eq!(
        run(with_configs(&mut mxauth(), &files).args(["database", "migrate"])).code,
        0
    );
    // No homeserver runs in this test.
    let created = run(with_configs(&mut mxauth(), &files).args([
        "manage",
        "register-user",
        "alice",
        "-p",
        "correct horse battery staple",
        "-y",
        "--ignore-homeserver-check",
    ]));
    assert_eq!(created.code, 0, "{}", created.stderr);
    let server = start_server(files, port);
    let http = reqwest::Client::new();

    let registered: serde_json::Value = serde_json::from_str(
        &http
            .post(format!("{}oauth2/registration", server.base()))
            .header("content-type", "application/json")
            .body(
                json!({
                    "client_name": "Browser Test App",
                    "client_uri": "https://app.example.com/",
                    "application_type": "native",
                    "token_endpoint_auth_method": "none",
                    "redirect_uris": ["http://127.0.0.1/callback"],
                    "grant_types": ["authorization_code", "refresh_token"],
                })
                .to_string(),
            )
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    )
    .unwrap();
    let client_id = registered["client_id"].as_str().unwrap().to_owned();
    let callback = format!("http://127.0.0.1:{}/callback", free_port());
    let authorize = format!(
        "{}authorize?response_type=code&client_id={client_id}&redirect_uri={}&scope=openid&state=s1&code_challenge={CHALLENGE}&code_challenge_method=S256",
        server.base(),
        url::form_urlencoded::byte_serialize(callback.as_bytes()).collect::<String>(),
    );

    browser.goto(&authorize).await;
    let login = browser.wait_for_url(|u| u.contains("/login?")).await;
    assert!(login.contains("next=%2Fconsent%2F"), "{login}");
    browser.type_into("#username", "alice").await;
    browser
        .type_into("#password", "correct horse battery staple")
        .await;
    browser.click("button[type=submit]").await;
    browser.wait_for_url(|u| u.contains("/consent/")).await;
    let page = browser.source().await;
    assert!(
        page.contains("Browser Test App") && page.contains("@alice:example.com"),
        "{page}"
    );
    browser
        .screenshot(&std::env::temp_dir().join("mxauth-consent.png"))
        .await;
    browser.click("button[value=allow]").await;
    let back = browser.wait_for_url(|u| u.starts_with(&callback)).await;
    let back = url::Url::parse(&back).unwrap();
    let params: std::collections::HashMap<_, _> = back.query_pairs().into_owned().collect();
    assert_eq!(params["state"], "s1");

    let tokens: serde_json::Value = serde_json::from_str(
        &http
            .post(format!("{}oauth2/token", server.base()))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", &params["code"]),
                ("client_id", &client_id),
                ("redirect_uri", &callback),
                ("code_verifier", VERIFIER),
            ])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    )
    .unwrap();
    assert!(
        tokens["access_token"].as_str().unwrap().starts_with("mat_"),
        "{tokens}"
    );
    assert!(tokens["id_token"].is_string());

    // Same browser again: already logged in, straight to consent; cancel.
    browser.goto(&authorize).await;
    browser.wait_for_url(|u| u.contains("/consent/")).await;
    browser.click("button[value=deny]").await;
    let denied = browser.wait_for_url(|u| u.starts_with(&callback)).await;
    assert!(
        denied.contains("error=access_denied") && denied.contains("state=s1"),
        "{denied}"
    );

    browser.quit().await;
    drop(server);
}
