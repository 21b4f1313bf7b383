//! Password login as every surface does it (login page and compat
//! `/login`): one lookup rule, the same time spent whatever the failure,
//! and only safe redirects after the page login.

use std::time::{Duration, Instant};

use mxauth_model::Clock;
use mxauth_storage::new_ulid;
use serde_json::json;

use crate::{
    passwords::{Algorithm, PasswordManager, Scheme},
    test_support::{add_user, csrf_of, post_json, router_for, test_state, Browser, TestState},
};

const LOGIN: &str = "/_matrix/client/v3/login";

async fn compat_login(router: &axum::Router, user: &str, password: &str) -> u16 {
    let body = json!({"type": "m.login.password", "password": password,
        "identifier": {"type": "m.id.user", "user": user}});
    post_json(router, LOGIN, body, None).await.status
}

/// Logs in on the page with `next`; returns (status, Location).
async fn page_login(
    router: &axum::Router,
    user: &str,
    password: &str,
    next: &str,
) -> (u16, Option<String>) {
    let mut browser = Browser::default();
    let page = browser.get(router, "/login").await;
    let response = browser
        .post(
            router,
            "/login",
            &[
                ("csrf", &csrf_of(&page.body)),
                ("username", user),
                ("password", password),
                ("next", next),
            ],
        )
        .await;
    (response.status, response.header("location"))
}

/// A test state whose login rate limits do not get in the way of tests
/// that log in many times.
async fn generous_state() -> TestState {
    let mut t = test_state().await;
    let mut site = (*t.state.site).clone();
    site.login_per_ip.burst = 1000;
    site.login_per_account.burst = 1000;
    t.state.site = std::sync::Arc::new(site);
    t
}

#[tokio::test]
async fn a_mixed_case_imported_user_signs_in_on_every_surface() {
    let t = generous_state().await;
    let router = router_for(&t.state, "");
    // Synapse once allowed upper-case localparts; syn2mas keeps them.
    add_user(&t.state, "Alice", "wonderland").await;
    for typed in [
        "Alice",
        "alice",
        "ALICE",
        "@alice:example.com",
        "@Alice:example.com",
    ] {
        assert_eq!(
            compat_login(&router, typed, "wonderland").await,
            200,
            "{typed}"
        );
        let (status, location) = page_login(&router, typed, "wonderland", "/account/").await;
        assert_eq!(
            (status, location.as_deref()),
            (303, Some("/account/")),
            "{typed}"
        );
    }
    assert_eq!(compat_login(&router, "alice", "wrong").await, 403);
    assert_eq!(page_login(&router, "alice", "wrong", "/").await.0, 401);
    assert_eq!(
        compat_login(&router, "@alice:other.org", "wonderland").await,
        403
    );
}

#[tokio::test]
async fn names_that_differ_only_in_case_need_the_exact_name() {
    let t = generous_state().await;
    let router = router_for(&t.state, "");
    add_user(&t.state, "Bob", "builder1").await;
    add_user(&t.state, "bob", "builder2").await;
    assert_eq!(compat_login(&router, "Bob", "builder1").await, 200);
    assert_eq!(compat_login(&router, "bob", "builder2").await, 200);
    // Ambiguous: neither account is guessed.
    assert_eq!(compat_login(&router, "BOB", "builder1").await, 403);
    assert_eq!(compat_login(&router, "BOB", "builder2").await, 403);
    assert_eq!(page_login(&router, "BOB", "builder2", "/").await.0, 401);
    assert_eq!(page_login(&router, "Bob", "builder1", "/").await.0, 303);
}

#[tokio::test]
async fn after_login_only_plain_local_paths_are_followed() {
    let t = test_state().await;
    let router = router_for(&t.state, "");
    add_user(&t.state, "alice", "wonderland").await;
    for hostile in [
        "/\t/evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "https://evil.example/",
        "/account/\r\nSet-Cookie: x=1",
    ] {
        let (status, location) = page_login(&router, "alice", "wonderland", hostile).await;
        assert_eq!(
            (status, location.as_deref()),
            (303, Some("/account/")),
            "{hostile:?}"
        );
    }
    // NUL never gets that far: the text guard refuses the form.
    let (status, location) = page_login(&router, "alice", "wonderland", "/account/\0").await;
    assert_eq!((status, location), (400, None));
    let (_, location) = page_login(&router, "alice", "wonderland", "/consent/01X?a=b").await;
    assert_eq!(location.as_deref(), Some("/consent/01X?a=b"));
    // The login page itself does not carry a hostile next into its form.
    let page = Browser::default()
        .get(&router, "/login?next=%2F%09%2Fevil.example%2F")
        .await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("evil.example"), "{}", page.body);
}

/// The fastest of several failed logins of each user, taken in turns, so
/// that load from other processes slows every case alike. The fastest run
/// is the work the login cannot skip: a skipped hash shows as a minimum of
/// a few milliseconds against tens.
async fn fastest_compat_times(router: &axum::Router, users: &[&str]) -> Vec<Duration> {
    let mut fastest = vec![Duration::MAX; users.len()];
    for _ in 0..7 {
        for (i, user) in users.iter().enumerate() {
            let start = Instant::now();
            assert_eq!(compat_login(router, user, "not the password").await, 403);
            fastest[i] = fastest[i].min(start.elapsed());
        }
    }
    fastest
}

#[tokio::test]
async fn unknown_user_no_password_and_wrong_password_take_as_long() {
    let mut t = generous_state().await;
    // A real cost, so that skipping the hash would show: bcrypt cost 10 is
    // tens of milliseconds.
    t.state.passwords = Some(PasswordManager::new(
        vec![Scheme {
            version: 1,
            algorithm: Algorithm::Bcrypt,
            cost: Some(10),
            pepper: None,
            unicode_normalization: false,
        }],
        0,
        2,
    ));
    let router = router_for(&t.state, "");
    add_user(&t.state, "alice", "wonderland").await;
    let now = t.clock.now();
    let mut repo = t.state.db.begin().await.unwrap();
    repo.users()
        .add(new_ulid(now, &mut rand::rngs::OsRng), "upstream", now)
        .await
        .unwrap();
    repo.commit().await.unwrap();

    let times = fastest_compat_times(&router, &["alice", "nobody", "upstream"]).await;
    let wrong = times[0];
    for (case, time) in [("unknown user", times[1]), ("no password", times[2])] {
        assert!(
            time * 2 >= wrong && time <= wrong * 2,
            "{case}: {time:?} against {wrong:?} for a wrong password"
        );
    }
}
