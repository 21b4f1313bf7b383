//! The account pages through the real router, in process: each page, each
//! form, and each refusal (signed out, wrong CSRF token, disallowed by the
//! configuration, bad input, someone else's ids), checking that a refusal
//! changes nothing.

mod actions;
mod deactivate;
mod email_add;
mod password;
mod profile;
mod sessions;

use std::sync::Arc;

use mxauth_model::{Clock, User};
use mxauth_storage::new_ulid;
use serde_json::json;

use crate::{
    handlers::oauth2::tests::{authorize_and_consent, register_public, token, CALLBACK, VERIFIER},
    jobs::{run_batch, JobContext},
    state::SiteConfig,
    test_support::{add_user, csrf_of, post_json, router_for, test_state, Browser, TestState},
};

/// A state with alice (password `wonderland`), a router, and a browser
/// signed in as her.
async fn signed_in() -> (TestState, axum::Router, Browser, User) {
    signed_in_with(|_| {}).await
}

/// As [`signed_in`], with the site's settings changed by `change` first.
async fn signed_in_with(
    change: impl FnOnce(&mut SiteConfig),
) -> (TestState, axum::Router, Browser, User) {
    let mut t = test_state().await;
    let mut site = (*t.state.site).clone();
    change(&mut site);
    t.state.site = Arc::new(site);
    let router = router_for(&t.state, "");
    let alice = add_user(&t.state, "alice", "wonderland").await;
    let mut browser = Browser::default();
    let response = browser.log_in(&router, "alice", "wonderland").await;
    assert_eq!(response.status, 303, "{}", response.body);
    (t, router, browser, alice)
}

/// `text` as the pages' HTML escaping writes it (`/` is `&#x2f;`).
fn escaped(text: &str) -> String {
    text.replace('/', "&#x2f;")
}

/// The CSRF token of the page at `path`, which must answer 200.
async fn csrf_at(router: &axum::Router, browser: &mut Browser, path: &str) -> String {
    let page = browser.get(router, path).await;
    assert_eq!(page.status, 200, "{path}: {}", page.body);
    csrf_of(&page.body)
}

/// Runs the queued jobs against the fake homeserver; returns how many ran.
async fn run_jobs(t: &TestState) -> usize {
    let ctx = JobContext::from_state(&t.state);
    run_batch(&ctx, "test").await.unwrap()
}

/// Alice signs in to an OAuth application with the device `device`;
/// returns its access token.
async fn oauth_session(router: &axum::Router, device: &str) -> String {
    let client_id = register_public(router).await;
    let scope = format!("openid urn:matrix:client:api:* urn:matrix:client:device:{device}");
    let code = authorize_and_consent(router, &mut Browser::default(), &client_id, &scope).await;
    let response = token(
        router,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
            ("client_id", &client_id),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.body);
    response.json()["access_token"].as_str().unwrap().to_owned()
}

/// Alice signs in through the legacy login API with the device `device`;
/// returns its access token.
async fn compat_session(router: &axum::Router, device: &str) -> String {
    let body = json!({
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": "alice"},
        "password": "wonderland",
        "device_id": device,
        "initial_device_display_name": "Alice's bot",
    });
    let response = post_json(router, "/_matrix/client/v3/login", body, None).await;
    assert_eq!(response.status, 200, "{}", response.body);
    response.json()["access_token"].as_str().unwrap().to_owned()
}

/// A user without a password (signs in through an upstream provider).
async fn add_passwordless_user(t: &TestState, username: &str) -> User {
    let now = t.clock.now();
    let mut repo = t.state.db.begin().await.unwrap();
    let user = repo
        .users()
        .add(new_ulid(now, &mut rand::rngs::OsRng), username, now)
        .await
        .unwrap();
    repo.commit().await.unwrap();
    user
}

/// A browser session for `user`, as if they had signed in through a
/// provider: the cookie a [`Browser`] needs.
async fn browser_of(t: &TestState, router: &axum::Router, user: &User) -> Browser {
    let now = t.clock.now();
    let mut repo = t.state.db.begin().await.unwrap();
    let session = repo
        .browser_sessions()
        .add(new_ulid(now, &mut rand::rngs::OsRng), user, None, now)
        .await
        .unwrap();
    repo.commit().await.unwrap();
    let cookie = crate::cookies::CookieData {
        browser_session: Some(session.id),
        ..Default::default()
    };
    let header = t.state.cookies.header(&cookie);
    let pair = header
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let mut browser = Browser::with_cookie(pair);
    // The first page sets the CSRF token.
    let page = browser.get(router, "/account/").await;
    assert_eq!(page.status, 200, "{}", page.body);
    browser
}
