//! The legacy login API through the router, with the fake homeserver.

use mxauth_model::Clock;

use serde_json::{json, Value};

use crate::{
    handlers::oauth2::tests::introspect,
    jobs::{run_batch, JobContext},
    test_support::{add_user, post_json, router_for, send, test_state, TestState},
};

fn password_login(user: Value, device: Option<&str>, refresh: bool) -> Value {
    let mut body =
        json!({"type": "m.login.password", "password": "wonderland", "refresh_token": refresh});
    match user {
        Value::String(u) => body["identifier"] = json!({"type": "m.id.user", "user": u}),
        other => body["user"] = other,
    }
    if let Some(device) = device {
        body["device_id"] = json!(device);
    }
    body
}

async fn run_jobs(t: &TestState) {
    let ctx = JobContext::from_state(&t.state);
    while run_batch(&ctx, "test").await.unwrap() > 0 {}
}

#[tokio::test]
async fn login_flows_and_password_login() {
    let t = test_state().await;
    let router = router_for(&t.state, "");
    add_user(&t.state, "alice", "wonderland").await;
    let flows = crate::test_support::get_json(&router, "/_matrix/client/v3/login").await;
    let types: Vec<&str> = flows.1["flows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        vec!["m.login.password", "m.login.sso", "m.login.token"]
    );
    assert_eq!(flows.1["flows"][1]["oauth_aware_preferred"], true);

    // Localpart, full Matrix ID, and the deprecated top-level `user` all work.
    for user in [
        json!("alice"),
        json!("@alice:example.com"),
        json!({"legacy": true}),
    ] {
        let body = match user {
            Value::Object(_) => {
                let mut b = password_login(json!(null), None, false);
                b.as_object_mut().unwrap().remove("identifier");
                b["user"] = json!("alice");
                b
            }
            u => password_login(u, None, false),
        };
        let response = post_json(&router, "/_matrix/client/r0/login", body, None).await;
        assert_eq!(response.status, 200, "{}", response.body);
        assert_eq!(
            response.header("access-control-allow-origin").as_deref(),
            Some("*")
        );
        let answer = response.json();
        assert_eq!(answer["user_id"], "@alice:example.com");
        assert!(answer["access_token"].as_str().unwrap().starts_with("mct_"));
        assert!(answer.get("refresh_token").is_none() && answer.get("expires_in_ms").is_none());
        let device = answer["device_id"].as_str().unwrap();
        assert!(
            t.homeserver.user("alice").unwrap().devices.contains(device),
            "device created before the answer"
        );
        let seen = introspect(&router, answer["access_token"].as_str().unwrap()).await;
        assert_eq!(seen["active"], true);
        assert_eq!(seen["client_id"], "legacy");
        assert_eq!(seen["device_id"], device);
        assert!(
            seen.get("expires_in").is_none(),
            "non-refreshable compat tokens never expire"
        );
        assert_eq!(
            seen["scope"],
            "urn:matrix:client:api:* urn:matrix:org.matrix.msc2967.client:api:*"
        );
    }
}

#[tokio::test]
async fn login_errors_are_matrix_errors() {
    let t = test_state().await;
    let router = router_for(&t.state, "");
    add_user(&t.state, "alice", "wonderland").await;
    let mut wrong = password_login(json!("alice"), None, false);
    wrong["password"] = json!("nope");
    let cases = [
        (wrong, 403, "M_FORBIDDEN"),
        (
            password_login(json!("nobody"), None, false),
            403,
            "M_FORBIDDEN",
        ),
        (
            password_login(json!("@alice:elsewhere.org"), None, false),
            403,
            "M_FORBIDDEN",
        ),
        (
            json!({"type": "m.login.password", "password": "x"}),
            400,
            "M_BAD_JSON",
        ),
        (json!({"type": "m.login.dummy"}), 400, "M_UNKNOWN"),
        (
            json!({"type": "m.login.password", "identifier": {"type": "m.id.thirdparty", "medium": "email"}, "password": "x"}),
            400,
            "M_UNKNOWN",
        ),
    ];
    for (body, status, errcode) in cases {
        let response = post_json(&router, "/_matrix/client/v3/login", body.clone(), None).await;
        assert_eq!(
            (
                response.status,
                response.json()["errcode"].as_str().unwrap()
            ),
            (status, errcode),
            "{body}"
        );
    }
    let garbage = send(
        &router,
        axum::http::Request::post("/_matrix/client/v3/login")
            .body(axum::body::Body::from("{not json"))
            .unwrap(),
    )
    .await;
    assert_eq!(garbage.json()["errcode"], "M_NOT_JSON");

    let mut repo = t.state.db.begin().await.unwrap();
    let alice = repo
        .users()
        .find_by_username("alice")
        .await
        .unwrap()
        .unwrap();
    repo.users().lock(alice, t.clock.now()).await.unwrap();
    repo.commit().await.unwrap();
    let locked = post_json(
        &router,
        "/_matrix/client/v3/login",
        password_login(json!("alice"), None, false),
        None,
    )
    .await;
    assert_eq!(
        (locked.status, locked.json()["errcode"].clone()),
        (401, json!("M_USER_LOCKED"))
    );
}

#[tokio::test]
async fn a_bot_logging_in_again_keeps_its_device() {
    let t = test_state().await;
    let router = router_for(&t.state, "");
    add_user(&t.state, "bot", "wonderland").await;
    let login = || password_login(json!("bot"), Some("BOTDEVICE"), false);
    let first = post_json(&router, "/_matrix/client/v3/login", login(), None)
        .await
        .json();
    let second = post_json(&router, "/_matrix/client/v3/login", login(), None)
        .await
        .json();
    assert_eq!(second["device_id"], "BOTDEVICE");
    // The first session ended, its token is dead; the device stays, even
    // after the worker syncs devices.
    assert_eq!(
        introspect(&router, first["access_token"].as_str().unwrap()).await,
        json!({"active": false})
    );
    run_jobs(&t).await;
    let other = post_json(
        &router,
        "/_matrix/client/v3/logout",
        json!({}),
        Some(second["access_token"].as_str().unwrap()),
    )
    .await;
    assert_eq!(other.status, 200);
    assert!(
        t.homeserver
            .user("bot")
            .unwrap()
            .devices
            .contains("BOTDEVICE"),
        "sync runs only when a session ends"
    );
    run_jobs(&t).await;
    assert!(
        !t.homeserver
            .user("bot")
            .unwrap()
            .devices
            .contains("BOTDEVICE"),
        "logout removes the device"
    );
}

#[tokio::test]
async fn refresh_rotates_and_logout_all_ends_every_compat_session() {
    let t = test_state().await;
    let router = router_for(&t.state, "");
    add_user(&t.state, "alice", "wonderland").await;
    let answer = post_json(
        &router,
        "/_matrix/client/v3/login",
        password_login(json!("alice"), None, true),
        None,
    )
    .await
    .json();
    assert_eq!(answer["expires_in_ms"], 300_000);
    let access = answer["access_token"].as_str().unwrap();
    assert_eq!(introspect(&router, access).await["expires_in"], 300);
    let refresh = answer["refresh_token"].as_str().unwrap();
    let rotated = post_json(
        &router,
        "/_matrix/client/v3/refresh",
        json!({"refresh_token": refresh}),
        None,
    )
    .await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let rotated = rotated.json();
    assert_eq!(
        introspect(&router, access).await["active"],
        false,
        "the old access token stops working"
    );
    assert_eq!(
        introspect(&router, rotated["access_token"].as_str().unwrap()).await["active"],
        true
    );
    let again = post_json(
        &router,
        "/_matrix/client/v3/refresh",
        json!({"refresh_token": refresh}),
        None,
    )
    .await;
    assert_eq!(
        (again.status, again.json()["errcode"].clone()),
        (401, json!("M_UNKNOWN_TOKEN"))
    );

    let other = post_json(
        &router,
        "/_matrix/client/v3/login",
        password_login(json!("alice"), None, false),
        None,
    )
    .await
    .json();
    let all = post_json(
        &router,
        "/_matrix/client/v3/logout/all",
        json!({}),
        Some(rotated["access_token"].as_str().unwrap()),
    )
    .await;
    assert_eq!(all.status, 200);
    assert_eq!(
        introspect(&router, other["access_token"].as_str().unwrap()).await["active"],
        false
    );
    let missing = post_json(&router, "/_matrix/client/v3/logout", json!({}), None).await;
    assert_eq!(missing.json()["errcode"], "M_MISSING_TOKEN");
    let bogus = post_json(
        &router,
        "/_matrix/client/v3/logout",
        json!({}),
        Some("mct_bogus"),
    )
    .await;
    assert_eq!(bogus.json()["errcode"], "M_UNKNOWN_TOKEN");
}

#[tokio::test]
async fn a_homeserver_outage_creates_nothing() {
    let t = test_state().await;
    let router = router_for(&t.state, "");
    add_user(&t.state, "alice", "wonderland").await;
    t.homeserver.set_down(true);
    let response = post_json(
        &router,
        "/_matrix/client/v3/login",
        password_login(json!("alice"), Some("DEV"), false),
        None,
    )
    .await;
    assert_eq!(response.status, 503);
    let mut repo = t.state.db.begin().await.unwrap();
    let alice = repo
        .users()
        .find_by_username("alice")
        .await
        .unwrap()
        .unwrap();
    assert!(repo
        .compat_sessions()
        .active(&alice, None)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn compat_password_checks_are_rate_limited() {
    let t = test_state().await;
    let router = router_for(&t.state, "");
    add_user(&t.state, "alice", "wonderland").await;
    let mut wrong = password_login(json!("alice"), None, false);
    wrong["password"] = json!("guess");
    let mut last = None;
    for _ in 0..11 {
        last = Some(post_json(&router, "/_matrix/client/v3/login", wrong.clone(), None).await);
    }
    let last = last.unwrap();
    assert_eq!(last.status, 429);
    assert_eq!(last.json()["errcode"], "M_LIMIT_EXCEEDED");
    assert!(last.json()["retry_after_ms"].as_i64().unwrap() > 0);
}

/// Starts the legacy SSO flow; returns the path of the confirmation page.
/// The redirect to it is absolute on `public_base`: it leaves through the
/// homeserver's domain, where a relative path would land on the homeserver.
async fn start_sso(
    browser: &mut crate::test_support::Browser,
    router: &axum::Router,
    start: &str,
) -> String {
    let location = browser.get(router, start).await.header("location").unwrap();
    let path = location
        .strip_prefix("https://auth.example.com")
        .unwrap_or_else(|| panic!("not absolute on public_base: {location}"));
    assert!(path.starts_with("/complete-compat-sso/"), "{path}");
    path.to_owned()
}

#[tokio::test]
async fn sso_redirect_confirmation_and_login_token() {
    use crate::test_support::{csrf_of, Browser};
    let t = test_state().await;
    let router = router_for(&t.state, "");
    add_user(&t.state, "alice", "wonderland").await;
    let mut browser = Browser::default();
    let start = "/_matrix/client/v3/login/sso/redirect/oidc-ignored?redirectUrl=https%3A%2F%2Fclient.example.com%2Fdone%3Fx%3D1";
    let complete = start_sso(&mut browser, &router, start).await;
    let login = browser
        .get(&router, &complete)
        .await
        .header("location")
        .unwrap();
    assert!(login.starts_with("/login?next="), "{login}");
    let page = browser.get(&router, &login).await;
    assert!(
        page.body.contains("to continue to client.example.com"),
        "{}",
        page.body
    );
    browser
        .post(
            &router,
            "/login",
            &[
                ("csrf", &csrf_of(&page.body)),
                ("username", "alice"),
                ("password", "wonderland"),
                ("next", &complete),
            ],
        )
        .await;
    // The account page knows who is logged in.
    let account = browser.get(&router, "/account/").await;
    assert_eq!(account.status, 200, "{}", account.body);
    assert!(account.body.contains("@alice:example.com"));

    let page = browser.get(&router, &complete).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("client.example.com"));
    let back = browser
        .post(
            &router,
            &complete,
            &[("csrf", &csrf_of(&page.body)), ("decision", "allow")],
        )
        .await;
    let back = url::Url::parse(&back.header("location").unwrap()).unwrap();
    assert_eq!(back.host_str(), Some("client.example.com"));
    let token = back
        .query_pairs()
        .find(|(k, _)| k == "loginToken")
        .unwrap()
        .1
        .into_owned();
    assert!(
        back.query_pairs().any(|(k, v)| k == "x" && v == "1"),
        "the client's own query is kept"
    );

    let exchange = json!({"type": "m.login.token", "token": token, "device_id": "SSODEVICE"});
    let answer = post_json(&router, "/_matrix/client/v3/login", exchange.clone(), None).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json()["user_id"], "@alice:example.com");
    assert!(t
        .homeserver
        .user("alice")
        .unwrap()
        .devices
        .contains("SSODEVICE"));
    let replay = post_json(&router, "/_matrix/client/v3/login", exchange, None).await;
    assert_eq!(
        (replay.status, replay.json()["errcode"].clone()),
        (403, json!("M_FORBIDDEN"))
    );
    // A used confirmation page cannot be used again.
    assert_eq!(browser.get(&router, &complete).await.status, 404);

    // A token not exchanged within 30 seconds is refused.
    let complete = start_sso(&mut browser, &router, start).await;
    let page = browser.get(&router, &complete).await;
    let back = browser
        .post(
            &router,
            &complete,
            &[("csrf", &csrf_of(&page.body)), ("decision", "allow")],
        )
        .await;
    let back = url::Url::parse(&back.header("location").unwrap()).unwrap();
    let token = back
        .query_pairs()
        .find(|(k, _)| k == "loginToken")
        .unwrap()
        .1
        .into_owned();
    t.clock.advance(chrono::Duration::seconds(31));
    let late = post_json(
        &router,
        "/_matrix/client/v3/login",
        json!({"type": "m.login.token", "token": token}),
        None,
    )
    .await;
    assert_eq!(late.status, 403);

    // Cancelling says so, and issues no token.
    let complete = start_sso(&mut browser, &router, start).await;
    let page = browser.get(&router, &complete).await;
    let cancelled = browser
        .post(
            &router,
            &complete,
            &[("csrf", &csrf_of(&page.body)), ("decision", "deny")],
        )
        .await;
    assert_eq!(cancelled.status, 200);
    assert!(cancelled.body.contains("Sign-in cancelled") && cancelled.header("location").is_none());

    let bad = browser.get(&router, "/_matrix/client/v3/login/sso/redirect?redirectUrl=https%3A%2F%2Fu%3Ap%40evil.example.com%2F").await;
    assert_eq!(bad.status, 400);
    let missing = browser
        .get(&router, "/_matrix/client/v3/login/sso/redirect")
        .await;
    assert_eq!(missing.status, 400);
    for hostile in ["javascript%3Aalert(1)", "data%3Atext%2Fhtml%2Cx"] {
        let path = format!("/_matrix/client/v3/login/sso/redirect?redirectUrl={hostile}");
        let refused = browser.get(&router, &path).await;
        assert_eq!(refused.status, 400, "{hostile}");
        assert!(refused.header("location").is_none());
    }
}
