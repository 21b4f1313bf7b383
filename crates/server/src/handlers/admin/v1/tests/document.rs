//! The OpenAPI document describes the served routes, and they answer.

use super::*;

#[tokio::test]
async fn the_openapi_document_describes_the_served_routes() {
    let (_t, router, admin) = admin().await;
    let (status, spec) = crate::test_support::get_json(&router, "/api/spec.json").await;
    assert_eq!(status, 200);
    assert!(
        spec["openapi"].as_str().unwrap().starts_with("3.1"),
        "{spec}"
    );
    assert_eq!(spec["servers"][0]["url"], "https://auth.example.com");
    assert!(spec["components"]["securitySchemes"]["bearer"].is_object());
    let paths = spec["paths"].as_object().unwrap();
    assert!(paths.len() >= 12, "{:?}", paths.keys());
    // Every documented GET without a path parameter answers: 200, or a
    // 404 its operation documents (no policy data set yet).
    for (path, item) in paths {
        assert!(path.starts_with("/api/admin/v1/"), "{path}");
        if let Some(get) = item.get("get").filter(|_| !path.contains('{')) {
            let answer = call(&router, "GET", path, Some(&admin), None).await;
            let documented_404 = get["responses"].get("404").is_some();
            assert!(
                answer.status == 200 || (answer.status == 404 && documented_404),
                "{path}: {} {}",
                answer.status,
                answer.body
            );
        }
    }
    let doc = Browser::default().get(&router, "/api/doc/").await;
    assert_eq!(doc.status, 200);
    assert!(doc.body.contains("/api/spec.json"));
    let site = call(
        &router,
        "GET",
        "/api/admin/v1/site-config",
        Some(&admin),
        None,
    )
    .await
    .json();
    assert_eq!(site["server_name"], "example.com");
    assert_eq!(site["password_registration_enabled"], false);
}
