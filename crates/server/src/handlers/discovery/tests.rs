//! Discovery, WebFinger and the key set, through the router.

use crate::test_support::{get_json, router_for, test_state_at};

#[tokio::test]
async fn metadata_urls_follow_public_base_and_prefix() {
    let t = test_state_at("https://matrix.example.com/auth/").await;
    let router = router_for(&t.state, "/auth");
    let (status, doc) = get_json(&router, "/auth/.well-known/openid-configuration").await;
    assert_eq!(status, 200);
    assert_eq!(doc["issuer"], "https://matrix.example.com/auth/");
    assert_eq!(
        doc["token_endpoint"],
        "https://matrix.example.com/auth/oauth2/token"
    );
    assert_eq!(
        doc["authorization_endpoint"],
        "https://matrix.example.com/auth/authorize"
    );
    assert_eq!(
        doc["jwks_uri"],
        "https://matrix.example.com/auth/oauth2/keys.json"
    );
    assert_eq!(
        doc["account_management_uri"],
        "https://matrix.example.com/auth/account/"
    );
    assert_eq!(
        doc["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    let algs = doc["id_token_signing_alg_values_supported"]
        .as_array()
        .unwrap();
    assert!(
        algs.iter().any(|a| a == "RS256") && algs.iter().any(|a| a == "ES256"),
        "{algs:?}"
    );
    assert!(doc["account_management_actions_supported"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a == "org.matrix.cross_signing_reset"));
}

#[tokio::test]
async fn jwks_publishes_public_keys_only() {
    let t = test_state_at("https://auth.example.com/").await;
    let router = router_for(&t.state, "");
    let (status, jwks) = get_json(&router, "/oauth2/keys.json").await;
    assert_eq!(status, 200);
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    for key in keys {
        assert!(key.get("d").is_none(), "private part leaked: {key}");
        assert!(key["kid"].is_string());
    }
}

#[tokio::test]
async fn webfinger_points_at_the_issuer() {
    let t = test_state_at("https://auth.example.com/").await;
    let router = router_for(&t.state, "");
    let (status, doc) = get_json(
        &router,
        "/.well-known/webfinger?resource=acct:alice@example.com&rel=http://openid.net/specs/connect/1.0/issuer",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(doc["links"][0]["href"], "https://auth.example.com/");
    assert_eq!(doc["subject"], "acct:alice@example.com");
    let (status, _) = get_json(&router, "/.well-known/webfinger").await;
    assert_eq!(status, 400);
}
