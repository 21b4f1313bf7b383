//! Personal access tokens: issued, introspected as their user, regenerated, revoked, expired; an admin's token on the API.

use super::*;

#[tokio::test]
async fn personal_tokens_act_as_their_user_until_regenerated_revoked_or_expired() {
    let (t, router, admin) = admin().await;
    let alice = add_user_via_api(&router, &admin, "alice").await;
    let issue = |body: Value| {
        call(
            &router,
            "POST",
            "/api/admin/v1/personal-sessions",
            Some(&admin),
            Some(body),
        )
    };
    let issued = issue(json!({"actor_user_id": alice, "human_name": "Backup bot", "scope": "urn:matrix:client:api:*"})).await;
    assert_eq!(issued.status, 201, "{}", issued.body);
    let issued = issued.json();
    let token = issued["data"]["attributes"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(token.starts_with("mpt_"), "{token}");
    let id = issued["data"]["id"].as_str().unwrap().to_owned();
    // The homeserver sees alice, with the Matrix API scope and no device.
    let answer = crate::handlers::oauth2::tests::introspect(&router, &token).await;
    assert_eq!(answer["active"], true, "{answer}");
    assert_eq!(answer["username"], "alice");
    assert!(answer["scope"]
        .as_str()
        .unwrap()
        .contains("urn:matrix:client:api:*"));
    assert!(answer.get("device_id").is_none_or(Value::is_null));
    // Shown once: reading the session again gives no token.
    let read = call(
        &router,
        "GET",
        &format!("/api/admin/v1/personal-sessions/{id}"),
        Some(&admin),
        None,
    )
    .await
    .json();
    assert!(read["data"]["attributes"].get("access_token").is_none());
    // The token alone is not an admin token.
    assert_eq!(
        call(&router, "GET", "/api/admin/v1/users", Some(&token), None)
            .await
            .status,
        403
    );

    for (body, words) in [
        (
            json!({"actor_user_id": alice, "human_name": "x", "scope": "urn:matrix:client:api:* urn:matrix:client:device:ABC"}),
            "device",
        ),
        (
            json!({"actor_user_id": alice, "human_name": "x", "scope": "urn:mas:admin"}),
            "admin",
        ),
        (
            json!({"actor_user_id": alice, "human_name": " ", "scope": "openid"}),
            "name",
        ),
        (
            json!({"actor_user_id": alice, "human_name": "x", "scope": "openid", "expires_in": 0}),
            "expires_in",
        ),
    ] {
        let refused = issue(body).await;
        assert_eq!(refused.status, 400, "{}", refused.body);
        assert!(title(&refused).contains(words), "{}", refused.body);
    }

    // Regenerate: the old token stops, the new one works.
    let renewed = call(
        &router,
        "POST",
        &format!("/api/admin/v1/personal-sessions/{id}/regenerate"),
        Some(&admin),
        Some(json!({"expires_in": 60})),
    )
    .await;
    assert_eq!(renewed.status, 200, "{}", renewed.body);
    let new_token = renewed.json()["data"]["attributes"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        crate::handlers::oauth2::tests::introspect(&router, &token).await["active"],
        false
    );
    assert_eq!(
        crate::handlers::oauth2::tests::introspect(&router, &new_token).await["active"],
        true
    );
    // Locked user: the token stops; unlocked: it works again.
    call(
        &router,
        "POST",
        &format!("/api/admin/v1/users/{alice}/lock"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(
        crate::handlers::oauth2::tests::introspect(&router, &new_token).await["active"],
        false
    );
    call(
        &router,
        "POST",
        &format!("/api/admin/v1/users/{alice}/unlock"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(
        crate::handlers::oauth2::tests::introspect(&router, &new_token).await["active"],
        true
    );
    // Its expiry.
    t.clock.advance(chrono::Duration::seconds(61));
    assert_eq!(
        crate::handlers::oauth2::tests::introspect(&router, &new_token).await["active"],
        false
    );
    // Revoked: listed as such, and no regeneration.
    let revoked = call(
        &router,
        "POST",
        &format!("/api/admin/v1/personal-sessions/{id}/revoke"),
        Some(&admin),
        None,
    )
    .await;
    assert!(revoked.json()["data"]["attributes"]["revoked_at"].is_string());
    let listed = call(
        &router,
        "GET",
        &format!(
            "/api/admin/v1/personal-sessions?filter[actor_user]={alice}&filter[status]=revoked"
        ),
        Some(&admin),
        None,
    )
    .await
    .json();
    assert_eq!(listed["meta"]["count"], 1);
    let again = call(
        &router,
        "POST",
        &format!("/api/admin/v1/personal-sessions/{id}/regenerate"),
        Some(&admin),
        Some(json!({})),
    )
    .await;
    assert_eq!(again.status, 400);
}

#[tokio::test]
async fn an_admins_personal_token_with_the_admin_scope_uses_the_api() {
    let (t, router, admin) = admin().await;
    let root = add_user_via_api(&router, &admin, "root").await;
    call(
        &router,
        "POST",
        &format!("/api/admin/v1/users/{root}/set-admin"),
        Some(&admin),
        Some(json!({"admin": true})),
    )
    .await;
    let issued = call(
        &router,
        "POST",
        "/api/admin/v1/personal-sessions",
        Some(&admin),
        Some(json!({"actor_user_id": root, "human_name": "ops script", "scope": "urn:mas:admin"})),
    )
    .await;
    assert_eq!(issued.status, 201, "{}", issued.body);
    let token = issued.json()["data"]["attributes"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let users = call(&router, "GET", "/api/admin/v1/users", Some(&token), None).await;
    assert_eq!(users.status, 200, "{}", users.body);
    // An expired personal token is out: 401.
    let short = call(&router, "POST", "/api/admin/v1/personal-sessions", Some(&admin),
        Some(json!({"actor_user_id": root, "human_name": "short", "scope": "urn:mas:admin", "expires_in": 60}))).await;
    let short = short.json()["data"]["attributes"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        call(&router, "GET", "/api/admin/v1/version", Some(&short), None)
            .await
            .status,
        200
    );
    t.clock.advance(chrono::Duration::seconds(61));
    let expired = call(&router, "GET", "/api/admin/v1/version", Some(&short), None).await;
    assert_eq!(expired.status, 401, "{}", expired.body);
}
