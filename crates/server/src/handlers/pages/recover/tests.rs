//! Password recovery through the real router, in process, with the
//! in-memory mailer: the link mailed to the address sets a new password
//! once and can end every session; an unknown address gets the same page
//! and no mail; expired, reused and made-up links, the limits, CSRF and a
//! closed feature are refused and change nothing.

use std::sync::Arc;

use chrono::Duration;

use crate::{
    jobs::{run_batch, JobContext},
    ops,
    test_support::{add_user, csrf_of, router_for, test_state, Browser, TestResponse, TestState},
};

const NEW_PASSWORD: &str = "a brand new passphrase";

async fn open() -> (TestState, axum::Router) {
    let mut t = test_state().await;
    let mut site = (*t.state.site).clone();
    site.account.password_recovery_enabled = true;
    t.state.site = Arc::new(site);
    let router = router_for(&t.state, "");
    (t, router)
}

/// Alice, with the password `wonderland` and the address alice@example.org.
async fn alice(t: &TestState) -> mxauth_model::User {
    let alice = add_user(&t.state, "alice", "wonderland").await;
    let mut repo = t.state.db.begin().await.unwrap();
    ops::users::add_email(&mut repo, (&t.state).into(), &alice, "alice@example.org")
        .await
        .unwrap();
    repo.commit().await.unwrap();
    // Its provisioning, out of the way of the counts below.
    run_jobs(t).await;
    // Passwords are ordered by time: a new one is set a second later.
    t.clock.advance(Duration::seconds(1));
    alice
}

async fn run_jobs(t: &TestState) -> usize {
    run_batch(&JobContext::from_state(&t.state), "test")
        .await
        .unwrap()
}

async fn ask(router: &axum::Router, email: &str) -> TestResponse {
    let mut browser = Browser::default();
    let page = browser.get(router, "/recover").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = csrf_of(&page.body);
    browser
        .post(router, "/recover", &[("csrf", &csrf), ("email", email)])
        .await
}

/// The path and query of the link in the last mail.
fn mailed_link(t: &TestState) -> String {
    let sent = t.mailer.sent();
    let text = &sent.last().expect("a mail was sent").content.text;
    let start = text.find("https://auth.example.com/").expect("a link");
    let link: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    link.trim_start_matches("https://auth.example.com")
        .to_owned()
}

async fn set_password(router: &axum::Router, link: &str, end_sessions: bool) -> TestResponse {
    let mut browser = Browser::default();
    let page = browser.get(router, link).await;
    if page.status != 200 {
        return page;
    }
    let csrf = csrf_of(&page.body);
    let ticket = link.split("ticket=").nth(1).unwrap().to_owned();
    let mut form = vec![
        ("csrf", csrf.as_str()),
        ("ticket", ticket.as_str()),
        ("new_password", NEW_PASSWORD),
        ("new_password_confirm", NEW_PASSWORD),
    ];
    if end_sessions {
        form.push(("end_sessions", "on"));
    }
    browser
        .post(router, "/account/password/recovery", &form)
        .await
}

async fn signs_in(router: &axum::Router, password: &str) -> bool {
    Browser::default()
        .log_in(router, "alice", password)
        .await
        .status
        == 303
}

#[tokio::test]
async fn the_mailed_link_sets_a_new_password_once_and_ends_every_session() {
    let (t, router) = open().await;
    alice(&t).await;
    let mut signed_in = Browser::default();
    assert_eq!(
        signed_in
            .log_in(&router, "alice", "wonderland")
            .await
            .status,
        303
    );

    let asked = ask(&router, "ALICE@example.org").await;
    let progress = asked.header("location").unwrap();
    assert!(progress.starts_with("/recover/progress/"), "{progress}");
    let page = Browser::default().get(&router, &progress).await;
    assert!(page.body.contains("Check your email"), "{}", page.body);
    assert_eq!(run_jobs(&t).await, 1);
    let link = mailed_link(&t);
    assert!(
        link.starts_with("/account/password/recovery?ticket="),
        "{link}"
    );
    // The ticket is stored as a digest only.
    let ticket = link.split("ticket=").nth(1).unwrap();
    let mut repo = t.state.db.read().await.unwrap();
    assert!(repo.recovery().find_ticket(ticket).await.unwrap().is_none());
    drop(repo);

    let form = Browser::default().get(&router, &link).await;
    assert_eq!(form.status, 200);
    assert!(form.body.contains("@alice:example.com"), "{}", form.body);
    let done = set_password(&router, &link, true).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("is set"), "{}", done.body);
    assert!(signs_in(&router, NEW_PASSWORD).await);
    assert!(!signs_in(&router, "wonderland").await);
    // The browser that was signed in before is signed out.
    let account = signed_in.get(&router, "/account/").await;
    assert_eq!(account.status, 303, "{}", account.body);

    // The link works once.
    let again = Browser::default().get(&router, &link).await;
    assert_eq!(again.status, 410);
    assert!(again.body.contains("already used"), "{}", again.body);
}

#[tokio::test]
async fn an_unknown_address_gets_the_same_page_and_no_mail() {
    let (t, router) = open().await;
    alice(&t).await;
    let known = ask(&router, "alice@example.org").await;
    let unknown = ask(&router, "nobody@example.org").await;
    assert_eq!(known.status, unknown.status);
    let known_page = Browser::default()
        .get(&router, &known.header("location").unwrap())
        .await;
    let unknown_page = Browser::default()
        .get(&router, &unknown.header("location").unwrap())
        .await;
    let words = |body: &str| {
        body.replace("alice@example.org", "X")
            .replace("nobody@example.org", "X")
    };
    let strip_csrf = |body: String| {
        let csrf = csrf_of(&body);
        body.replace(&csrf, "")
    };
    let id = |r: &TestResponse| {
        r.header("location")
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        strip_csrf(words(&known_page.body)).replace(&id(&known), ""),
        strip_csrf(words(&unknown_page.body)).replace(&id(&unknown), ""),
    );
    run_jobs(&t).await;
    assert_eq!(t.mailer.sent().len(), 1, "only alice's address gets mail");
}

#[tokio::test]
async fn expired_and_made_up_links_are_refused() {
    let (t, router) = open().await;
    alice(&t).await;
    ask(&router, "alice@example.org").await;
    run_jobs(&t).await;
    let link = mailed_link(&t);
    let made_up = "/account/password/recovery?ticket=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    assert_eq!(Browser::default().get(&router, made_up).await.status, 404);
    t.clock.advance(Duration::minutes(11));
    let expired = set_password(&router, &link, false).await;
    assert_eq!(expired.status, 410);
    assert!(expired.body.contains("expired"));
    assert!(signs_in(&router, "wonderland").await, "nothing changed");
}

#[tokio::test]
async fn asking_is_limited_per_address_and_refuses_bad_input() {
    let (t, router) = open().await;
    alice(&t).await;
    for _ in 0..3 {
        assert_eq!(ask(&router, "alice@example.org").await.status, 303);
    }
    let limited = ask(&router, "alice@example.org").await;
    assert_eq!(limited.status, 429, "{}", limited.body);
    let bad = ask(&router, "not an address").await;
    assert_eq!(bad.status, 400);
    // A forged form does nothing.
    let forged = Browser::default()
        .post(
            &router,
            "/recover",
            &[("csrf", "x"), ("email", "alice@example.org")],
        )
        .await;
    assert!(forged.status >= 400);
    assert_eq!(run_jobs(&t).await, 3);
}

#[tokio::test]
async fn a_weak_or_mismatched_new_password_is_refused_and_the_link_still_works() {
    let (t, router) = open().await;
    alice(&t).await;
    ask(&router, "alice@example.org").await;
    run_jobs(&t).await;
    let link = mailed_link(&t);
    let mut browser = Browser::default();
    let page = browser.get(&router, &link).await;
    let csrf = csrf_of(&page.body);
    let ticket = link.split("ticket=").nth(1).unwrap();
    let mismatch = browser
        .post(
            &router,
            "/account/password/recovery",
            &[
                ("csrf", &csrf),
                ("ticket", ticket),
                ("new_password", NEW_PASSWORD),
                ("new_password_confirm", "other"),
            ],
        )
        .await;
    assert_eq!(mismatch.status, 400);
    assert_eq!(set_password(&router, &link, false).await.status, 200);
}

#[tokio::test]
async fn recovery_off_is_not_found() {
    let t = test_state().await;
    let router = router_for(&t.state, "");
    assert_eq!(
        Browser::default().get(&router, "/recover").await.status,
        404
    );
    let login = Browser::default().get(&router, "/login").await;
    assert!(!login.body.contains("forgot-password"));
}
