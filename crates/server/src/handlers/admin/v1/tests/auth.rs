//! Who may call the admin API, and the error shape of refusals made before a handler runs.

use super::*;

#[tokio::test]
async fn only_active_tokens_with_the_admin_scope_get_in() {
    let (t, router, admin) = admin().await;
    let none = call(&router, "GET", "/api/admin/v1/users", None, None).await;
    assert_eq!(none.status, 401, "{}", none.body);
    assert!(!title(&none).is_empty());
    assert_eq!(none.header("www-authenticate").as_deref(), Some("Bearer"));
    let garbage = call(
        &router,
        "GET",
        "/api/admin/v1/users",
        Some("mat_nope"),
        None,
    )
    .await;
    assert_eq!(garbage.status, 401);
    // A user's token without the admin scope: 403.
    add_user(&t.state, "alice", "wonderland").await;
    let client_id = crate::handlers::oauth2::tests::register_public(&router).await;
    let code = crate::handlers::oauth2::tests::authorize_and_consent(
        &router,
        &mut Browser::default(),
        &client_id,
        "openid urn:matrix:client:api:*",
    )
    .await;
    let user_token = token(
        &router,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", crate::handlers::oauth2::tests::CALLBACK),
            ("client_id", &client_id),
            ("code_verifier", crate::handlers::oauth2::tests::VERIFIER),
        ],
    )
    .await;
    let user_token = user_token.json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let forbidden = call(
        &router,
        "GET",
        "/api/admin/v1/users",
        Some(&user_token),
        None,
    )
    .await;
    assert_eq!(forbidden.status, 403, "{}", forbidden.body);
    assert!(title(&forbidden).contains("urn:mas:admin"));
    let fine = call(&router, "GET", "/api/admin/v1/users", Some(&admin), None).await;
    assert_eq!(fine.status, 200, "{}", fine.body);
    // A token whose time is over is out.
    t.clock.advance(chrono::Duration::hours(1));
    let expired = call(&router, "GET", "/api/admin/v1/version", Some(&admin), None).await;
    assert_eq!(expired.status, 401, "{}", expired.body);
}

/// What is refused before a handler runs — by the text guard (control
/// characters, NUL in JSON) or by an extractor (a query or body that does
/// not fit its type) — is answered in the API's error shape, as the
/// document says, not as a web page (found by schemathesis).
#[tokio::test]
async fn refusals_before_the_handler_have_the_api_error_shape() {
    let (_t, router, admin) = admin().await;
    let cases = [
        ("GET", "/api/admin/v1/users?page[after]=", None),
        ("GET", "/api/admin/v1/users?page[first]=many", None),
        (
            "GET",
            "/api/admin/v1/user-registration-tokens?filter[used]=1x",
            None,
        ),
        ("GET", "/api/admin/v1/users/by-username/a%01b", None),
        ("GET", "/api/admin/v1/users?filter[search]=a%7Fb", None),
        (
            "POST",
            "/api/admin/v1/users",
            Some(json!({"username": "a\u{0}b"})),
        ),
    ];
    for (method, path, body) in cases {
        let refused = call(&router, method, path, Some(&admin), body).await;
        assert_eq!(refused.status, 400, "{path}: {}", refused.body);
        assert_eq!(
            refused.header("content-type").as_deref(),
            Some("application/json"),
            "{path}"
        );
        assert!(!title(&refused).is_empty(), "{path}: {}", refused.body);
    }
}
