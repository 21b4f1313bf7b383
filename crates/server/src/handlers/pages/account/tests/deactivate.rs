//! Deactivating one's own account (with the password, or the username when
//! there is none), and approving a cross-signing reset.

use super::*;
use crate::handlers::oauth2::tests::introspect;

const PAGE: &str = "/account/deactivate";

async fn stored(t: &TestState, username: &str) -> User {
    let mut repo = t.state.db.read().await.unwrap();
    repo.users()
        .find_by_username(username)
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn a_wrong_password_deactivates_nothing() {
    let (t, router, mut browser, _) = signed_in().await;
    let page = browser.get(&router, PAGE).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("name=\"password\""), "{}", page.body);
    let csrf = csrf_of(&page.body);
    for (form, status) in [
        (vec![("csrf", csrf.as_str()), ("password", "nope")], 400),
        (vec![("csrf", csrf.as_str())], 400),
        // The username does not replace the password of an account with one.
        (vec![("csrf", csrf.as_str()), ("username", "alice")], 400),
        (vec![("csrf", "forged"), ("password", "wonderland")], 403),
    ] {
        let response = browser.post(&router, PAGE, &form).await;
        assert_eq!(response.status, status, "{form:?}: {}", response.body);
    }
    assert!(stored(&t, "alice").await.is_valid());
    assert_eq!(browser.get(&router, "/account/").await.status, 200);
}

#[tokio::test]
async fn deactivating_ends_everything_and_tells_the_homeserver() {
    let (t, router, mut browser, _) = signed_in().await;
    let phone = oauth_session(&router, "PHONE12345").await;
    let bot = compat_session(&router, "BOTDEVICE1").await;
    let csrf = csrf_at(&router, &mut browser, PAGE).await;
    let response = browser
        .post(
            &router,
            PAGE,
            &[("csrf", &csrf), ("password", "wonderland")],
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert!(response.body.contains("Account deactivated"));
    assert!(response.body.contains("@alice:example.com"));

    let alice = stored(&t, "alice").await;
    assert!(alice.deactivated_at.is_some() && alice.locked_at.is_some());
    assert!(introspect(&router, &phone).await["active"] == false);
    assert!(introspect(&router, &bot).await["active"] == false);
    // Signed out here, and nobody can sign in again.
    assert_eq!(browser.get(&router, "/account/").await.status, 303);
    let login = Browser::default()
        .log_in(&router, "alice", "wonderland")
        .await;
    assert_eq!(login.status, 403, "{}", login.body);
    let mut repo = t.state.db.read().await.unwrap();
    assert!(repo
        .browser_sessions()
        .active_of_user(alice.id)
        .await
        .unwrap()
        .is_empty());
    drop(repo);

    // The jobs deactivate the user on the homeserver.
    while run_jobs(&t).await > 0 {}
    let on_hs = t.homeserver.user("alice").unwrap();
    assert!(on_hs.deactivated && on_hs.locked, "{on_hs:?}");
}

#[tokio::test]
async fn an_account_without_password_confirms_with_its_username() {
    let t = test_state().await;
    let router = router_for(&t.state, "");
    let carol = add_passwordless_user(&t, "carol").await;
    let mut browser = browser_of(&t, &router, &carol).await;
    let page = browser.get(&router, PAGE).await;
    assert!(page.body.contains("name=\"username\""), "{}", page.body);
    assert!(!page.body.contains("name=\"password\""));
    let csrf = csrf_of(&page.body);
    for typed in ["", "alice", "@carol:elsewhere.example"] {
        let response = browser
            .post(&router, PAGE, &[("csrf", &csrf), ("username", typed)])
            .await;
        assert_eq!(response.status, 400, "{typed}");
        assert!(response.body.contains("That is not your username"));
    }
    assert!(stored(&t, "carol").await.is_valid());
    let response = browser
        .post(
            &router,
            PAGE,
            &[("csrf", &csrf), ("username", " @carol:example.com ")],
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert!(stored(&t, "carol").await.deactivated_at.is_some());
}

#[tokio::test]
async fn deactivation_can_be_switched_off() {
    let (t, router, mut browser, _) =
        signed_in_with(|site| site.account.account_deactivation_allowed = false).await;
    let page = browser.get(&router, "/account/").await;
    assert!(page.body.contains(&escaped("href=\"/account/sessions\"")));
    assert!(!page.body.contains(&escaped("href=\"/account/deactivate\"")));
    let csrf = csrf_of(&page.body);
    assert_eq!(browser.get(&router, PAGE).await.status, 403);
    let response = browser
        .post(
            &router,
            PAGE,
            &[("csrf", &csrf), ("password", "wonderland")],
        )
        .await;
    assert_eq!(response.status, 403);
    assert!(stored(&t, "alice").await.is_valid());
    // The action link leads to the page that says so.
    let response = browser
        .get(&router, "/account/?action=org.matrix.account_deactivate")
        .await;
    assert_eq!(response.header("location").as_deref(), Some(PAGE));
}

#[tokio::test]
async fn a_cross_signing_reset_is_approved_on_the_homeserver() {
    let (t, router, mut browser, _) = signed_in().await;
    let path = "/account/reset-cross-signing";
    let page = browser.get(&router, path).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Allow the reset"));
    let csrf = csrf_of(&page.body);

    let forged = browser.post(&router, path, &[("csrf", "forged")]).await;
    assert_eq!(forged.status, 403);
    t.homeserver.set_down(true);
    let down = browser.post(&router, path, &[("csrf", &csrf)]).await;
    assert_eq!(down.status, 503, "{}", down.body);
    t.homeserver.set_down(false);
    assert!(t.homeserver.cross_signing_resets().is_empty());

    // Alice was never provisioned: she is, on the way.
    let response = browser.post(&router, path, &[("csrf", &csrf)]).await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert!(
        response.body.contains("within 10 minutes"),
        "{}",
        response.body
    );
    assert_eq!(t.homeserver.cross_signing_resets(), vec!["alice"]);

    let signed_out = Browser::default().get(&router, path).await;
    assert_eq!(signed_out.status, 303);
}
