//! The `action` clients put on the account management URL (MSC4191), and
//! the redirects that lead to the pages.

use super::*;

async fn location(router: &axum::Router, browser: &mut Browser, path: &str) -> String {
    let response = browser.get(router, path).await;
    assert_eq!(response.status, 303, "{path}: {}", response.body);
    response.header("location").unwrap()
}

#[tokio::test]
async fn each_action_opens_its_page() {
    let (_t, router, mut browser, _) = signed_in().await;
    let cases = [
        ("org.matrix.sessions_list", "/account/sessions"),
        ("org.matrix.devices_list", "/account/sessions"),
        ("org.matrix.account_deactivate", "/account/deactivate"),
        (
            "org.matrix.cross_signing_reset",
            "/account/reset-cross-signing",
        ),
        // Without a device, the session actions show the list.
        ("org.matrix.session_view", "/account/sessions"),
        ("org.matrix.device_delete", "/account/sessions"),
    ];
    for (action, target) in cases {
        let path = format!("/account/?action={action}");
        assert_eq!(
            location(&router, &mut browser, &path).await,
            target,
            "{action}"
        );
        // Every target is a page that answers.
        assert_eq!(browser.get(&router, target).await.status, 200, "{target}");
    }
    for action in ["org.matrix.profile", "profile", "org.example.unknown"] {
        let page = browser
            .get(&router, &format!("/account/?action={action}"))
            .await;
        assert_eq!(page.status, 200, "{action}");
        assert!(page.body.contains("Your account"));
    }
}

#[tokio::test]
async fn a_device_action_opens_the_session_of_that_device() {
    let (_t, router, mut browser, _) = signed_in().await;
    oauth_session(&router, "PHONE12345").await;
    compat_session(&router, "BOTDEVICE1").await;
    for device in ["PHONE12345", "BOTDEVICE1"] {
        for action in ["org.matrix.session_view", "org.matrix.device_view"] {
            let path = format!("/account/?action={action}&device_id={device}");
            let session = location(&router, &mut browser, &path).await;
            assert!(session.starts_with("/account/sessions/"), "{session}");
            let page = browser.get(&router, &session).await;
            assert_eq!(page.status, 200);
            assert!(page.body.contains(device), "{}", page.body);
            assert!(!page.body.contains("asked to sign this session out"));
        }
        // Ending asks to confirm: a link never ends a session by itself.
        let path = format!("/account/?action=org.matrix.session_end&device_id={device}");
        let session = location(&router, &mut browser, &path).await;
        assert!(session.ends_with("?confirm=end"), "{session}");
        let page = browser.get(&router, &session).await;
        assert!(
            page.body.contains("asked to sign this session out"),
            "{}",
            page.body
        );
    }
    let page = browser
        .get(
            &router,
            "/account/?action=org.matrix.session_view&device_id=NOSUCHDEV",
        )
        .await;
    assert_eq!(page.status, 404);
    assert!(page.body.contains("NOSUCHDEV"), "{}", page.body);
}

#[tokio::test]
async fn the_action_survives_the_login() {
    let (t, router, _, _) = signed_in().await;
    let mut browser = Browser::default();
    let path = "/account/?action=org.matrix.session_end&device_id=PHONE12345";
    let login = location(&router, &mut browser, path).await;
    let next = url::Url::parse(&format!("https://x{login}"))
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "next")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    assert_eq!(next, path);
    oauth_session(&router, "PHONE12345").await;
    let page = browser.get(&router, &login).await;
    let response = browser
        .post(
            &router,
            "/login",
            &[
                ("csrf", &csrf_of(&page.body)),
                ("username", "alice"),
                ("password", "wonderland"),
                ("next", &next),
            ],
        )
        .await;
    assert_eq!(response.header("location").as_deref(), Some(path));
    let session = location(&router, &mut browser, path).await;
    assert!(session.ends_with("?confirm=end"));
    drop(t);
}

#[tokio::test]
async fn the_account_url_without_slash_and_the_well_known_redirect() {
    let (_t, router, mut browser, _) = signed_in().await;
    assert_eq!(
        location(&router, &mut browser, "/account?action=org.matrix.profile").await,
        "/account/?action=org.matrix.profile"
    );
    assert_eq!(
        location(&router, &mut browser, "/account").await,
        "/account/"
    );
    // W3C change-password: password managers land on the password page.
    let response = Browser::default()
        .get(&router, "/.well-known/change-password")
        .await;
    assert_eq!(response.status, 303);
    assert_eq!(
        response.header("location").as_deref(),
        Some("/account/password/change")
    );
}

#[tokio::test]
async fn under_a_prefix_every_link_keeps_it() {
    let t = crate::test_support::test_state_at("https://example.com/auth/").await;
    let router = router_for(&t.state, "/auth");
    add_user(&t.state, "alice", "wonderland").await;
    let mut browser = Browser::default();
    let page = browser.get(&router, "/auth/login").await;
    let response = browser
        .post(
            &router,
            "/auth/login",
            &[
                ("csrf", &csrf_of(&page.body)),
                ("username", "alice"),
                ("password", "wonderland"),
            ],
        )
        .await;
    assert_eq!(response.status, 303);
    let page = browser.get(&router, "/auth/account/").await;
    assert_eq!(page.status, 200, "{}", page.body);
    for link in [
        "href=\"/auth/account/sessions\"",
        "action=\"/auth/account/\"",
        "action=\"/auth/logout\"",
    ] {
        assert!(page.body.contains(&escaped(link)), "{link}: {}", page.body);
    }
    let response = browser
        .get(&router, "/auth/account/?action=org.matrix.sessions_list")
        .await;
    assert_eq!(
        response.header("location").as_deref(),
        Some("/auth/account/sessions")
    );
    let response = browser
        .get(&router, "/auth/.well-known/change-password")
        .await;
    assert_eq!(
        response.header("location").as_deref(),
        Some("/auth/account/password/change")
    );
}
