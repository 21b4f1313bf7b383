//! The whole happy path, as a Matrix client would walk it.

use serde_json::json;

use super::*;
use crate::test_support::{add_user, router_for, test_state, Browser};
use mxauth_crypto::jose::{verify_jws, VerificationKey};

#[tokio::test]
async fn register_authorize_login_consent_token_userinfo_refresh_revoke() {
    let t = test_state().await;
    let router = router_for(&t.state, "");
    let alice = add_user(&t.state, "alice", "wonderland").await;
    let client_id = register_public(&router).await;
    let scope = "openid urn:matrix:org.matrix.msc2967.client:api:* urn:matrix:org.matrix.msc2967.client:device:ABCDEFGHIJ";

    let mut browser = Browser::default();
    let code = authorize_and_consent(&router, &mut browser, &client_id, scope).await;
    let response = token(
        &router,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
            ("client_id", &client_id),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(
        response.header("cache-control").as_deref(),
        Some("no-store")
    );
    let tokens = response.json();
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    assert!(access.starts_with("mat_") && access.len() == 41, "{access}");
    assert!(refresh.starts_with("mar_"), "{refresh}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 300);

    // The ID token verifies against the published keys and carries the
    // request's nonce.
    let jwks = t.state.keystore.public_jwks();
    let (header, claims) = verify_jws(
        tokens["id_token"].as_str().unwrap(),
        VerificationKey::Jwks(&jwks),
    )
    .unwrap();
    assert_eq!(header.alg.as_str(), "RS256");
    assert_eq!(claims["aud"], client_id);
    assert_eq!(claims["sub"], alice.sub());
    assert_eq!(claims["nonce"], "n0nce");
    assert_eq!(claims["iss"], "https://auth.example.com/");
    assert!(
        claims["at_hash"].is_string()
            && claims["c_hash"].is_string()
            && claims["auth_time"].is_number()
    );

    // Tokens are stored as digests only.
    let mut repo = t.state.db.begin().await.unwrap();
    assert!(repo
        .oauth2_access_tokens()
        .find_by_digest(&access)
        .await
        .unwrap()
        .is_none());
    assert!(repo
        .oauth2_access_tokens()
        .find_by_digest(&mxauth_model::token_digest(&access))
        .await
        .unwrap()
        .is_some());
    repo.rollback().await.unwrap();

    let request = axum::http::Request::get("/oauth2/userinfo")
        .header("authorization", format!("Bearer {access}"))
        .body(axum::body::Body::empty())
        .unwrap();
    let info = crate::test_support::send(&router, request).await;
    assert_eq!(info.status, 200, "{}", info.body);
    assert_eq!(
        info.json(),
        json!({"sub": alice.sub(), "username": "alice"})
    );

    let answer = introspect(&router, &access).await;
    assert_eq!(answer["active"], true);
    assert_eq!(answer["username"], "alice");
    assert_eq!(answer["client_id"], client_id);
    assert_eq!(answer["device_id"], "ABCDEFGHIJ");
    let scopes = answer["scope"].as_str().unwrap();
    assert!(
        scopes.contains("urn:matrix:client:api:*")
            && scopes.contains("urn:matrix:org.matrix.msc2967.client:api:*"),
        "{scopes}"
    );
    assert_eq!(answer["expires_in"], 300);

    // Refresh rotates both tokens.
    let response = token(
        &router,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", &client_id),
        ],
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.body);
    let rotated = response.json();
    let access2 = rotated["access_token"].as_str().unwrap().to_owned();
    let refresh2 = rotated["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(refresh2, refresh);
    assert_eq!(introspect(&router, &access2).await["active"], true);

    // Revoking the refresh token ends the session: its access token dies too.
    let response = post_form(
        &router,
        "/oauth2/revoke",
        &[("token", &refresh2), ("client_id", &client_id)],
        &[],
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(
        introspect(&router, &access2).await,
        json!({"active": false})
    );
    let response = token(
        &router,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh2),
            ("client_id", &client_id),
        ],
    )
    .await;
    assert_eq!(response.status, 400);
    assert_eq!(response.json()["error"], "invalid_grant");
    // Revoking something unknown is not an error (RFC 7009 §2.2).
    let response = post_form(
        &router,
        "/oauth2/revoke",
        &[("token", "mat_nothing"), ("client_id", &client_id)],
        &[],
    )
    .await;
    assert_eq!(response.status, 200);
}

#[tokio::test]
async fn a_lost_refresh_response_can_be_retried_once() {
    let t = test_state().await;
    let router = router_for(&t.state, "");
    add_user(&t.state, "alice", "wonderland").await;
    let client_id = register_public(&router).await;
    let mut browser = Browser::default();
    let code = authorize_and_consent(&router, &mut browser, &client_id, "openid").await;
    let tokens = token(
        &router,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
            ("client_id", &client_id),
            ("code_verifier", VERIFIER),
        ],
    )
    .await
    .json();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let refresh_form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.as_str()),
        ("client_id", client_id.as_str()),
    ];

    // First refresh: the client never saw the answer, never used its token.
    let lost = token(&router, &refresh_form).await.json();
    // The retry with the same token works once, and the lost pair is dead.
    let retry = token(&router, &refresh_form).await;
    assert_eq!(retry.status, 200, "{}", retry.body);
    let retry = retry.json();
    assert_eq!(
        introspect(&router, lost["access_token"].as_str().unwrap()).await["active"],
        false
    );
    let current = retry["access_token"].as_str().unwrap();
    assert_eq!(introspect(&router, current).await["active"], true);

    // Now the successor's access token was used: presenting the old token
    // again is a replay, refused, and the whole session ends.
    let replay = token(&router, &refresh_form).await;
    assert_eq!(replay.status, 400);
    assert_eq!(replay.json()["error"], "invalid_grant");
    assert_eq!(introspect(&router, current).await["active"], false);
}
