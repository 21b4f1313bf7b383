//! Adding an email address with the code mailed to it.

use super::*;
use crate::test_support::TestResponse;

/// The 6-digit code in the last mail sent.
fn mailed_code(t: &TestState) -> String {
    let sent = t.mailer.sent();
    let text = &sent.last().expect("a mail was sent").content.text;
    text.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .expect("a 6-digit code in the mail")
        .to_owned()
}

/// Submits `email` on the "add an email address" page.
async fn ask_to_add(router: &axum::Router, browser: &mut Browser, email: &str) -> TestResponse {
    let csrf = csrf_at(router, browser, "/account/emails/add").await;
    browser
        .post(
            router,
            "/account/emails/add",
            &[("csrf", &csrf), ("email", email)],
        )
        .await
}

#[tokio::test]
async fn an_address_is_added_once_its_mailed_code_is_typed_back() {
    let (t, router, mut browser, alice) = signed_in().await;
    let account = browser.get(&router, "/account/").await;
    assert!(
        account.body.contains(&escaped("/account/emails/add")),
        "{}",
        account.body
    );

    let started = ask_to_add(&router, &mut browser, "alice@example.org").await;
    assert_eq!(started.status, 303, "{}", started.body);
    let verify = started.header("location").unwrap();
    assert!(verify.starts_with("/account/emails/verify/"), "{verify}");
    assert_eq!(run_jobs(&t).await, 1, "the code is mailed by a job");
    assert_eq!(
        t.mailer.sent().last().unwrap().to.email.to_string(),
        "alice@example.org"
    );
    let code = mailed_code(&t);

    // A wrong code is refused and adds nothing.
    let csrf = csrf_at(&router, &mut browser, &verify).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let refused = browser
        .post(&router, &verify, &[("csrf", &csrf), ("code", wrong)])
        .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.body.contains("Wrong code"), "{}", refused.body);

    let added = browser
        .post(&router, &verify, &[("csrf", &csrf), ("code", &code)])
        .await;
    assert_eq!(added.status, 303, "{}", added.body);
    assert_eq!(
        added.header("location").as_deref(),
        Some("/account/?notice=email_added")
    );
    let mut repo = t.state.db.read().await.unwrap();
    let emails = repo.user_emails().list(&alice).await.unwrap();
    assert_eq!(
        emails.iter().map(|e| e.email.as_str()).collect::<Vec<_>>(),
        ["alice@example.org"]
    );
    drop(repo);

    // The proof is used up: the page is gone, the code does nothing more.
    let again = browser
        .post(&router, &verify, &[("csrf", &csrf), ("code", &code)])
        .await;
    assert_eq!(again.status, 404, "{}", again.body);
}

#[tokio::test]
async fn bad_addresses_and_someone_elses_proof_are_refused() {
    let (t, router, mut browser, _) = signed_in().await;
    let bad = ask_to_add(&router, &mut browser, "not an address").await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert_eq!(run_jobs(&t).await, 0, "no code for a bad address");

    let started = ask_to_add(&router, &mut browser, "alice@example.org").await;
    let verify = started.header("location").unwrap();
    // Bob cannot see or use Alice's proof.
    add_user(&t.state, "bob", "builder").await;
    let mut bob = Browser::default();
    assert_eq!(bob.log_in(&router, "bob", "builder").await.status, 303);
    assert_eq!(bob.get(&router, &verify).await.status, 404);

    // Disallowed by the configuration: 403.
    let (_, router, mut browser, _) =
        signed_in_with(|site| site.account.email_change_allowed = false).await;
    assert_eq!(
        browser.get(&router, "/account/emails/add").await.status,
        403
    );
}
