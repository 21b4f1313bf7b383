//! Users: create (the homeserver asked), get, list with filters and cursor pages, password, admin flag, lock, unlock, deactivate, reactivate, and the audit trail of it all.

use super::*;

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
