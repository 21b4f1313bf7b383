//! The sessions list and one session: ending an OAuth or compat session
//! makes its token inactive and removes its device; someone else's session
//! is a 404 that changes nothing.

use super::*;
use crate::handlers::oauth2::tests::introspect;

/// The session ids the list links to, in its order.
fn listed(html: &str) -> Vec<String> {
    html.split("data-session-id=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().to_owned())
        .collect()
}

/// The id of the session whose list entry mentions `text`.
fn session_with(html: &str, text: &str) -> String {
    html.split("data-session-id=\"")
        .skip(1)
        .find(|entry| entry.split("</li>").next().unwrap().contains(text))
        .map(|entry| entry.split('"').next().unwrap().to_owned())
        .unwrap_or_else(|| panic!("no session mentions {text}: {html}"))
}

async fn active(router: &axum::Router, token: &str) -> bool {
    introspect(router, token).await["active"] == true
}

#[tokio::test]
async fn every_kind_of_session_is_listed() {
    let (_t, router, mut browser, _) = signed_in().await;
    oauth_session(&router, "PHONE12345").await;
    compat_session(&router, "BOTDEVICE1").await;
    let page = browser.get(&router, "/account/sessions").await;
    assert_eq!(page.status, 200);
    let body = &page.body;
    // This browser, the browser that consented for the app, the app, the bot.
    assert_eq!(listed(body).len(), 4, "{body}");
    assert!(body.contains("This browser"));
    assert!(body.contains("Test App"), "the client's name: {body}");
    assert!(body.contains("Device PHONE12345"));
    assert!(
        body.contains("Alice&#x27;s bot") || body.contains("Alice's bot"),
        "{body}"
    );
    assert!(body.contains("Device BOTDEVICE1"));
    assert!(body.contains("Sign out of all other sessions (3)"));
    // The current browser comes first.
    let first = &listed(body)[0];
    let page = browser
        .get(&router, &format!("/account/sessions/{first}"))
        .await;
    assert!(
        page.body.contains("Sign out of this browser"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn ending_an_application_session_ends_its_token_and_device() {
    let (t, router, mut browser, _) = signed_in().await;
    let phone = oauth_session(&router, "PHONE12345").await;
    let bot = compat_session(&router, "BOTDEVICE1").await;
    assert!(t
        .homeserver
        .user("alice")
        .unwrap()
        .devices
        .contains("PHONE12345"));

    let page = browser.get(&router, "/account/sessions").await;
    let csrf = csrf_of(&page.body);
    let id = session_with(&page.body, "PHONE12345");
    let response = browser
        .post(
            &router,
            &format!("/account/sessions/{id}"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(response.status, 303, "{}", response.body);
    assert_eq!(
        response.header("location").as_deref(),
        Some("/account/sessions?notice=session_ended")
    );
    assert!(
        !active(&router, &phone).await,
        "the token is refused at once"
    );
    assert!(active(&router, &bot).await, "the other session goes on");
    // The sync job removes the device from the homeserver.
    run_jobs(&t).await;
    let devices = t.homeserver.user("alice").unwrap().devices;
    assert!(!devices.contains("PHONE12345"), "{devices:?}");
    assert!(devices.contains("BOTDEVICE1"), "{devices:?}");

    // The compat session, the same way.
    let page = browser.get(&router, "/account/sessions").await;
    let id = session_with(&page.body, "BOTDEVICE1");
    let response = browser
        .post(
            &router,
            &format!("/account/sessions/{id}"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(response.status, 303);
    assert!(!active(&router, &bot).await);
    // Ended already: a 404, not an error.
    let again = browser
        .post(
            &router,
            &format!("/account/sessions/{id}"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(again.status, 404);
    run_jobs(&t).await;
    assert!(t.homeserver.user("alice").unwrap().devices.is_empty());
}

#[tokio::test]
async fn someone_elses_session_is_not_found_and_stays() {
    let (t, router, mut browser, _) = signed_in().await;
    add_user(&t.state, "bob", "builder").await;
    let mut bobs_browser = Browser::default();
    bobs_browser.log_in(&router, "bob", "builder").await;
    let bobs_page = bobs_browser.get(&router, "/account/sessions").await;
    let bobs = listed(&bobs_page.body)[0].clone();

    let csrf = csrf_at(&router, &mut browser, "/account/sessions").await;
    let path = format!("/account/sessions/{bobs}");
    assert_eq!(browser.get(&router, &path).await.status, 404);
    let response = browser.post(&router, &path, &[("csrf", &csrf)]).await;
    assert_eq!(response.status, 404, "{}", response.body);
    assert!(response.body.contains("Session not found"));
    // Bob is still signed in.
    assert_eq!(bobs_browser.get(&router, "/account/").await.status, 200);
    // Ids that are no session at all.
    for junk in ["x", "01ARZ3NDEKTSV4RRFFQ69G5FAV", &"9".repeat(300)] {
        let path = format!("/account/sessions/{junk}");
        assert_eq!(browser.get(&router, &path).await.status, 404, "{junk}");
        let response = browser.post(&router, &path, &[("csrf", &csrf)]).await;
        assert_eq!(response.status, 404, "{junk}");
    }
    // Without the CSRF token, not even the own session ends.
    let page = browser.get(&router, "/account/sessions").await;
    let own = listed(&page.body)[0].clone();
    let path = format!("/account/sessions/{own}");
    assert_eq!(
        browser.post(&router, &path, &[("csrf", "x")]).await.status,
        403
    );
    assert_eq!(browser.get(&router, "/account/").await.status, 200);
}

#[tokio::test]
async fn signing_out_everywhere_else_keeps_this_browser() {
    let (t, router, mut browser, _) = signed_in().await;
    let phone = oauth_session(&router, "PHONE12345").await;
    let bot = compat_session(&router, "BOTDEVICE1").await;
    let mut other_browser = Browser::default();
    other_browser.log_in(&router, "alice", "wonderland").await;

    let csrf = csrf_at(&router, &mut browser, "/account/sessions").await;
    let response = browser
        .post(&router, "/account/sessions", &[("csrf", &csrf)])
        .await;
    assert_eq!(response.status, 303, "{}", response.body);
    assert!(!active(&router, &phone).await);
    assert!(!active(&router, &bot).await);
    assert_eq!(other_browser.get(&router, "/account/").await.status, 303);
    let page = browser
        .get(&router, "/account/sessions?notice=others_ended")
        .await;
    assert_eq!(page.status, 200);
    assert_eq!(listed(&page.body).len(), 1);
    assert!(page
        .body
        .contains("All your other sessions were signed out."));
    assert!(!page.body.contains("Sign out of all other sessions"));
    run_jobs(&t).await;
    assert!(t.homeserver.user("alice").unwrap().devices.is_empty());
}

#[tokio::test]
async fn ending_this_browsers_session_signs_it_out() {
    let (_t, router, mut browser, _) = signed_in().await;
    let page = browser.get(&router, "/account/sessions").await;
    let own = listed(&page.body)[0].clone();
    let response = browser
        .post(
            &router,
            &format!("/account/sessions/{own}"),
            &[("csrf", &csrf_of(&page.body))],
        )
        .await;
    assert_eq!(response.status, 200);
    assert!(response.body.contains("You are signed out"));
    assert_eq!(browser.get(&router, "/account/").await.status, 303);
}

#[tokio::test]
async fn a_session_used_through_the_homeserver_shows_when_it_was_last_active() {
    let (t, router, mut browser, _) = signed_in().await;
    let token = oauth_session(&router, "PHONE12345").await;
    let before = browser.get(&router, "/account/sessions").await;
    let app = session_with(&before.body, "Device PHONE12345");
    let page = browser
        .get(&router, &format!("/account/sessions/{app}"))
        .await;
    assert!(page.body.contains("<dd>Unknown</dd>"), "{}", page.body);
    // Synapse introspects the token on each of the client's requests; the
    // use is written in the next flush.
    t.clock.advance(chrono::Duration::minutes(3));
    assert!(active(&router, &token).await);
    t.state.activity.flush(&t.state.db).await.unwrap();
    let page = browser
        .get(&router, &format!("/account/sessions/{app}"))
        .await;
    let when = t.clock.now().format("%Y-%m-%d %H:%M").to_string();
    assert!(page.body.contains(&when), "{when}: {}", page.body);
}
