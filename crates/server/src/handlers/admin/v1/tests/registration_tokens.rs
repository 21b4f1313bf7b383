//! Registration tokens: create, filter, revoke, unrevoke, change; limits beyond 64 bits.

use super::*;

#[tokio::test]
async fn registration_tokens_are_created_filtered_revoked_and_changed() {
    let (_t, router, admin) = admin().await;
    let add = |body: Value| {
        call(
            &router,
            "POST",
            "/api/admin/v1/user-registration-tokens",
            Some(&admin),
            Some(body),
        )
    };
    let spring = add(json!({"token": "spring-2027", "usage_limit": 2})).await;
    assert_eq!(spring.status, 201, "{}", spring.body);
    let spring = spring.json();
    assert_eq!(spring["data"]["attributes"]["valid"], true);
    let id = spring["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(add(json!({"token": "spring-2027"})).await.status, 409);
    assert_eq!(add(json!({"token": "has space"})).await.status, 400);
    assert_eq!(add(json!({"usage_limit": 0})).await.status, 400);
    assert_eq!(
        add(json!({"expires_at": "2000-01-01T00:00:00Z"}))
            .await
            .status,
        400
    );
    let unknown = add(json!({"unknown": 1})).await;
    assert_eq!(unknown.status, 400);
    assert!(title(&unknown).contains("unknown"), "{}", unknown.body);
    let random = add(json!({})).await.json();
    assert_eq!(
        random["data"]["attributes"]["token"]
            .as_str()
            .unwrap()
            .len(),
        20
    );

    let path = format!("/api/admin/v1/user-registration-tokens/{id}");
    let revoked = call(
        &router,
        "POST",
        &format!("{path}/revoke"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(revoked.json()["data"]["attributes"]["valid"], false);
    assert_eq!(
        call(
            &router,
            "POST",
            &format!("{path}/revoke"),
            Some(&admin),
            None
        )
        .await
        .status,
        400
    );
    let valid = call(
        &router,
        "GET",
        "/api/admin/v1/user-registration-tokens?filter[valid]=true",
        Some(&admin),
        None,
    )
    .await
    .json();
    assert_eq!(valid["meta"]["count"], 1, "{valid}");
    let unrevoked = call(
        &router,
        "POST",
        &format!("{path}/unrevoke"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(unrevoked.json()["data"]["attributes"]["valid"], true);
    let changed = call(
        &router,
        "PUT",
        &path,
        Some(&admin),
        Some(json!({"usage_limit": 5, "expires_at": null})),
    )
    .await;
    assert_eq!(changed.json()["data"]["attributes"]["usage_limit"], 5);
    let revoked_only = call(
        &router,
        "GET",
        "/api/admin/v1/user-registration-tokens?filter[revoked]=true",
        Some(&admin),
        None,
    )
    .await
    .json();
    assert_eq!(revoked_only["meta"]["count"], 0);
}

/// A usage limit the database cannot hold is refused, on creation and on
/// change, rather than stored as another number (found by schemathesis).
#[tokio::test]
async fn usage_limits_beyond_64_bits_signed_are_refused() {
    let (_t, router, admin) = admin().await;
    let base = "/api/admin/v1/user-registration-tokens";
    let too_large = json!({"usage_limit": 9_223_372_036_854_775_808_u64});
    let refused = call(&router, "POST", base, Some(&admin), Some(too_large.clone())).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(title(&refused).contains("usage_limit"), "{}", refused.body);
    let largest = json!({"usage_limit": i64::MAX});
    let created = call(&router, "POST", base, Some(&admin), Some(largest)).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.json()["data"]["id"].as_str().unwrap().to_owned();
    let path = format!("{base}/{id}");
    let refused = call(&router, "PUT", &path, Some(&admin), Some(too_large)).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    let stored = call(&router, "GET", &path, Some(&admin), None).await.json();
    assert_eq!(stored["data"]["attributes"]["usage_limit"], i64::MAX);
    let count = call(
        &router,
        "GET",
        &format!("{base}?count=only"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(count.json()["meta"]["count"], 1);
}
