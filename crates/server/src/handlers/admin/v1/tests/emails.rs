//! Email addresses: added (the homeserver told), listed, removed.

use super::*;

#[tokio::test]
async fn email_addresses_are_added_listed_and_removed() {
    let (t, router, admin) = admin().await;
    let alice = add_user_via_api(&router, &admin, "alice").await;
    let add = |email: &str| {
        call(
            &router,
            "POST",
            "/api/admin/v1/user-emails",
            Some(&admin),
            Some(json!({"user_id": alice, "email": email})),
        )
    };
    let added = add("alice@example.org").await;
    assert_eq!(added.status, 201, "{}", added.body);
    let id = added.json()["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(add("ALICE@example.org").await.status, 409);
    assert_eq!(add("not an address").await.status, 400);
    let listed = call(
        &router,
        "GET",
        &format!("/api/admin/v1/user-emails?filter[user]={alice}"),
        Some(&admin),
        None,
    )
    .await
    .json();
    assert_eq!(listed["meta"]["count"], 1);
    // The homeserver hears of it through provisioning.
    crate::jobs::run_batch(&crate::jobs::JobContext::from_state(&t.state), "test")
        .await
        .unwrap();
    assert_eq!(
        t.homeserver.user("alice").unwrap().emails,
        ["alice@example.org"]
    );
    let path = format!("/api/admin/v1/user-emails/{id}");
    assert_eq!(
        call(&router, "DELETE", &path, Some(&admin), None)
            .await
            .status,
        204
    );
    assert_eq!(
        call(&router, "GET", &path, Some(&admin), None).await.status,
        404
    );
}
