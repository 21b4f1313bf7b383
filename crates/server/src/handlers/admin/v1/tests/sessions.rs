//! Browser, OAuth and compat sessions: listed with filters and finished.

use super::*;

#[tokio::test]
async fn sessions_of_every_kind_are_listed_and_finished() {
    let (t, router, admin) = admin().await;
    let alice = add_user(&t.state, "alice", "wonderland").await;
    // A browser session, an OAuth session (from a browser), a compat one.
    let client_id = crate::handlers::oauth2::tests::register_public(&router).await;
    let code = crate::handlers::oauth2::tests::authorize_and_consent(
        &router,
        &mut Browser::default(),
        &client_id,
        "openid urn:matrix:client:api:* urn:matrix:client:device:PHONE12345",
    )
    .await;
    let oauth = token(
        &router,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", crate::handlers::oauth2::tests::CALLBACK),
            ("client_id", &client_id),
            ("code_verifier", crate::handlers::oauth2::tests::VERIFIER),
        ],
    )
    .await
    .json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let login = crate::test_support::post_json(
        &router,
        "/_matrix/client/v3/login",
        json!({
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": "alice"},
            "password": "wonderland",
            "device_id": "BOT",
        }),
        None,
    )
    .await;
    let compat = login.json()["access_token"].as_str().unwrap().to_owned();
    let user = alice.id.to_string();
    let (router_ref, admin_ref) = (&router, &admin);
    let list = |kind: &str, extra: &str| {
        let path = format!("/api/admin/v1/{kind}?filter[user]={user}{extra}");
        async move {
            call(router_ref, "GET", &path, Some(admin_ref), None)
                .await
                .json()
        }
    };
    let browsers = list("user-sessions", "").await;
    assert_eq!(browsers["meta"]["count"], 1, "{browsers}");
    let oauths = list("oauth2-sessions", "&filter[status]=active").await;
    assert_eq!(oauths["meta"]["count"], 1, "{oauths}");
    assert!(oauths["data"][0]["attributes"]["scope"]
        .as_str()
        .unwrap()
        .contains("device:PHONE12345"));
    let compats = list("compat-sessions", "").await;
    assert_eq!(compats["data"][0]["attributes"]["device_id"], "BOT");

    for (kind, listed, token) in [
        ("oauth2-sessions", &oauths, &oauth),
        ("compat-sessions", &compats, &compat),
    ] {
        let id = listed["data"][0]["id"].as_str().unwrap();
        let path = format!("/api/admin/v1/{kind}/{id}/finish");
        let finished = call(&router, "POST", &path, Some(&admin), None).await;
        assert_eq!(finished.status, 200, "{}", finished.body);
        assert!(finished.json()["data"]["attributes"]["finished_at"].is_string());
        assert_eq!(
            crate::handlers::oauth2::tests::introspect(&router, token).await["active"],
            false
        );
        assert_eq!(
            call(&router, "POST", &path, Some(&admin), None)
                .await
                .status,
            400
        );
    }
    let finished = list("compat-sessions", "&filter[status]=finished").await;
    assert_eq!(finished["meta"]["count"], 1);
    // The devices leave the homeserver through the sync job.
    let mut repo = t.state.db.read().await.unwrap();
    assert!(!repo.jobs().list("sync-devices").await.unwrap().is_empty());
    drop(repo);
    let bad = call(
        &router,
        "GET",
        "/api/admin/v1/oauth2-sessions?filter[status]=asleep",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(bad.status, 400);
}
