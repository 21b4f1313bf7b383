//! The admin API through the real router, in process: who may call it
//! (no token, a dead token, a token without the admin scope), users
//! (create with the homeserver asked, get, list with filters and cursor
//! pages, set a password under the policy, admin flag, lock, unlock,
//! deactivate with its homeserver job), registration tokens, and the
//! OpenAPI document served from the same routes. One file per resource;
//! the shared setup is here.

mod auth;
mod document;
mod emails;
mod personal;
mod policy_data;
mod registration_tokens;
mod sessions;
mod upstream;
mod users;

use axum::body::Body;
use serde_json::{json, Value};

use crate::{
    handlers::oauth2::tests::{register, token},
    test_support::{add_user, router_for, send, test_state, Browser, TestResponse, TestState},
};

/// A state whose dynamic client is an admin client, and its admin token.
async fn admin() -> (TestState, axum::Router, String) {
    let mut t = test_state().await;
    let router = router_for(&t.state, "");
    let client = register(
        &router,
        json!({"client_uri": "https://app.example.com/", "grant_types": ["client_credentials"],
        "token_endpoint_auth_method": "client_secret_post"}),
    )
    .await;
    let id = client["client_id"].as_str().unwrap().to_owned();
    let secret = client["client_secret"].as_str().unwrap().to_owned();
    crate::test_support::set_policy_data(&mut t.state, serde_json::json!({"admin_clients": [id]}));
    let router = router_for(&t.state, "");
    let response = token(
        &router,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "urn:mas:admin"),
            ("client_id", &id),
            ("client_secret", &secret),
        ],
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.body);
    let access = response.json()["access_token"].as_str().unwrap().to_owned();
    (t, router, access)
}

async fn call(
    router: &axum::Router,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> TestResponse {
    let mut request = axum::http::Request::builder().method(method).uri(path);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let request = match body {
        Some(body) => request
            .header("content-type", "application/json")
            .body(Body::from(body.to_string())),
        None => request.body(Body::empty()),
    };
    send(router, request.unwrap()).await
}

fn title(response: &TestResponse) -> String {
    response.json()["errors"][0]["title"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Creates a user through the API; returns its id.
async fn add_user_via_api(router: &axum::Router, admin: &str, name: &str) -> String {
    let created = call(
        router,
        "POST",
        "/api/admin/v1/users",
        Some(admin),
        Some(json!({"username": name})),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    created.json()["data"]["id"].as_str().unwrap().to_owned()
}
