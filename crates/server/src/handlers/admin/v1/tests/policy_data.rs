//! Policy data: refused when it does not make a policy (nothing stored),
//! stored and in force at once when it does, read back, and acted on by
//! dynamic client registration, the legacy login and self-registration,
//! while admins stay free of the username rules.

use super::*;
use crate::{ops::username, policy::PolicyStore};

async fn compat_login_as(router: &axum::Router, user_agent: &str) -> TestResponse {
    let request = axum::http::Request::post("/_matrix/client/v3/login")
        .header("content-type", "application/json")
        .header("user-agent", user_agent)
        .body(Body::from(
            json!({"type": "m.login.password", "identifier": {"type": "m.id.user", "user": "nobody"},
                   "password": "wrong"})
            .to_string(),
        ))
        .unwrap();
    send(router, request).await
}

#[tokio::test]
async fn policy_data_is_checked_stored_applied_and_read_back() {
    let (t, router, admin) = admin().await;
    let (router_ref, admin_ref) = (&router, &admin);
    let get =
        |path: String| async move { call(router_ref, "GET", &path, Some(admin_ref), None).await };
    let set = |body: Value| {
        call(
            &router,
            "POST",
            "/api/admin/v1/policy-data",
            Some(&admin),
            Some(body),
        )
    };
    let latest = get("/api/admin/v1/policy-data/latest".into()).await;
    assert_eq!(latest.status, 404, "{}", latest.body);

    // Refused data changes nothing.
    for (bad, names) in [
        (
            json!({"data": {"registration": {"banned_usernames": {"regexes": ["("]}}}}),
            "regexes",
        ),
        (
            json!({"data": {"requester": {"banned_ips": ["300.0.0.1"]}}}),
            "banned_ips",
        ),
        (json!({"data": [1, 2]}), "JSON object"),
        (json!({"data": {}, "extra": 1}), "unknown"),
    ] {
        let refused = set(bad).await;
        assert_eq!(refused.status, 400, "{}", refused.body);
        assert!(title(&refused).contains(names), "{}", refused.body);
    }
    let latest = get("/api/admin/v1/policy-data/latest".into()).await;
    assert_eq!(
        latest.status, 404,
        "refused data was stored: {}",
        latest.body
    );

    // Before: an http client is refused, a bot may try to log in.
    let insecure = json!({"client_uri": "http://app.example.com/", "redirect_uris": ["http://app.example.com/cb"]});
    let request = |metadata: &Value| {
        axum::http::Request::post("/oauth2/registration")
            .header("content-type", "application/json")
            .body(Body::from(metadata.to_string()))
            .unwrap()
    };
    assert_eq!(send(&router, request(&insecure)).await.status, 400);
    let before = compat_login_as(&router, "EvilBot/2").await;
    assert!(!before.body.contains("not allowed"), "{}", before.body);
    assert!(username::check_available(&t.state, "mallory").await.is_ok());

    let data = json!({
        "registration": {"banned_usernames": {"literals": ["mallory"]}},
        "client_registration": {"allow_insecure_uris": true},
        "requester": {"banned_user_agents": {"substrings": ["EvilBot"]}},
        "site_notes": "free-form keys are kept",
    });
    let stored = set(json!({"data": data})).await;
    assert_eq!(stored.status, 201, "{}", stored.body);
    let stored = stored.json();
    assert_eq!(stored["data"]["type"], "policy-data");
    assert_eq!(stored["data"]["attributes"]["data"], data);
    let id = stored["data"]["id"].as_str().unwrap().to_owned();

    // Read back: the newest, and by id.
    let latest = get("/api/admin/v1/policy-data/latest".into()).await;
    assert_eq!(latest.json()["data"]["id"], id.as_str());
    let by_id = get(format!("/api/admin/v1/policy-data/{id}")).await;
    assert_eq!(by_id.json()["data"]["attributes"]["data"], data);
    let missing = get("/api/admin/v1/policy-data/01ARZ3NDEKTSV4RRFFQ69G5FAV".into()).await;
    assert_eq!(missing.status, 404);
    let audit = get("/api/admin/v1/audit-log?filter[action]=set_policy_data".into()).await;
    assert_eq!(
        audit.json()["data"][0]["attributes"]["target_id"],
        id.as_str()
    );

    // In force on this server at once.
    assert_eq!(send(&router, request(&insecure)).await.status, 201);
    let banned = compat_login_as(&router, "EvilBot/2").await;
    assert_eq!(banned.status, 403, "{}", banned.body);
    assert_eq!(banned.json()["errcode"], "M_FORBIDDEN");
    assert!(banned.body.contains("not allowed"), "{}", banned.body);
    assert!(matches!(
        username::check_available(&t.state, "mallory").await,
        Err(username::UsernameRefusal::Policy(_))
    ));
    // Admins are not bound by the username rules.
    add_user_via_api(&router, &admin, "mallory").await;

    // Another server reads it from the database.
    let other = PolicyStore::new(None).unwrap();
    assert!(other.current().check_username("mallory").is_ok());
    other.refresh(&t.state.db).await.unwrap();
    assert!(other.current().check_username("mallory").is_err());
}

#[tokio::test]
async fn a_call_without_a_bearer_token_cannot_set_policy_data() {
    let (_t, router, _admin) = admin().await;
    let refused = call(
        &router,
        "POST",
        "/api/admin/v1/policy-data",
        None,
        Some(json!({"data": {}})),
    )
    .await;
    assert_eq!(refused.status, 401);
}
