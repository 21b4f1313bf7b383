//! The OAuth 2.0 / OIDC flow through the real router, in process: dynamic
//! registration, authorization with PKCE, login, consent, code exchange,
//! userinfo, introspection, refresh rotation, revocation, and the failures
//! of each step.

mod client_auth;
mod devices;
mod flow;
mod introspection;
mod negative;
mod registration;

use serde_json::{json, Value};

use crate::test_support::{csrf_of, post_form, send, Browser, TestResponse};

pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
pub const REDIRECT: &str = "http://127.0.0.1/callback";
/// The redirect URI [`authorize_path`] sends (any port matches a loopback
/// registration, RFC 8252 §7.3).
pub const CALLBACK: &str = "http://127.0.0.1:41234/callback";

pub async fn register(router: &axum::Router, metadata: Value) -> Value {
    let request = axum::http::Request::post("/oauth2/registration")
        .header("content-type", "application/json")
        .body(axum::body::Body::from(metadata.to_string()))
        .unwrap();
    let response = send(router, request).await;
    assert_eq!(response.status, 201, "{}", response.body);
    response.json()
}

pub async fn register_public(router: &axum::Router) -> String {
    let client = register(
        router,
        json!({
            "client_name": "Test App",
            "client_uri": "https://app.example.com/",
            "application_type": "native",
            "token_endpoint_auth_method": "none",
            "redirect_uris": [REDIRECT],
            "grant_types": ["authorization_code", "refresh_token"],
        }),
    )
    .await;
    client["client_id"].as_str().unwrap().to_owned()
}

pub fn authorize_path(client_id: &str, scope: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", CALLBACK),
            ("scope", scope),
            ("state", "st4te"),
            ("nonce", "n0nce"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ])
        .finish();
    format!("/authorize?{query}")
}

pub fn location(response: &TestResponse) -> String {
    response
        .header("location")
        .unwrap_or_else(|| panic!("no redirect: {} {}", response.status, response.body))
}

/// Logs in through the login page and allows the grant; returns the code.
pub async fn authorize_and_consent(
    router: &axum::Router,
    browser: &mut Browser,
    client_id: &str,
    scope: &str,
) -> String {
    let back = consent_at(router, browser, &authorize_path(client_id, scope)).await;
    assert_eq!(back.port(), Some(41234));
    let params: std::collections::HashMap<String, String> =
        back.query_pairs().into_owned().collect();
    assert_eq!(params["state"], "st4te");
    assert_eq!(params["iss"], "https://auth.example.com/");
    params["code"].clone()
}

/// Follows `authorize` through login (as alice) and consent; returns where
/// the browser is sent back to.
pub async fn consent_at(router: &axum::Router, browser: &mut Browser, authorize: &str) -> url::Url {
    let response = browser.get(router, authorize).await;
    let consent = location(&response);
    assert!(consent.starts_with("/consent/"), "{consent}");
    let response = browser.get(router, &consent).await;
    let login = location(&response);
    assert!(login.starts_with("/login?next="), "{login}");
    let page = browser.get(router, &login).await;
    assert_eq!(page.status, 200);
    // The login form names the application the person signs in for.
    assert!(page.body.contains("to continue to "), "{}", page.body);
    let next = consent.clone();
    let response = browser
        .post(
            router,
            "/login",
            &[
                ("csrf", &csrf_of(&page.body)),
                ("username", "alice"),
                ("password", "wonderland"),
                ("next", &next),
            ],
        )
        .await;
    assert_eq!(location(&response), consent);
    let page = browser.get(router, &consent).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.header("x-frame-options").as_deref(), Some("DENY"));
    let response = browser
        .post(
            router,
            &consent,
            &[("csrf", &csrf_of(&page.body)), ("decision", "allow")],
        )
        .await;
    url::Url::parse(&location(&response)).unwrap()
}

pub async fn token(router: &axum::Router, form: &[(&str, &str)]) -> TestResponse {
    post_form(router, "/oauth2/token", form, &[]).await
}

pub async fn introspect(router: &axum::Router, token: &str) -> Value {
    let response = post_form(
        router,
        "/oauth2/introspect",
        &[("token", token)],
        &[
            ("authorization", "Bearer homeserver-shared-secret"),
            ("x-mas-supports-device-id", "1"),
        ],
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.body);
    response.json()
}
