//! The siteverify exchange against a local stand-in for the service (the
//! real services are on the internet, which CI does not reach): what is
//! sent, and each answer's outcome.

use std::sync::{Arc, Mutex};

use axum::{routing::post, Form, Json, Router};
use serde_json::{json, Value};

use super::*;

/// Serves `answer` at `/siteverify` and records the forms it got.
async fn service(answer: Value) -> (String, Arc<Mutex<Vec<Vec<(String, String)>>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let recorded = seen.clone();
    let app = Router::new().route(
        "/siteverify",
        post(move |Form(form): Form<Vec<(String, String)>>| {
            let answer = answer.clone();
            recorded.lock().unwrap().push(form);
            async move { Json(answer) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/siteverify"), seen)
}

fn captcha(verify_url: String) -> Captcha {
    Captcha {
        service: CaptchaService::HCaptcha,
        site_key: "site".into(),
        secret_key: "secret-key".into(),
        verify_url,
    }
}

#[tokio::test]
async fn a_solved_challenge_for_our_host_passes_and_sends_secret_and_ip() {
    let (url, seen) = service(json!({"success": true, "hostname": "auth.example.com"})).await;
    let outbound = Outbound::new().unwrap();
    captcha(url)
        .verify(&outbound, "answer-1", Some("192.0.2.7"), "auth.example.com")
        .await
        .unwrap();
    let forms = seen.lock().unwrap();
    let form: std::collections::HashMap<_, _> = forms[0].iter().cloned().collect();
    assert_eq!(form["secret"], "secret-key");
    assert_eq!(form["response"], "answer-1");
    assert_eq!(form["remoteip"], "192.0.2.7");
}

#[tokio::test]
async fn refused_wrong_host_missing_and_unreachable_are_each_named() {
    let outbound = Outbound::new().unwrap();
    let (url, _) =
        service(json!({"success": false, "error-codes": ["invalid-input-response"]})).await;
    let err = captcha(url)
        .verify(&outbound, "x", None, "auth.example.com")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CaptchaError::Refused(c) if c == "invalid-input-response"),
        "{err:?}"
    );

    let (url, _) = service(json!({"success": true, "hostname": "evil.example"})).await;
    let err = captcha(url)
        .verify(&outbound, "x", None, "auth.example.com")
        .await
        .unwrap_err();
    assert!(matches!(err, CaptchaError::WrongHostname(_)), "{err:?}");

    let (url, seen) = service(json!({"success": true})).await;
    let err = captcha(url)
        .verify(&outbound, "  ", None, "auth.example.com")
        .await
        .unwrap_err();
    assert!(matches!(err, CaptchaError::Missing), "{err:?}");
    assert!(
        seen.lock().unwrap().is_empty(),
        "an empty answer is not sent"
    );

    let err = captcha("http://127.0.0.1:9/siteverify".into())
        .verify(&outbound, "x", None, "auth.example.com")
        .await
        .unwrap_err();
    assert!(matches!(err, CaptchaError::Unreachable(_)), "{err:?}");
}

#[test]
fn services_are_named_as_in_mas_config() {
    for (name, field) in [
        ("recaptcha_v2", "g-recaptcha-response"),
        ("cloudflare_turnstile", "cf-turnstile-response"),
        ("hcaptcha", "h-captcha-response"),
    ] {
        assert_eq!(CaptchaService::parse(name).unwrap().response_field(), field);
    }
    assert_eq!(CaptchaService::parse("recaptcha_v3"), None);
}
