//! The admin API through the real router, in process: who may call it
//! (no token, a dead token, a token without the admin scope), users
//! (create with the homeserver asked, get, list with filters and cursor
//! pages, set a password under the policy, admin flag, lock, unlock,
//! deactivate with its homeserver job), registration tokens, and the
//! OpenAPI document served from the same routes.

use std::sync::Arc;

use axum::body::Body;
use serde_json::{json, Value};

use crate::{
    handlers::oauth2::tests::{register, token},
    test_support::{add_user, router_for, send, test_state, Browser, TestResponse, TestState},
};

/// A state whose dynamic client is an admin client, and its admin token.
async fn admin() -> (TestState, axum::Router, String) {
    let mut t = test_state().await;
    let router = router_for(&t.state, "");
    let client = register(
        &router,
        json!({"client_uri": "https://app.example.com/", "grant_types": ["client_credentials"],
        "token_endpoint_auth_method": "client_secret_post"}),
    )
    .await;
    let id = client["client_id"].as_str().unwrap().to_owned();
    let secret = client["client_secret"].as_str().unwrap().to_owned();
    let mut site = (*t.state.site).clone();
    site.admin_clients = vec![id.clone()];
    t.state.site = Arc::new(site);
    let router = router_for(&t.state, "");
    let response = token(
        &router,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "urn:mas:admin"),
            ("client_id", &id),
            ("client_secret", &secret),
        ],
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.body);
    let access = response.json()["access_token"].as_str().unwrap().to_owned();
    (t, router, access)
}

async fn call(
    router: &axum::Router,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> TestResponse {
    let mut request = axum::http::Request::builder().method(method).uri(path);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let request = match body {
        Some(body) => request
            .header("content-type", "application/json")
            .body(Body::from(body.to_string())),
        None => request.body(Body::empty()),
    };
    send(router, request.unwrap()).await
}

fn title(response: &TestResponse) -> String {
    response.json()["errors"][0]["title"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

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

#[tokio::test]
async fn users_are_created_listed_changed_and_deactivated() {
    let (t, router, admin) = admin().await;
    let add = |name: &str, skip: bool| {
        // Ids follow creation time: one second apart, the order is sure.
        t.clock.advance(chrono::Duration::seconds(1));
        call(
            &router,
            "POST",
            "/api/admin/v1/users",
            Some(&admin),
            Some(json!({"username": name, "skip_homeserver_check": skip})),
        )
    };
    let created = add("alice", false).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let alice = created.json();
    assert_eq!(alice["data"]["type"], "user");
    assert_eq!(alice["data"]["attributes"]["username"], "alice");
    let id = alice["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(alice["links"]["self"], format!("/api/admin/v1/users/{id}"));
    assert_eq!(add("alice", false).await.status, 409);
    assert_eq!(add("Not Valid", false).await.status, 400);
    // The homeserver refuses names it reserves.
    assert_eq!(add("_reserved", false).await.status, 409);
    t.homeserver.set_down(true);
    assert_eq!(add("carol", false).await.status, 503);
    assert_eq!(
        add("carol", true).await.status,
        201,
        "skipping the homeserver"
    );
    t.homeserver.set_down(false);
    for name in ["bob", "dave"] {
        assert_eq!(add(name, false).await.status, 201);
    }

    let by_name = call(
        &router,
        "GET",
        "/api/admin/v1/users/by-username/alice",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(by_name.json()["data"]["id"], id);
    let missing = call(
        &router,
        "GET",
        "/api/admin/v1/users/01ARZ3NDEKTSV4RRFFQ69G5FAV",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(missing.status, 404);
    assert_eq!(
        call(
            &router,
            "GET",
            "/api/admin/v1/users/nope",
            Some(&admin),
            None
        )
        .await
        .status,
        400
    );

    // Cursor pages of two, forwards to the end.
    let first = call(
        &router,
        "GET",
        "/api/admin/v1/users?page[first]=2",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(first.status, 200, "{}", first.body);
    let first = first.json();
    assert_eq!(first["meta"]["count"], 4);
    let names = |page: &Value| -> Vec<String> {
        page["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["attributes"]["username"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(&first), ["alice", "carol"]);
    let next = first["links"]["next"].as_str().unwrap().to_owned();
    let second = call(&router, "GET", &next, Some(&admin), None).await.json();
    assert_eq!(names(&second), ["bob", "dave"]);
    assert!(second["links"].get("next").is_none(), "{second}");
    assert!(second["links"]["prev"].is_string());
    let last = call(
        &router,
        "GET",
        "/api/admin/v1/users?page[last]=1",
        Some(&admin),
        None,
    )
    .await
    .json();
    assert_eq!(names(&last), ["dave"]);
    let searched = call(
        &router,
        "GET",
        "/api/admin/v1/users?filter[search]=AR&count=false",
        Some(&admin),
        None,
    )
    .await
    .json();
    assert_eq!(names(&searched), ["carol"]);
    assert!(searched["meta"].get("count").is_none());
    let only = call(
        &router,
        "GET",
        "/api/admin/v1/users?count=only",
        Some(&admin),
        None,
    )
    .await
    .json();
    assert_eq!(only["meta"]["count"], 4);
    assert!(only.get("data").is_none());
    for bad in [
        "page[first]=0",
        "page[first]=2&page[last]=2",
        "filter[status]=asleep",
        "count=maybe",
        "page[after]=nope",
    ] {
        let refused = call(
            &router,
            "GET",
            &format!("/api/admin/v1/users?{bad}"),
            Some(&admin),
            None,
        )
        .await;
        assert_eq!(refused.status, 400, "{bad}: {}", refused.body);
    }

    // A password under the policy, then it signs alice in.
    let set_path = format!("/api/admin/v1/users/{id}/set-password");
    let set = |password: &str, skip: bool| {
        call(
            &router,
            "POST",
            &set_path,
            Some(&admin),
            Some(json!({"password": password, "skip_password_check": skip})),
        )
    };
    assert_eq!(set("", false).await.status, 400);
    assert_eq!(set("correct horse battery staple", false).await.status, 204);
    assert_eq!(
        Browser::default()
            .log_in(&router, "alice", "correct horse battery staple")
            .await
            .status,
        303
    );

    let promoted = call(
        &router,
        "POST",
        &format!("/api/admin/v1/users/{id}/set-admin"),
        Some(&admin),
        Some(json!({"admin": true})),
    )
    .await;
    assert_eq!(promoted.json()["data"]["attributes"]["admin"], true);
    let admins = call(
        &router,
        "GET",
        "/api/admin/v1/users?filter[admin]=true",
        Some(&admin),
        None,
    )
    .await
    .json();
    assert_eq!(names(&admins), ["alice"]);

    let locked = call(
        &router,
        "POST",
        &format!("/api/admin/v1/users/{id}/lock"),
        Some(&admin),
        None,
    )
    .await;
    assert!(locked.json()["data"]["attributes"]["locked_at"].is_string());
    assert_eq!(
        Browser::default()
            .log_in(&router, "alice", "correct horse battery staple")
            .await
            .status,
        403
    );
    let unlocked = call(
        &router,
        "POST",
        &format!("/api/admin/v1/users/{id}/unlock"),
        Some(&admin),
        None,
    )
    .await;
    assert!(unlocked.json()["data"]["attributes"]["locked_at"].is_null());

    let deactivated = call(
        &router,
        "POST",
        &format!("/api/admin/v1/users/{id}/deactivate"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(deactivated.status, 200, "{}", deactivated.body);
    assert!(deactivated.json()["data"]["attributes"]["deactivated_at"].is_string());
    let mut repo = t.state.db.read().await.unwrap();
    let jobs = repo.jobs().list("deactivate-user").await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert!(
        jobs[0].payload.contains("\"hs_erase\":true"),
        "{}",
        jobs[0].payload
    );
    drop(repo);
    let status = call(
        &router,
        "GET",
        "/api/admin/v1/users?filter[status]=deactivated",
        Some(&admin),
        None,
    )
    .await
    .json();
    assert_eq!(names(&status), ["alice"]);
}

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
    // Every documented GET without a path parameter answers.
    for (path, item) in paths {
        assert!(path.starts_with("/api/admin/v1/"), "{path}");
        if item.get("get").is_some() && !path.contains('{') {
            let answer = call(&router, "GET", path, Some(&admin), None).await;
            assert_eq!(answer.status, 200, "{path}: {}", answer.body);
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

/// Creates a user through the API; returns its id.
async fn add_user_via_api(router: &axum::Router, admin: &str, name: &str) -> String {
    let created = call(
        router,
        "POST",
        "/api/admin/v1/users",
        Some(admin),
        Some(json!({"username": name})),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    created.json()["data"]["id"].as_str().unwrap().to_owned()
}

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

/// The body of deactivate is optional: none, `null` (the document allows
/// it; found by schemathesis) or `{"skip_erase": …}`; anything else is 400,
/// as is any body but an object elsewhere (serde would read `[true]` as
/// `{"admin": true}`).
#[tokio::test]
async fn deactivate_takes_no_body_null_or_its_options() {
    let (t, router, admin) = admin().await;
    let path = |user: &mxauth_model::User| format!("/api/admin/v1/users/{}/deactivate", user.id);
    let bob = add_user(&t.state, "bob", "correct horse battery staple").await;
    for bad in [
        json!([]),
        json!([true]),
        json!(true),
        json!({"erase": true}),
    ] {
        let refused = call(&router, "POST", &path(&bob), Some(&admin), Some(bad)).await;
        assert_eq!(refused.status, 400, "{}", refused.body);
    }
    let null = call(
        &router,
        "POST",
        &path(&bob),
        Some(&admin),
        Some(Value::Null),
    )
    .await;
    assert_eq!(null.status, 200, "{}", null.body);
    assert!(null.json()["data"]["attributes"]["deactivated_at"].is_string());
    let carol = add_user(&t.state, "carol", "correct horse battery staple").await;
    let kept = call(
        &router,
        "POST",
        &path(&carol),
        Some(&admin),
        Some(json!({"skip_erase": true})),
    )
    .await;
    assert_eq!(kept.status, 200, "{}", kept.body);
    let mut repo = t.state.db.read().await.unwrap();
    let jobs = repo.jobs().list("deactivate-user").await.unwrap();
    let erases = |user: &mxauth_model::User| {
        let job = jobs
            .iter()
            .find(|j| j.payload.contains(&user.id.to_string()))
            .unwrap();
        job.payload.contains("\"hs_erase\":true")
    };
    assert!(erases(&bob), "null is MAS's default: erase");
    assert!(!erases(&carol));
    let set_admin = format!("/api/admin/v1/users/{}/set-admin", carol.id);
    let array = call(
        &router,
        "POST",
        &set_admin,
        Some(&admin),
        Some(json!([true])),
    )
    .await;
    assert_eq!(array.status, 400, "{}", array.body);
    assert_eq!(title(&array), "the body must be a JSON object");
}
