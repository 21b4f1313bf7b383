//! Dynamic registration under abuse: huge bodies, floods from one address
//! and metadata the server could not honour are refused, and nothing is
//! stored for them.

use serde_json::json;

use crate::test_support::{router_for, send, test_state, TestResponse};

async fn register_from(router: &axum::Router, ip: &str, body: Vec<u8>) -> TestResponse {
    let request = axum::http::Request::post("/oauth2/registration")
        .header("content-type", "application/json")
        .header("x-forwarded-for", ip)
        .body(axum::body::Body::from(body))
        .unwrap();
    send(router, request).await
}

fn valid_metadata(name: &str) -> Vec<u8> {
    json!({"client_name": name, "client_uri": "https://app.example.com/",
        "redirect_uris": ["https://app.example.com/cb"]})
    .to_string()
    .into_bytes()
}

async fn client_count(t: &crate::test_support::TestState) -> usize {
    let mut repo = t.state.db.read().await.unwrap();
    let count = repo.oauth2_clients().count().await.unwrap();
    drop(repo);
    usize::try_from(count).unwrap()
}

#[tokio::test]
async fn a_huge_body_is_refused_and_stores_nothing() {
    let t = test_state().await;
    let router = router_for(&t.state, "");
    let mut metadata: serde_json::Value = serde_json::from_slice(&valid_metadata("big")).unwrap();
    metadata["padding"] = json!("x".repeat(2 << 20));
    let response = register_from(&router, "203.0.113.1", metadata.to_string().into_bytes()).await;
    assert_eq!(response.status, 413, "{}", response.body);
    assert_eq!(response.json()["error"], "invalid_request");
    assert_eq!(client_count(&t).await, 0);
}

#[tokio::test]
async fn registrations_are_rate_limited_per_address() {
    let t = test_state().await;
    let router = router_for(&t.state, "");
    for i in 0..20 {
        let response =
            register_from(&router, "203.0.113.2", valid_metadata(&format!("app {i}"))).await;
        assert_eq!(response.status, 201, "{i}: {}", response.body);
    }
    let refused = register_from(&router, "203.0.113.2", valid_metadata("one too many")).await;
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert!(refused.header("retry-after").is_some());
    assert_eq!(client_count(&t).await, 20);
    // Another address is not affected.
    let other = register_from(&router, "203.0.113.3", valid_metadata("other")).await;
    assert_eq!(other.status, 201, "{}", other.body);
}

#[tokio::test]
async fn an_algorithm_the_server_cannot_sign_with_is_refused_at_registration() {
    let t = test_state().await;
    let router = router_for(&t.state, "");
    let mut metadata: serde_json::Value = serde_json::from_slice(&valid_metadata("alg")).unwrap();
    metadata["id_token_signed_response_alg"] = json!("ES384");
    let response = register_from(&router, "203.0.113.4", metadata.to_string().into_bytes()).await;
    assert_eq!(response.status, 400, "{}", response.body);
    assert_eq!(response.json()["error"], "invalid_client_metadata");
    assert_eq!(client_count(&t).await, 0);
}
