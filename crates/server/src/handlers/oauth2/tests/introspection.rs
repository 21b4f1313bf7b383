//! Who may see what at introspection: the homeserver sees only access
//! tokens, a dynamic client only its own tokens, a static client all of
//! them, and a `token_type_hint` naming another type answers inactive.

use serde_json::{json, Value};

use super::*;
use crate::test_support::{add_user, post_form, router_for, test_state, Browser, TestState};

struct Confidential {
    id: String,
    secret: String,
}

async fn confidential(router: &axum::Router) -> Confidential {
    let client = register(
        router,
        json!({"client_uri": "https://app.example.com/", "grant_types": ["client_credentials"],
        "token_endpoint_auth_method": "client_secret_post"}),
    )
    .await;
    Confidential {
        id: client["client_id"].as_str().unwrap().to_owned(),
        secret: client["client_secret"].as_str().unwrap().to_owned(),
    }
}

async fn introspect_as(router: &axum::Router, caller: &Confidential, token: &str) -> Value {
    let response = post_form(
        router,
        "/oauth2/introspect",
        &[
            ("token", token),
            ("client_id", &caller.id),
            ("client_secret", &caller.secret),
        ],
        &[],
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.body);
    response.json()
}

async fn introspect_hinted(router: &axum::Router, token: &str, hint: &str) -> Value {
    post_form(
        router,
        "/oauth2/introspect",
        &[("token", token), ("token_type_hint", hint)],
        &[("authorization", "Bearer homeserver-shared-secret")],
    )
    .await
    .json()
}

/// A user's access and refresh tokens from the authorization-code flow.
async fn user_tokens(router: &axum::Router, t: &TestState) -> (String, String, String) {
    add_user(&t.state, "alice", "wonderland").await;
    let client_id = register_public(router).await;
    let code = authorize_and_consent(router, &mut Browser::default(), &client_id, "openid").await;
    let answer = token(
        router,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", &client_id),
            ("code_verifier", VERIFIER),
            ("redirect_uri", CALLBACK),
        ],
    )
    .await
    .json();
    (
        client_id,
        answer["access_token"].as_str().unwrap().to_owned(),
        answer["refresh_token"].as_str().unwrap().to_owned(),
    )
}

async fn client_credentials_token(router: &axum::Router, client: &Confidential) -> String {
    let response = token(
        router,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &client.id),
            ("client_secret", &client.secret),
        ],
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.body);
    response.json()["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_homeserver_never_sees_a_refresh_token_as_active() {
    let t = test_state().await;
    let router = router_for(&t.state, "");
    let (_, access, refresh) = user_tokens(&router, &t).await;
    assert_eq!(introspect(&router, &access).await["active"], true);
    // A refresh token used as a bearer token must not reach the Matrix API.
    assert_eq!(
        introspect(&router, &refresh).await,
        json!({"active": false})
    );
    assert_eq!(
        introspect_hinted(&router, &refresh, "refresh_token").await,
        json!({"active": false})
    );
}

#[tokio::test]
async fn a_hint_naming_another_token_type_answers_inactive() {
    let t = test_state().await;
    let router = router_for(&t.state, "");
    let (_, access, _) = user_tokens(&router, &t).await;
    assert_eq!(
        introspect_hinted(&router, &access, "refresh_token").await,
        json!({"active": false})
    );
    let hinted = introspect_hinted(&router, &access, "access_token").await;
    assert_eq!(hinted["active"], true);
    assert_eq!(hinted["token_type"], "access_token");
}

#[tokio::test]
async fn a_dynamic_client_sees_only_its_own_tokens() {
    let t = test_state().await;
    let router = router_for(&t.state, "");
    let (public_id, access, refresh) = user_tokens(&router, &t).await;
    let mine = confidential(&router).await;
    let own = client_credentials_token(&router, &mine).await;

    let answer = introspect_as(&router, &mine, &own).await;
    assert_eq!(answer["active"], true);
    assert_eq!(answer["client_id"], mine.id);
    assert_eq!(answer["token_type"], "access_token");
    // Another client's tokens are not this client's business.
    assert_eq!(
        introspect_as(&router, &mine, &access).await,
        json!({"active": false})
    );
    assert_eq!(
        introspect_as(&router, &mine, &refresh).await,
        json!({"active": false})
    );
    // They are still active for the homeserver.
    let answer = introspect(&router, &access).await;
    assert_eq!(answer["active"], true);
    assert_eq!(answer["client_id"], public_id);
}

#[tokio::test]
async fn a_static_client_sees_every_token_with_its_type() {
    let t = test_state().await;
    let router = router_for(&t.state, "");
    let (_, access, refresh) = user_tokens(&router, &t).await;
    let admin = confidential(&router).await;
    let mut repo = t.state.db.begin().await.unwrap();
    let mut client = repo
        .oauth2_clients()
        .find(admin.id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    client.is_static = true;
    repo.oauth2_clients().upsert_static(&client).await.unwrap();
    repo.commit().await.unwrap();

    let answer = introspect_as(&router, &admin, &access).await;
    assert_eq!(answer["active"], true);
    assert_eq!(answer["token_type"], "access_token");
    assert_eq!(answer["username"], "alice");
    let answer = introspect_as(&router, &admin, &refresh).await;
    assert_eq!(answer["active"], true);
    assert_eq!(answer["token_type"], "refresh_token");
}
