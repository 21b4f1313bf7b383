//! Registration through the real router, in process, with the in-memory
//! mailer and the fake homeserver: the whole walk (form, mailed code,
//! token, display name, finish, back to `next`), `prompt=create`, and each
//! refusal — closed registration, CSRF, bad or taken usernames, weak or
//! mismatched passwords, missing terms, wrong codes, missing, unknown or
//! used-up tokens, another browser, an expired registration — checking
//! that a refusal creates nobody.

use std::sync::Arc;

use chrono::Duration;

use crate::{
    jobs::{run_batch, JobContext},
    ops,
    passwords::{Algorithm, PasswordManager, Scheme},
    state::SiteConfig,
    test_support::{add_user, csrf_of, router_for, test_state, Browser, TestResponse, TestState},
};

const NEXT: &str = "/account/";
const PASSWORD: &str = "correct horse battery staple";

/// A state with registration on, changed by `change`.
async fn open_with(change: impl FnOnce(&mut SiteConfig)) -> (TestState, axum::Router) {
    let mut t = test_state().await;
    let mut site = (*t.state.site).clone();
    site.account.password_registration_enabled = true;
    change(&mut site);
    t.state.site = Arc::new(site);
    let router = router_for(&t.state, "");
    (t, router)
}

async fn run_jobs(t: &TestState) -> usize {
    run_batch(&JobContext::from_state(&t.state), "test")
        .await
        .unwrap()
}

/// The 6-digit code in the last mail sent.
fn mailed_code(t: &TestState) -> String {
    let sent = t.mailer.sent();
    let text = &sent.last().expect("a mail was sent").content.text;
    text.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .expect("a 6-digit code in the mail")
        .to_owned()
}

/// Opens the form and submits it with `fields` over these defaults.
async fn submit_form(
    router: &axum::Router,
    browser: &mut Browser,
    fields: &[(&str, &str)],
) -> TestResponse {
    let page = browser
        .get(router, "/register/password?next=%2Faccount%2F")
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = csrf_of(&page.body);
    let mut form: Vec<(&str, &str)> = vec![
        ("csrf", &csrf),
        ("next", NEXT),
        ("username", "alice"),
        ("email", "alice@example.org"),
        ("password", PASSWORD),
        ("password_confirm", PASSWORD),
        ("accept_terms", "on"),
    ];
    for (name, value) in fields {
        form.retain(|(n, _)| n != name);
        form.push((name, value));
    }
    browser.post(router, "/register/password", &form).await
}

/// Posts `form` (plus the CSRF token) to the step page at `path`.
async fn step(
    router: &axum::Router,
    browser: &mut Browser,
    path: &str,
    form: &[(&str, &str)],
) -> TestResponse {
    let page = browser.get(router, path).await;
    assert_eq!(page.status, 200, "{path}: {}", page.body);
    let csrf = csrf_of(&page.body);
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(form);
    browser.post(router, path, &all).await
}

fn location(response: &TestResponse) -> String {
    let error = response
        .body
        .split("class=\"error\"")
        .nth(1)
        .unwrap_or_default();
    let error: String = error.chars().take(200).collect();
    assert_eq!(response.status, 303, "{error}");
    response.header("location").unwrap()
}

async fn user_count(t: &TestState) -> i64 {
    t.state
        .db
        .read()
        .await
        .unwrap()
        .users()
        .count()
        .await
        .unwrap()
}

async fn issue(t: &TestState, limit: Option<u64>) -> String {
    let mut repo = t.state.db.begin().await.unwrap();
    let token = ops::registration::issue_token(&mut repo, (&t.state).into(), None, limit, None)
        .await
        .unwrap();
    repo.commit().await.unwrap();
    token.token
}

#[tokio::test]
async fn a_person_registers_with_code_token_and_display_name_and_lands_on_next() {
    let (t, router) = open_with(|site| {
        site.account.password_registration_token_required = true;
        site.tos_uri = Some("https://example.com/terms".into());
    })
    .await;
    let token = issue(&t, Some(1)).await;
    let mut browser = Browser::default();

    // With no provider, /register goes straight to the form.
    let choose = browser.get(&router, "/register?next=%2Faccount%2F").await;
    assert_eq!(location(&choose), "/register/password?next=%2Faccount%2F");
    let form = browser.get(&router, "/register/password").await;
    for field in [
        "username",
        "email",
        "password",
        "password_confirm",
        "accept_terms",
        "csrf",
    ] {
        assert!(form.body.contains(&format!("name=\"{field}\"")), "{field}");
    }

    let verify = location(&submit_form(&router, &mut browser, &[]).await);
    assert!(verify.ends_with("/verify-email"), "{verify}");
    assert_eq!(run_jobs(&t).await, 1, "the code is mailed by a job");
    let code = mailed_code(&t);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let refused = step(&router, &mut browser, &verify, &[("code", wrong)]).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.body.contains("Wrong code"));

    let token_step = location(&step(&router, &mut browser, &verify, &[("code", &code)]).await);
    assert!(token_step.ends_with("/token"), "{token_step}");
    let unknown = step(&router, &mut browser, &token_step, &[("token", "nope")]).await;
    assert_eq!(unknown.status, 400);
    assert!(unknown.body.contains("not valid"), "{}", unknown.body);

    let name_step = location(&step(&router, &mut browser, &token_step, &[("token", &token)]).await);
    assert!(name_step.ends_with("/display-name"), "{name_step}");
    let too_long = "x".repeat(300);
    let refused = step(
        &router,
        &mut browser,
        &name_step,
        &[("display_name", &too_long), ("action", "set")],
    )
    .await;
    assert_eq!(refused.status, 400);

    let finish = location(
        &step(
            &router,
            &mut browser,
            &name_step,
            &[("display_name", "Alice Liddell"), ("action", "set")],
        )
        .await,
    );
    assert!(finish.ends_with("/finish"), "{finish}");
    assert_eq!(user_count(&t).await, 0, "nobody exists before the finish");
    let done = browser.get(&router, &finish).await;
    assert_eq!(location(&done), NEXT);

    // Signed in: the account page shows alice.
    let account = browser.get(&router, NEXT).await;
    assert_eq!(account.status, 200, "{}", account.body);
    assert!(account.body.contains("alice"), "{}", account.body);
    // The user, their confirmed address, the terms, the token used once.
    let mut repo = t.state.db.read().await.unwrap();
    let alice = repo
        .users()
        .find_by_username("alice")
        .await
        .unwrap()
        .unwrap();
    let emails = repo.user_emails().list(&alice).await.unwrap();
    assert_eq!(emails[0].email, "alice@example.org");
    let terms = repo.registrations().terms_of(&alice).await.unwrap();
    assert_eq!(terms, ["https://example.com/terms"]);
    let used = repo
        .registration_tokens()
        .find_by_token(&token)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(used.times_used, 1);
    drop(repo);
    // The homeserver gets the user with the display name.
    run_jobs(&t).await;
    let on_hs = t.homeserver.user("alice").expect("provisioned");
    assert_eq!(on_hs.display_name.as_deref(), Some("Alice Liddell"));
    assert_eq!(on_hs.emails, ["alice@example.org"]);
    // The password works.
    let login = Browser::default().log_in(&router, "alice", PASSWORD).await;
    assert_eq!(login.status, 303);

    // Finishing twice creates nobody more; the page is gone.
    assert_eq!(browser.get(&router, &finish).await.status, 404);
    assert_eq!(user_count(&t).await, 1);
}

#[tokio::test]
async fn without_email_required_or_token_the_display_name_is_the_only_step() {
    let (t, router) =
        open_with(|site| site.account.password_registration_email_required = false).await;
    let mut browser = Browser::default();
    let name_step = location(&submit_form(&router, &mut browser, &[("email", "")]).await);
    assert!(name_step.ends_with("/display-name"), "{name_step}");
    let finish = location(&step(&router, &mut browser, &name_step, &[("action", "skip")]).await);
    assert_eq!(location(&browser.get(&router, &finish).await), NEXT);
    run_jobs(&t).await;
    assert_eq!(
        t.homeserver.user("alice").unwrap().display_name.as_deref(),
        Some("alice"),
        "skipping keeps the username"
    );
}

#[tokio::test]
async fn the_form_refuses_bad_input_and_creates_nobody() {
    let (t, router) = open_with(|site| {
        site.tos_uri = Some("https://example.com/terms".into());
    })
    .await;
    t.clock.advance(Duration::seconds(1));
    add_user(&t.state, "bob", "builder").await;
    /// The fields changed, the status, words of the error.
    type Case<'a> = (&'a [(&'a str, &'a str)], u16, &'a str);
    let cases: [Case; 7] = [
        (&[("username", "Alice Smith")], 400, "cannot be used"),
        (&[("username", "bob")], 409, "taken"),
        (
            &[("password_confirm", "something else")],
            400,
            "not the same",
        ),
        (&[("accept_terms", "")], 400, "terms of service"),
        (&[("email", "")], 400, "email address is needed"),
        (&[("email", "alice@")], 400, "not an email address"),
        (&[("username", "")], 400, "Choose a username"),
    ];
    for (fields, status, words) in cases {
        let mut browser = Browser::default();
        let refused = submit_form(&router, &mut browser, fields).await;
        assert_eq!(refused.status, status, "{fields:?}: {}", refused.body);
        assert!(refused.body.contains(words), "{fields:?}: {}", refused.body);
        // What was typed is kept; the password never is.
        assert!(!refused.body.contains(PASSWORD));
    }
    // A weak password against a demanding policy.
    let mut t2 = test_state().await;
    let mut site = (*t2.state.site).clone();
    site.account.password_registration_enabled = true;
    t2.state.site = Arc::new(site);
    let scheme = Scheme {
        version: 1,
        algorithm: Algorithm::Bcrypt,
        cost: Some(4),
        pepper: None,
        unicode_normalization: false,
    };
    t2.state.passwords = Some(PasswordManager::new(vec![scheme], 3, 2));
    let router2 = router_for(&t2.state, "");
    let weak = submit_form(
        &router2,
        &mut Browser::default(),
        &[("password", "alice1"), ("password_confirm", "alice1")],
    )
    .await;
    assert_eq!(weak.status, 400);
    assert!(weak.body.contains("too easy to guess"), "{}", weak.body);

    // A form without the cookie's CSRF token changes nothing.
    let forged = Browser::default()
        .post(
            &router,
            "/register/password",
            &[
                ("csrf", "forged"),
                ("username", "mallory"),
                ("email", "m@example.org"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
                ("accept_terms", "on"),
            ],
        )
        .await;
    assert!(forged.status >= 400, "{}", forged.status);
    assert_eq!(run_jobs(&t).await, 0, "no code was mailed");
    assert_eq!(user_count(&t).await, 1, "only bob");
}

#[tokio::test]
async fn closed_registration_is_not_found_and_prompt_create_is_not_advertised() {
    let t = test_state().await;
    let router = router_for(&t.state, "");
    let mut browser = Browser::default();
    assert_eq!(browser.get(&router, "/register").await.status, 404);
    assert_eq!(browser.get(&router, "/register/password").await.status, 404);
    let login = browser.get(&router, "/login").await;
    assert!(!login.body.contains("create-account"));
    let (_, discovery) =
        crate::test_support::get_json(&router, "/.well-known/openid-configuration").await;
    assert_eq!(
        discovery["prompt_values_supported"],
        serde_json::json!(["login", "none"])
    );

    let (_, router) = open_with(|_| {}).await;
    let (_, discovery) =
        crate::test_support::get_json(&router, "/.well-known/openid-configuration").await;
    assert_eq!(
        discovery["prompt_values_supported"],
        serde_json::json!(["login", "none", "create"])
    );
    let login = Browser::default().get(&router, "/login").await;
    assert!(login.body.contains("create-account"), "{}", login.body);
}

#[tokio::test]
async fn the_token_step_cannot_be_skipped_and_a_used_up_token_stops_the_second_account() {
    let (t, router) = open_with(|site| {
        site.account.password_registration_token_required = true;
        site.account.password_registration_email_required = false;
    })
    .await;
    let token = issue(&t, Some(1)).await;
    // Two people start with the same single-use token.
    let mut first = Browser::default();
    let mut second = Browser::default();
    let first_token = location(&submit_form(&router, &mut first, &[("email", "")]).await);
    let second_token =
        location(&submit_form(&router, &mut second, &[("email", ""), ("username", "bob")]).await);
    assert!(first_token.ends_with("/token"), "{first_token}");
    // Jumping to the finish without a token goes back to the token step.
    let finish = first_token.replace("/token", "/finish");
    assert_eq!(location(&first.get(&router, &finish).await), first_token);

    // Both type the token while it is unused; both reach the finish.
    let mut finishes = Vec::new();
    for (browser, path) in [(&mut first, &first_token), (&mut second, &second_token)] {
        let name = location(&step(&router, browser, path, &[("token", &token)]).await);
        finishes.push(location(
            &step(&router, browser, &name, &[("action", "skip")]).await,
        ));
    }
    assert_eq!(location(&first.get(&router, &finishes[0]).await), NEXT);
    let refused = second.get(&router, &finishes[1]).await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(
        refused.body.contains("used as many times"),
        "{}",
        refused.body
    );
    // The token step now refuses it for anyone else.
    let mut third = Browser::default();
    let token_step =
        location(&submit_form(&router, &mut third, &[("email", ""), ("username", "carol")]).await);
    let used_up = step(&router, &mut third, &token_step, &[("token", &token)]).await;
    assert_eq!(used_up.status, 400);
    assert_eq!(user_count(&t).await, 1);
}

#[tokio::test]
async fn another_browser_and_an_expired_registration_are_refused() {
    let (t, router) = open_with(|_| {}).await;
    let mut browser = Browser::default();
    let verify = location(&submit_form(&router, &mut browser, &[]).await);
    // The id alone is not enough.
    assert_eq!(Browser::default().get(&router, &verify).await.status, 404);
    t.clock.advance(Duration::minutes(61));
    assert_eq!(browser.get(&router, &verify).await.status, 410);
}

#[tokio::test]
async fn the_homeserver_down_keeps_the_form_with_a_503() {
    let (t, router) = open_with(|_| {}).await;
    t.homeserver.set_down(true);
    let refused = submit_form(&router, &mut Browser::default(), &[]).await;
    assert_eq!(refused.status, 503, "{}", refused.body);
    assert!(refused.body.contains("cannot be reached"));
    assert_eq!(run_jobs(&t).await, 0);
}

#[tokio::test]
async fn prompt_create_sends_the_authorization_to_registration_and_back() {
    use crate::handlers::oauth2::tests::{register_public, CALLBACK};
    let (_t, router) = open_with(|_| {}).await;
    let client_id = register_public(&router).await;
    let mut browser = Browser::default();
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", &client_id)
        .append_pair("redirect_uri", CALLBACK)
        .append_pair("scope", "openid")
        .append_pair(
            "code_challenge",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        )
        .append_pair("code_challenge_method", "S256")
        .append_pair("prompt", "create")
        .finish();
    let consent = location(&browser.get(&router, &format!("/authorize?{query}")).await);
    assert!(consent.starts_with("/consent/"), "{consent}");
    let register = location(&browser.get(&router, &consent).await);
    let expected = format!(
        "/register?{}",
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("next", &consent)
            .finish()
    );
    assert_eq!(register, expected);
}

#[tokio::test]
async fn the_worker_removes_registrations_proofs_and_recoveries_after_a_week() {
    let (t, router) = open_with(|_| {}).await;
    let old = location(&submit_form(&router, &mut Browser::default(), &[]).await);
    let ip = crate::extract::ClientIp(None);
    let recovery = ops::recovery::start(&t.state, &ip, None, "alice@example.org", "en")
        .await
        .unwrap();
    t.clock.advance(Duration::days(8));
    let recent =
        location(&submit_form(&router, &mut Browser::default(), &[("username", "bob")]).await);
    let id = |path: &str| {
        path.split('/')
            .nth(3)
            .unwrap()
            .parse::<ulid::Ulid>()
            .unwrap()
    };
    let removed = crate::jobs::cleanup(&JobContext::from_state(&t.state))
        .await
        .unwrap();
    assert_eq!(
        removed,
        crate::jobs::Removed {
            registrations: 1,
            email_authentications: 1,
            recovery_sessions: 1,
            policy_data_versions: 0,
        }
    );
    let mut repo = t.state.db.read().await.unwrap();
    assert!(repo.registrations().find(id(&old)).await.unwrap().is_none());
    assert!(repo
        .registrations()
        .find(id(&recent))
        .await
        .unwrap()
        .is_some());
    assert!(repo
        .recovery()
        .find_session(recovery.id)
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn the_form_and_its_mistakes_speak_the_language_asked_for() {
    let (_t, router) = open_with(|_| {}).await;
    let request = axum::http::Request::get("/register/password")
        .header("accept-language", "fr-FR,fr;q=0.9")
        .body(axum::body::Body::empty())
        .unwrap();
    let page = crate::test_support::send(&router, request).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("lang=\"fr\""), "{}", page.body);
    assert!(
        page.body.contains("Créer un compte sur example.com"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("Mot de passe, à nouveau"),
        "{}",
        page.body
    );
}
