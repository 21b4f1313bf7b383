//! The profile: the display name on the homeserver, email addresses.

use mxauth_model::Clock;
use mxauth_storage::new_ulid;

use super::*;
use crate::{
    homeserver::ProvisionRequest,
    test_support::{post_form, TestResponse},
};

async fn provision(t: &TestState, localpart: &str, name: Option<&str>) {
    let request = ProvisionRequest {
        localpart: localpart.into(),
        display_name: Some(name.map(str::to_owned)),
        ..ProvisionRequest::default()
    };
    use crate::homeserver::Homeserver;
    t.homeserver.provision_user(&request).await.unwrap();
}

async fn post_name(router: &axum::Router, browser: &mut Browser, name: &str) -> TestResponse {
    let csrf = csrf_at(router, browser, "/account/").await;
    browser
        .post(
            router,
            "/account/",
            &[("csrf", &csrf), ("display_name", name)],
        )
        .await
}

fn display_name(t: &TestState) -> Option<String> {
    t.homeserver.user("alice").and_then(|u| u.display_name)
}

#[tokio::test]
async fn signed_out_people_log_in_first_and_come_back() {
    let t = test_state().await;
    let router = router_for(&t.state, "");
    let response = Browser::default().get(&router, "/account/").await;
    assert_eq!(response.status, 303);
    assert_eq!(
        response.header("location").as_deref(),
        Some("/login?next=%2Faccount%2F")
    );
    // A form posted without a session changes nothing and asks to log in.
    let page = Browser::default().get(&router, "/login").await;
    let cookie = page.header("set-cookie").unwrap();
    let cookie = cookie.split(';').next().unwrap();
    let response = post_form(
        &router,
        "/account/",
        &[("csrf", &csrf_of(&page.body)), ("display_name", "Mallory")],
        &[("cookie", cookie)],
    )
    .await;
    assert_eq!(response.status, 303);
    assert!(response
        .header("location")
        .unwrap()
        .starts_with("/login?next="));
}

#[tokio::test]
async fn the_profile_shows_who_and_the_homeservers_display_name() {
    let (t, router, mut browser, _) = signed_in().await;
    provision(&t, "alice", Some("Alice Liddell")).await;
    let page = browser.get(&router, "/account/").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.header("x-frame-options").as_deref(), Some("DENY"));
    assert!(page.body.contains("@alice:example.com"), "{}", page.body);
    assert!(
        page.body.contains("value=\"Alice Liddell\""),
        "{}",
        page.body
    );
    // Links to the other pages, as the configuration allows.
    for link in [
        "/account/sessions",
        "/account/password/change",
        "/account/deactivate",
    ] {
        let link = escaped(&format!("href=\"{link}\""));
        assert!(page.body.contains(&link), "{link}");
    }

    // The homeserver is down: the page still shows, and says so.
    t.homeserver.set_down(true);
    let page = browser.get(&router, "/account/").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("could not be asked"), "{}", page.body);
}

#[tokio::test]
async fn the_display_name_is_set_and_removed_on_the_homeserver() {
    let (t, router, mut browser, _) = signed_in().await;
    // Alice was never provisioned: the page provisions her on the way.
    let response = post_name(&router, &mut browser, "  Alice  ").await;
    assert_eq!(response.status, 303, "{}", response.body);
    assert_eq!(
        response.header("location").as_deref(),
        Some("/account/?notice=display_name_saved")
    );
    assert_eq!(display_name(&t).as_deref(), Some("Alice"));
    let page = browser
        .get(&router, "/account/?notice=display_name_saved")
        .await;
    assert!(page.body.contains("Your display name was saved."));

    let response = post_name(&router, &mut browser, "").await;
    assert_eq!(response.status, 303);
    assert_eq!(display_name(&t), None);
    // An unknown notice is ignored, not an error.
    let page = browser.get(&router, "/account/?notice=%3Cscript%3E").await;
    assert_eq!(page.status, 200);
}

#[tokio::test]
async fn a_refused_display_name_changes_nothing() {
    let (t, router, mut browser, _) = signed_in().await;
    provision(&t, "alice", Some("Alice")).await;

    let response = post_name(&router, &mut browser, &"x".repeat(257)).await;
    assert_eq!(response.status, 400);
    assert!(response.body.contains("too long"), "{}", response.body);
    assert_eq!(display_name(&t).as_deref(), Some("Alice"));

    // Not our form: no field at all.
    let csrf = csrf_at(&router, &mut browser, "/account/").await;
    let response = browser.post(&router, "/account/", &[("csrf", &csrf)]).await;
    assert_eq!(response.status, 400);

    // A form from another site: no CSRF token, or a wrong one.
    for token in ["", "not-the-token"] {
        let response = browser
            .post(
                &router,
                "/account/",
                &[("csrf", token), ("display_name", "Mallory")],
            )
            .await;
        assert_eq!(response.status, 403, "{}", response.body);
        assert!(response.body.contains("This form has expired"));
    }

    // The homeserver is down: an error page, nothing changed.
    t.homeserver.set_down(true);
    let csrf = csrf.clone();
    let response = browser
        .post(
            &router,
            "/account/",
            &[("csrf", &csrf), ("display_name", "Bob")],
        )
        .await;
    assert_eq!(response.status, 503, "{}", response.body);
    assert!(
        response.body.contains("nothing was changed"),
        "{}",
        response.body
    );
    t.homeserver.set_down(false);
    assert_eq!(display_name(&t).as_deref(), Some("Alice"));
}

#[tokio::test]
async fn display_names_stay_when_the_configuration_forbids_changing_them() {
    let (t, router, mut browser, _) =
        signed_in_with(|site| site.account.displayname_change_allowed = false).await;
    provision(&t, "alice", Some("Alice")).await;
    let page = browser.get(&router, "/account/").await;
    assert!(
        !page.body.contains("name=\"display_name\""),
        "{}",
        page.body
    );
    let response = post_name(&router, &mut browser, "Bob").await;
    assert_eq!(response.status, 403);
    assert!(response.body.contains("displayname_change_allowed"));
    assert_eq!(display_name(&t).as_deref(), Some("Alice"));
}

async fn add_email(t: &TestState, user: &User, email: &str) -> String {
    let now = t.clock.now();
    let mut repo = t.state.db.begin().await.unwrap();
    let added = repo
        .user_emails()
        .add(new_ulid(now, &mut rand::rngs::OsRng), user, email, now)
        .await
        .unwrap();
    repo.commit().await.unwrap();
    added.id.to_string()
}

async fn emails_of(t: &TestState, user: &User) -> Vec<String> {
    let mut repo = t.state.db.read().await.unwrap();
    let emails = repo.user_emails().list(user).await.unwrap();
    emails.into_iter().map(|e| e.email).collect()
}

#[tokio::test]
async fn an_email_address_is_removed_and_the_homeserver_told() {
    let (t, router, mut browser, alice) = signed_in().await;
    provision(&t, "alice", None).await;
    let home = add_email(&t, &alice, "alice@example.com").await;
    add_email(&t, &alice, "alice@work.example").await;
    let bob = add_user(&t.state, "bob", "builder").await;
    let bobs = add_email(&t, &bob, "bob@example.com").await;

    let page = browser.get(&router, "/account/").await;
    assert!(page.body.contains("alice@work.example"));
    assert!(!page.body.contains("bob@example.com"));
    // Adding goes through a mailed code (tests/email_add.rs).
    assert!(page.body.contains("Add an email address"));
    let csrf = csrf_of(&page.body);

    // Someone else's address, an id that is no id, no id at all: refused,
    // nothing removed.
    for (form, status) in [
        (
            vec![("csrf", csrf.as_str()), ("email_id", bobs.as_str())],
            404,
        ),
        (vec![("csrf", csrf.as_str()), ("email_id", "x")], 404),
        (vec![("csrf", csrf.as_str())], 400),
        (vec![("csrf", "wrong"), ("email_id", home.as_str())], 403),
    ] {
        let response = browser.post(&router, "/account/emails", &form).await;
        assert_eq!(response.status, status, "{form:?}: {}", response.body);
    }
    assert_eq!(emails_of(&t, &alice).await.len(), 2);
    assert_eq!(emails_of(&t, &bob).await, vec!["bob@example.com"]);

    let form = [("csrf", csrf.as_str()), ("email_id", home.as_str())];
    let response = browser.post(&router, "/account/emails", &form).await;
    assert_eq!(response.status, 303, "{}", response.body);
    assert_eq!(
        response.header("location").as_deref(),
        Some("/account/?notice=email_removed")
    );
    assert_eq!(emails_of(&t, &alice).await, vec!["alice@work.example"]);
    // Removing it again: it is gone.
    let response = browser.post(&router, "/account/emails", &form).await;
    assert_eq!(response.status, 404);

    // Provisioning sends the homeserver the new list.
    assert_eq!(run_jobs(&t).await, 1);
    assert_eq!(
        t.homeserver.user("alice").unwrap().emails,
        vec!["alice@work.example"]
    );
}

#[tokio::test]
async fn emails_stay_when_the_configuration_forbids_changing_them() {
    let (t, router, mut browser, alice) =
        signed_in_with(|site| site.account.email_change_allowed = false).await;
    let id = add_email(&t, &alice, "alice@example.com").await;
    let page = browser.get(&router, "/account/").await;
    assert!(page.body.contains("alice@example.com"));
    assert!(!page.body.contains("name=\"email_id\""));
    let form = [("csrf", csrf_of(&page.body)), ("email_id", id)];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let response = browser.post(&router, "/account/emails", &form).await;
    assert_eq!(response.status, 403);
    assert_eq!(emails_of(&t, &alice).await, vec!["alice@example.com"]);
}
