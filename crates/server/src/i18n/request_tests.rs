//! Whole answers in the language asked for: the login page and an error
//! page through the real router with `Accept-Language`, and the
//! verification email, from the page that asks for it to the mail the job
//! sends.

use axum::{body::Body, http::Request};

use crate::{
    jobs::{run_batch, JobContext},
    ops::email_codes::EmailCodes,
    test_support::{
        add_user, csrf_of, post_form, router_for, send, test_state, Browser, TestResponse,
        TestState,
    },
};

async fn get(router: &axum::Router, path: &str, language: Option<&str>) -> TestResponse {
    let mut request = Request::get(path);
    if let Some(language) = language {
        request = request.header("accept-language", language);
    }
    send(router, request.body(Body::empty()).unwrap()).await
}

#[tokio::test]
async fn the_login_page_is_in_the_language_asked_for() {
    let t = test_state().await;
    let router = router_for(&t.state, "");
    let french = get(&router, "/login", Some("fr-FR,fr;q=0.9")).await;
    assert_eq!(french.status, 200, "{}", french.body);
    assert!(
        french.body.contains("<html lang=\"fr\">"),
        "{}",
        french.body
    );
    assert!(
        french.body.contains("<h1>Se connecter à example.com</h1>"),
        "{}",
        french.body
    );
    assert!(
        french.body.contains(">Nom d’utilisateur</label>"),
        "{}",
        french.body
    );
    assert!(!french.body.contains("Username"), "{}", french.body);
    assert_eq!(french.header("content-language").as_deref(), Some("fr"));
    assert_eq!(french.header("vary").as_deref(), Some("accept-language"));

    for language in [Some("de"), Some("de-DE, es;q=0.5"), None] {
        let english = get(&router, "/login", language).await;
        assert_eq!(english.status, 200, "{}", english.body);
        assert!(english.body.contains("<html lang=\"en\">"), "{language:?}");
        assert!(
            english.body.contains("<h1>Sign in to example.com</h1>"),
            "{language:?}"
        );
        assert_eq!(english.header("content-language").as_deref(), Some("en"));
    }
}

/// A refusal built in a handler (`t!`) and rendered by the error layer,
/// and a form mistake shown on the page, are in French too.
#[tokio::test]
async fn error_pages_and_form_mistakes_are_in_the_language_asked_for() {
    let t = test_state().await;
    let router = router_for(&t.state, "");
    let missing = get(&router, "/consent/01J0000000000000000000000", Some("fr")).await;
    assert_eq!(missing.status, 404);
    assert!(
        missing.body.contains("<h1>Demande introuvable</h1>"),
        "{}",
        missing.body
    );
    assert!(
        missing.body.contains("<title>Erreur · example.com</title>"),
        "{}",
        missing.body
    );

    add_user(&t.state, "alice", "wonderland").await;
    let mut browser = Browser::default();
    let page = browser.get(&router, "/login").await;
    let csrf = csrf_of(&page.body);
    let cookie = browser.cookie().unwrap().to_owned();
    let form = [
        ("csrf", csrf.as_str()),
        ("username", "alice"),
        ("password", "nope"),
    ];
    let headers = [("cookie", cookie.as_str()), ("accept-language", "fr-CA")];
    let refused = post_form(&router, "/login", &form, &headers).await;
    assert_eq!(refused.status, 401);
    assert!(
        refused
            .body
            .contains("Nom d’utilisateur ou mot de passe incorrect."),
        "{}",
        refused.body
    );
}

/// The code mailed for a language: the job renders in it, or in English.
async fn mail_for(t: &TestState, language: &str) -> crate::email::EmailContent {
    let mut repo = t.state.db.begin().await.unwrap();
    let ip = crate::extract::ClientIp(Some("192.0.2.7".parse().unwrap()));
    let email = format!("to-{language}@example.org");
    EmailCodes::from(&t.state)
        .start(&mut repo, &ip, None, &email, language)
        .await
        .unwrap();
    repo.commit().await.unwrap();
    let ctx = JobContext::from_state(&t.state);
    assert_eq!(run_batch(&ctx, "test").await.unwrap(), 1);
    let sent = t.mailer.sent();
    let last = sent.last().unwrap();
    assert_eq!(last.to.email.to_string(), email);
    last.content.clone()
}

#[tokio::test]
async fn the_verification_email_is_in_the_language_of_its_job() {
    let t = test_state().await;
    let french = mail_for(&t, "fr").await;
    let code = &french.subject[..6];
    assert_eq!(
        french.subject,
        format!("{code} est votre code de vérification example.com")
    );
    assert!(french.text.starts_with("Bonjour,\n"), "{}", french.text);
    assert!(
        french
            .text
            .contains("Votre code de vérification pour example.com est :"),
        "{}",
        french.text
    );
    assert!(
        french.text.contains("expire dans 10 minutes"),
        "{}",
        french.text
    );
    assert!(
        french.html.contains("<html lang=\"fr\">"),
        "{}",
        french.html
    );
    assert!(french
        .html
        .contains("<strong>to-fr@example.org</strong> est bien votre adresse"));

    for language in ["en", "de", ""] {
        let english = mail_for(&t, language).await;
        assert!(english
            .subject
            .ends_with(" is your example.com verification code"));
        assert!(english.html.contains("<html lang=\"en\">"), "{language:?}");
    }
}

/// The page a person asks from decides the language of the code mailed.
#[tokio::test]
async fn a_code_asked_for_on_a_french_page_is_mailed_in_french() {
    let t = test_state().await;
    let router = router_for(&t.state, "");
    add_user(&t.state, "alice", "wonderland").await;
    let mut browser = Browser::default();
    assert_eq!(
        browser.log_in(&router, "alice", "wonderland").await.status,
        303
    );
    let page = browser.get(&router, "/account/emails/add").await;
    let csrf = csrf_of(&page.body);
    let cookie = browser.cookie().unwrap().to_owned();
    let form = [("csrf", csrf.as_str()), ("email", "alice@example.org")];
    let headers = [("cookie", cookie.as_str()), ("accept-language", "fr")];
    let started = post_form(&router, "/account/emails/add", &form, &headers).await;
    assert_eq!(started.status, 303, "{}", started.body);
    let ctx = JobContext::from_state(&t.state);
    assert_eq!(run_batch(&ctx, "test").await.unwrap(), 1);
    let sent = t.mailer.sent();
    let mail = &sent.last().unwrap().content;
    assert!(mail.text.starts_with("Bonjour alice,\n"), "{}", mail.text);
}
