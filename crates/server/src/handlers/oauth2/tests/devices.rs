//! Devices on the homeserver: created before the tokens are returned,
//! removed (through a job) when the session ends.

use super::*;
use crate::{
    jobs::{run_batch, JobContext},
    test_support::{add_user, router_for, test_state, Browser},
};

const SCOPE: &str = "openid urn:matrix:client:api:* urn:matrix:client:device:PHONE12345";

#[tokio::test]
async fn the_device_exists_before_the_token_and_goes_with_the_session() {
    let t = test_state().await;
    let router = router_for(&t.state, "");
    add_user(&t.state, "alice", "wonderland").await;
    let client_id = register_public(&router).await;
    let code = authorize_and_consent(&router, &mut Browser::default(), &client_id, SCOPE).await;

    // The homeserver is down: no tokens, nothing half-created.
    t.homeserver.set_down(true);
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CALLBACK),
        ("client_id", client_id.as_str()),
        ("code_verifier", VERIFIER),
    ];
    let response = token(&router, &form).await;
    assert_eq!(response.status, 503, "{}", response.body);
    assert_eq!(response.json()["error"], "temporarily_unavailable");

    // Back up: the same code works, and the user (never provisioned) and
    // the device are created on the way.
    t.homeserver.set_down(false);
    let response = token(&router, &form).await;
    assert_eq!(response.status, 200, "{}", response.body);
    let alice = t
        .homeserver
        .user("alice")
        .expect("provisioned at token time");
    assert!(alice.devices.contains("PHONE12345"));

    let refresh = response.json()["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let revoked = post_form(
        &router,
        "/oauth2/revoke",
        &[("token", &refresh), ("client_id", &client_id)],
        &[],
    )
    .await;
    assert_eq!(revoked.status, 200);
    let ctx = JobContext::from_state(&t.state);
    assert_eq!(run_batch(&ctx, "test").await.unwrap(), 1);
    assert!(
        t.homeserver.user("alice").unwrap().devices.is_empty(),
        "the device went with the session"
    );
}
