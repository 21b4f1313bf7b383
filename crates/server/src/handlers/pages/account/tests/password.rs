//! Changing the password: the current one first, the new one twice, strong
//! enough; rate-limited like logins; refused when the configuration says so.

use super::*;
use crate::{
    passwords::{Algorithm, PasswordManager, Scheme},
    test_support::TestResponse,
};

const PAGE: &str = "/account/password/change";
const STRONG: &str = "correct horse battery staple";

async fn change(
    router: &axum::Router,
    browser: &mut Browser,
    current: &str,
    new: &str,
    confirm: &str,
) -> TestResponse {
    let csrf = csrf_at(router, browser, PAGE).await;
    let form = [
        ("csrf", csrf.as_str()),
        ("current_password", current),
        ("new_password", new),
        ("new_password_confirm", confirm),
    ];
    browser.post(router, PAGE, &form).await
}

/// Whether `password` signs alice in on the login page.
async fn signs_in(router: &axum::Router, password: &str) -> bool {
    Browser::default()
        .log_in(router, "alice", password)
        .await
        .status
        == 303
}

/// A state whose passwords need a zxcvbn score of 3.
fn demanding(t: &mut TestState) {
    let scheme = Scheme {
        version: 1,
        algorithm: Algorithm::Bcrypt,
        cost: Some(4),
        pepper: None,
        unicode_normalization: false,
    };
    t.state.passwords = Some(PasswordManager::new(vec![scheme], 3, 2));
}

#[tokio::test]
async fn the_password_is_changed_with_the_current_one() {
    let (t, router, mut browser, _) = signed_in().await;
    let page = browser.get(&router, PAGE).await;
    assert_eq!(page.status, 200);
    for field in ["current_password", "new_password", "new_password_confirm"] {
        assert!(page.body.contains(&format!("name=\"{field}\"")), "{field}");
    }
    // Passwords are ordered by time: the new one is set a second later.
    t.clock.advance(chrono::Duration::seconds(1));
    let response = change(&router, &mut browser, "wonderland", STRONG, STRONG).await;
    assert_eq!(response.status, 303, "{}", response.body);
    assert_eq!(
        response.header("location").as_deref(),
        Some("/account/?notice=password_changed")
    );
    let page = browser
        .get(&router, "/account/?notice=password_changed")
        .await;
    assert!(page.body.contains("Your password was changed."));
    assert!(signs_in(&router, STRONG).await);
    assert!(!signs_in(&router, "wonderland").await);
    // This browser stays signed in.
    assert_eq!(browser.get(&router, "/account/").await.status, 200);
}

#[tokio::test]
async fn a_refused_change_keeps_the_old_password() {
    let (mut t, _, _, _) = signed_in().await;
    demanding(&mut t);
    let router = router_for(&t.state, "");
    let mut browser = Browser::default();
    browser.log_in(&router, "alice", "wonderland").await;
    let cases = [
        ("", STRONG, STRONG, "Fill in all three fields"),
        ("wonderland", STRONG, "", "Fill in all three fields"),
        (
            "wonderland",
            STRONG,
            "correct horse battery stapler",
            "are not the same",
        ),
        ("wonderland", "password1", "password1", "too easy to guess"),
        ("wrong", STRONG, STRONG, "current password is not right"),
    ];
    for (current, new, confirm, says) in cases {
        let response = change(&router, &mut browser, current, new, confirm).await;
        assert_eq!(response.status, 400, "{says}: {}", response.body);
        assert!(response.body.contains(says), "{says}: {}", response.body);
        assert!(response.body.contains("Nothing was changed"));
    }
    // A form from another site.
    let form = [
        ("csrf", "forged"),
        ("current_password", "wonderland"),
        ("new_password", STRONG),
        ("new_password_confirm", STRONG),
    ];
    assert_eq!(browser.post(&router, PAGE, &form).await.status, 403);
    assert!(signs_in(&router, "wonderland").await);
    assert!(!signs_in(&router, STRONG).await);
}

#[tokio::test]
async fn wrong_current_passwords_are_rate_limited_like_logins() {
    let (_t, router, mut browser, _) = signed_in_with(|site| {
        site.login_per_account.burst = 3;
        site.login_per_account.per_second = 0.001;
    })
    .await;
    // The login spent one; two more wrong guesses, then the limit.
    for _ in 0..2 {
        let response = change(&router, &mut browser, "guess", STRONG, STRONG).await;
        assert_eq!(response.status, 400);
    }
    let response = change(&router, &mut browser, "wonderland", STRONG, STRONG).await;
    assert_eq!(response.status, 429, "{}", response.body);
    assert!(response.header("retry-after").is_some());
    assert!(!signs_in(&router, STRONG).await);
}

#[tokio::test]
async fn no_password_page_when_the_configuration_forbids_it() {
    let (_t, router, mut browser, _) =
        signed_in_with(|site| site.account.password_change_allowed = false).await;
    let page = browser.get(&router, "/account/").await;
    assert!(page.body.contains(&escaped("href=\"/account/sessions\"")));
    assert!(!page
        .body
        .contains(&escaped("href=\"/account/password/change\"")));
    let csrf = csrf_of(&page.body);
    assert_eq!(browser.get(&router, PAGE).await.status, 403);
    let form = [
        ("csrf", csrf.as_str()),
        ("current_password", "wonderland"),
        ("new_password", STRONG),
        ("new_password_confirm", STRONG),
    ];
    let response = browser.post(&router, PAGE, &form).await;
    assert_eq!(response.status, 403, "{}", response.body);
    assert!(signs_in(&router, "wonderland").await);

    // Passwords off altogether: the same.
    let (mut t, _, _, _) = signed_in().await;
    let router = router_for(&t.state, "");
    let mut browser = Browser::default();
    browser.log_in(&router, "alice", "wonderland").await;
    let csrf = csrf_at(&router, &mut browser, "/account/").await;
    t.state.passwords = None;
    let router = router_for(&t.state, "");
    assert_eq!(browser.get(&router, PAGE).await.status, 403);
    let form = [
        ("csrf", csrf.as_str()),
        ("current_password", "wonderland"),
        ("new_password", STRONG),
        ("new_password_confirm", STRONG),
    ];
    assert_eq!(browser.post(&router, PAGE, &form).await.status, 403);
}

#[tokio::test]
async fn an_account_without_a_password_has_none_to_change() {
    let t = test_state().await;
    let router = router_for(&t.state, "");
    let carol = add_passwordless_user(&t, "carol").await;
    let mut browser = browser_of(&t, &router, &carol).await;
    let page = browser.get(&router, PAGE).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("has no password"), "{}", page.body);
    assert!(!page.body.contains("name=\"new_password\""));
    let form = [
        ("csrf", csrf_of(&page.body)),
        ("current_password", String::new()),
        ("new_password", STRONG.to_owned()),
        ("new_password_confirm", STRONG.to_owned()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let response = browser.post(&router, PAGE, &form).await;
    assert_eq!(response.status, 400);
    let mut repo = t.state.db.read().await.unwrap();
    assert!(repo
        .user_passwords()
        .active(&carol)
        .await
        .unwrap()
        .is_none());
}
