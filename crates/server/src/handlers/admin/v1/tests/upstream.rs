//! Upstream links (add, list, remove) and providers (read).

use super::*;

#[tokio::test]
async fn upstream_links_are_added_listed_and_removed_and_providers_read() {
    let (t, router, admin) = admin().await;
    let alice = add_user_via_api(&router, &admin, "alice").await;
    let now = mxauth_model::Clock::now(&t.clock);
    let provider = mxauth_model::upstream::UpstreamProvider {
        id: ulid::Ulid::from_parts(1, 7),
        position: 0,
        enabled: true,
        synapse_idp_id: Some("oidc-keycloak".into()),
        encrypted_client_secret: None,
        settings: json!({"issuer": "https://id.example.com/", "human_name": "Keycloak"})
            .to_string(),
        created_at: now,
        updated_at: now,
    };
    let mut repo = t.state.db.begin().await.unwrap();
    repo.upstream_providers().upsert(&provider).await.unwrap();
    repo.commit().await.unwrap();
    let providers = call(
        &router,
        "GET",
        "/api/admin/v1/upstream-oauth-providers?filter[enabled]=true",
        Some(&admin),
        None,
    )
    .await
    .json();
    assert_eq!(
        providers["data"][0]["attributes"]["human_name"], "Keycloak",
        "{providers}"
    );
    let pid = provider.id.to_string();
    let add = |subject: &str| {
        call(
            &router,
            "POST",
            "/api/admin/v1/upstream-oauth-links",
            Some(&admin),
            Some(json!({"user_id": alice, "provider_id": pid, "subject": subject})),
        )
    };
    let added = add("f:123").await;
    assert_eq!(added.status, 201, "{}", added.body);
    assert_eq!(add("f:123").await.status, 409);
    assert_eq!(add("").await.status, 400);
    let listed = call(
        &router,
        "GET",
        "/api/admin/v1/upstream-oauth-links?filter[subject]=f:123",
        Some(&admin),
        None,
    )
    .await
    .json();
    assert_eq!(listed["meta"]["count"], 1);
    let id = added.json()["data"]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/admin/v1/upstream-oauth-links/{id}");
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
