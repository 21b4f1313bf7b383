//! Every way the flow must fail, and that a failure changes nothing it
//! should not.

use chrono::Duration;
use mxauth_model::Clock;
use serde_json::json;

use super::*;
use crate::test_support::{add_user, router_for, test_state, Browser};

async fn setup() -> (crate::test_support::TestState, axum::Router, String) {
    let t = test_state().await;
    let router = router_for(&t.state, "");
    add_user(&t.state, "alice", "wonderland").await;
    let client_id = register_public(&router).await;
    (t, router, client_id)
}

fn code_form<'a>(code: &'a str, client_id: &'a str, verifier: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", CALLBACK),
        ("client_id", client_id),
        ("code_verifier", verifier),
    ]
}

#[tokio::test]
async fn wrong_pkce_verifier_is_refused_and_the_code_survives_it() {
    let (_t, router, client_id) = setup().await;
    let code = authorize_and_consent(&router, &mut Browser::default(), &client_id, "openid").await;
    let wrong = "x".repeat(43);
    let response = token(&router, &code_form(&code, &client_id, &wrong)).await;
    assert_eq!(response.status, 400);
    assert_eq!(response.json()["error"], "invalid_grant");
    assert!(response.json()["error_description"]
        .as_str()
        .unwrap()
        .contains("PKCE"));
    let response = token(
        &router,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
            ("client_id", &client_id),
        ],
    )
    .await;
    assert_eq!(
        response.json()["error_description"],
        "code_verifier is missing"
    );
    assert_eq!(
        token(&router, &code_form(&code, &client_id, VERIFIER))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn a_replayed_code_fails_and_ends_the_session_it_issued() {
    let (_t, router, client_id) = setup().await;
    let code = authorize_and_consent(&router, &mut Browser::default(), &client_id, "openid").await;
    let first = token(&router, &code_form(&code, &client_id, VERIFIER))
        .await
        .json();
    let access = first["access_token"].as_str().unwrap();
    assert_eq!(introspect(&router, access).await["active"], true);
    let replay = token(&router, &code_form(&code, &client_id, VERIFIER)).await;
    assert_eq!(replay.status, 400);
    assert_eq!(replay.json()["error"], "invalid_grant");
    assert_eq!(introspect(&router, access).await["active"], false);
}

#[tokio::test]
async fn an_expired_code_or_token_is_refused() {
    let (t, router, client_id) = setup().await;
    let code = authorize_and_consent(&router, &mut Browser::default(), &client_id, "openid").await;
    t.clock.advance(Duration::minutes(11));
    let response = token(&router, &code_form(&code, &client_id, VERIFIER)).await;
    assert_eq!(response.json()["error_description"], "the code has expired");

    let code = authorize_and_consent(&router, &mut Browser::default(), &client_id, "openid").await;
    let tokens = token(&router, &code_form(&code, &client_id, VERIFIER))
        .await
        .json();
    let access = tokens["access_token"].as_str().unwrap();
    t.clock.advance(Duration::seconds(299));
    assert_eq!(introspect(&router, access).await["active"], true);
    t.clock.advance(Duration::seconds(2));
    assert_eq!(introspect(&router, access).await, json!({"active": false}));
}

#[tokio::test]
async fn foreign_redirect_uris_never_receive_anything() {
    let (_t, router, client_id) = setup().await;
    for evil in [
        "https://evil.example.com/callback",
        "http://127.0.0.1:9/other",
        "http://127.0.0.1/callback#x",
    ] {
        let path = authorize_path(&client_id, "openid").replace(
            "http%3A%2F%2F127.0.0.1%3A41234%2Fcallback",
            &url::form_urlencoded::byte_serialize(evil.as_bytes()).collect::<String>(),
        );
        let response = Browser::default().get(&router, &path).await;
        assert_eq!(response.status, 400, "{evil}");
        assert!(
            response.header("location").is_none(),
            "{evil} got a redirect"
        );
        assert!(response.body.contains("Invalid redirect"));
    }
    let unknown = authorize_path("01J0000000000000000000000X", "openid");
    assert_eq!(Browser::default().get(&router, &unknown).await.status, 400);
}

#[tokio::test]
async fn request_errors_go_back_to_the_client_with_state() {
    let (_t, router, client_id) = setup().await;
    let no_pkce = authorize_path(&client_id, "openid").replace("&code_challenge=", "&x=");
    let response = Browser::default().get(&router, &no_pkce).await;
    let back = location(&response);
    assert!(
        back.starts_with("http://127.0.0.1:41234/callback?error=invalid_request"),
        "{back}"
    );
    assert!(back.contains("state=st4te"));
    let plain = authorize_path(&client_id, "openid").replace("S256", "plain");
    assert!(location(&Browser::default().get(&router, &plain).await).contains("only+the+S256"));
    let mixed = authorize_path(
        &client_id,
        "urn:matrix:client:api:* urn:matrix:org.matrix.msc2967.client:api:*",
    );
    assert!(
        location(&Browser::default().get(&router, &mixed).await).contains("error=invalid_scope")
    );
    let none = format!("{}&prompt=none", authorize_path(&client_id, "openid"));
    assert!(
        location(&Browser::default().get(&router, &none).await).contains("error=login_required")
    );
}

#[tokio::test]
async fn forms_without_the_csrf_token_are_refused() {
    let (_t, router, client_id) = setup().await;
    let mut browser = Browser::default();
    let consent = location(
        &browser
            .get(&router, &authorize_path(&client_id, "openid"))
            .await,
    );
    browser.get(&router, "/login").await;
    let response = browser
        .post(
            &router,
            "/login",
            &[("username", "alice"), ("password", "wonderland")],
        )
        .await;
    assert_eq!(response.status, 403);
    let response = browser
        .post(
            &router,
            "/login",
            &[
                ("csrf", "forged"),
                ("username", "alice"),
                ("password", "wonderland"),
            ],
        )
        .await;
    assert_eq!(response.status, 403);
    // Logged in properly, the consent form still needs its token.
    let page = browser.get(&router, "/login").await;
    browser
        .post(
            &router,
            "/login",
            &[
                ("csrf", &csrf_of(&page.body)),
                ("username", "alice"),
                ("password", "wonderland"),
            ],
        )
        .await;
    let response = browser
        .post(&router, &consent, &[("decision", "allow")])
        .await;
    assert_eq!(response.status, 403);
    assert!(response.header("location").is_none());
}

#[tokio::test]
async fn wrong_password_shows_the_form_again_and_nothing_else() {
    let (_t, router, _) = setup().await;
    let mut browser = Browser::default();
    for username in ["alice", "nobody"] {
        let page = browser.get(&router, "/login").await;
        let response = browser
            .post(
                &router,
                "/login",
                &[
                    ("csrf", &csrf_of(&page.body)),
                    ("username", username),
                    ("password", "nope"),
                ],
            )
            .await;
        assert_eq!(response.status, 401, "{username}");
        assert!(response.body.contains("Invalid username or password."));
    }
    assert_eq!(
        location(&browser.get(&router, "/account/").await),
        "/login?next=%2Faccount%2F"
    );
}

#[tokio::test]
async fn a_locked_user_cannot_log_in_and_their_tokens_stop_working() {
    let (t, router, client_id) = setup().await;
    let code = authorize_and_consent(&router, &mut Browser::default(), &client_id, "openid").await;
    let tokens = token(&router, &code_form(&code, &client_id, VERIFIER))
        .await
        .json();
    let mut repo = t.state.db.begin().await.unwrap();
    let alice = repo
        .users()
        .find_by_username("alice")
        .await
        .unwrap()
        .unwrap();
    repo.users().lock(alice, t.clock.now()).await.unwrap();
    repo.commit().await.unwrap();
    assert_eq!(
        introspect(&router, tokens["access_token"].as_str().unwrap()).await["active"],
        false
    );
    let response = token(
        &router,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ("client_id", &client_id),
        ],
    )
    .await;
    assert_eq!(response.json()["error"], "invalid_grant");
    let mut browser = Browser::default();
    let page = browser.get(&router, "/login").await;
    let response = browser
        .post(
            &router,
            "/login",
            &[
                ("csrf", &csrf_of(&page.body)),
                ("username", "alice"),
                ("password", "wonderland"),
            ],
        )
        .await;
    assert_eq!(response.status, 403);
    assert!(response.body.contains("locked"));
}

#[tokio::test]
async fn confidential_clients_must_authenticate_with_their_method() {
    let (t, router, _) = setup().await;
    let client = register(
        &router,
        json!({
            "client_uri": "https://app.example.com/", "grant_types": ["client_credentials"],
            "token_endpoint_auth_method": "client_secret_basic",
        }),
    )
    .await;
    let id = client["client_id"].as_str().unwrap();
    let secret = client["client_secret"].as_str().unwrap();
    use base64::Engine;
    let basic = |s: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{id}:{s}"))
        )
    };
    let ok = post_form(
        &router,
        "/oauth2/token",
        &[("grant_type", "client_credentials")],
        &[("authorization", &basic(secret))],
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert!(ok.json().get("refresh_token").is_none());
    let bad = post_form(
        &router,
        "/oauth2/token",
        &[("grant_type", "client_credentials")],
        &[("authorization", &basic("wrong"))],
    )
    .await;
    assert_eq!(bad.status, 401);
    assert_eq!(bad.json()["error"], "invalid_client");
    assert_eq!(bad.header("www-authenticate").as_deref(), Some("Basic"));
    let post = post_form(
        &router,
        "/oauth2/token",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
        ],
        &[],
    )
    .await;
    assert_eq!(
        post.status, 401,
        "the client registered client_secret_basic, not _post"
    );
    let admin = post_form(
        &router,
        "/oauth2/token",
        &[
            ("grant_type", "client_credentials"),
            ("scope", "urn:mas:admin"),
        ],
        &[("authorization", &basic(secret))],
    )
    .await;
    assert_eq!(admin.json()["error"], "invalid_scope");
    // Confidential clients may introspect; public ones may not.
    let answer = post_form(
        &router,
        "/oauth2/introspect",
        &[("token", ok.json()["access_token"].as_str().unwrap())],
        &[("authorization", &basic(secret))],
    )
    .await;
    assert_eq!(answer.json()["active"], true);
    let _ = t;
}

#[tokio::test]
async fn introspection_needs_the_homeserver_secret_or_a_confidential_client() {
    let (_t, router, client_id) = setup().await;
    let wrong = post_form(
        &router,
        "/oauth2/introspect",
        &[("token", "mat_x")],
        &[("authorization", "Bearer not-the-secret")],
    )
    .await;
    assert_eq!(wrong.status, 401);
    let public = post_form(
        &router,
        "/oauth2/introspect",
        &[("token", "mat_x"), ("client_id", &client_id)],
        &[],
    )
    .await;
    assert_eq!(public.status, 401);
    let garbage = introspect(&router, "definitely not a token").await;
    assert_eq!(garbage, json!({"active": false}));
    let missing = post_form(
        &router,
        "/oauth2/introspect",
        &[],
        &[("authorization", "Bearer homeserver-shared-secret")],
    )
    .await;
    assert_eq!(missing.status, 400);
    let repeated = post_form(
        &router,
        "/oauth2/introspect",
        &[("token", "a"), ("token", "b")],
        &[("authorization", "Bearer homeserver-shared-secret")],
    )
    .await;
    assert_eq!(repeated.json()["error"], "invalid_request");
}

#[tokio::test]
async fn admin_scopes_need_a_user_allowed_to_request_them() {
    let (_t, router, client_id) = setup().await;
    let mut browser = Browser::default();
    let consent = location(
        &browser
            .get(
                &router,
                &authorize_path(&client_id, "openid urn:synapse:admin:*"),
            )
            .await,
    );
    let page = browser.get(&router, "/login").await;
    browser
        .post(
            &router,
            "/login",
            &[
                ("csrf", &csrf_of(&page.body)),
                ("username", "alice"),
                ("password", "wonderland"),
                ("next", &consent),
            ],
        )
        .await;
    let response = browser.get(&router, &consent).await;
    assert!(
        location(&response).contains("error=access_denied"),
        "{:?}",
        response.header("location")
    );
}

#[tokio::test]
async fn password_checks_are_rate_limited_per_account() {
    let (_t, router, _) = setup().await;
    let mut browser = Browser::default();
    // The test state allows a burst of 10 checks per account.
    let mut statuses = Vec::new();
    for _ in 0..11 {
        let page = browser.get(&router, "/login").await;
        let response = browser
            .post(
                &router,
                "/login",
                &[
                    ("csrf", &csrf_of(&page.body)),
                    ("username", "@alice:example.com"),
                    ("password", "guess"),
                ],
            )
            .await;
        statuses.push(response.status);
        if response.status == 429 {
            assert!(response.header("retry-after").is_some());
            assert!(response.body.contains("Too many sign-in attempts"));
        }
    }
    assert_eq!(statuses[..10], [401; 10]);
    assert_eq!(statuses[10], 429);
    // Even the right password waits now: the limit is on checks, not failures.
    let page = browser.get(&router, "/login").await;
    let response = browser
        .post(
            &router,
            "/login",
            &[
                ("csrf", &csrf_of(&page.body)),
                ("username", "alice"),
                ("password", "wonderland"),
            ],
        )
        .await;
    assert_eq!(response.status, 429);
}

/// [`code_form`] without its `redirect_uri`.
fn without_redirect_uri<'a>(code: &'a str, client_id: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut form = code_form(code, client_id, VERIFIER);
    form.retain(|(name, _)| *name != "redirect_uri");
    form
}

#[tokio::test]
async fn redirect_uri_sent_at_authorize_must_be_repeated_at_the_token_endpoint() {
    let (_t, router, client_id) = setup().await;
    let code = authorize_and_consent(&router, &mut Browser::default(), &client_id, "openid").await;
    let without = token(&router, &without_redirect_uri(&code, &client_id)).await;
    assert_eq!(without.status, 400, "{}", without.body);
    assert_eq!(without.json()["error"], "invalid_request");
    let mut other = code_form(&code, &client_id, VERIFIER);
    other[2] = ("redirect_uri", "http://127.0.0.1:41235/callback");
    let response = token(&router, &other).await;
    assert_eq!(response.json()["error"], "invalid_grant");
    // Refusals do not use up the code.
    let response = token(&router, &code_form(&code, &client_id, VERIFIER)).await;
    assert_eq!(response.status, 200, "{}", response.body);
}

#[tokio::test]
async fn a_client_that_left_out_redirect_uri_may_leave_it_out_again() {
    let (_t, router, client_id) = setup().await;
    let mut browser = Browser::default();
    let path = authorize_path(&client_id, "openid").replace(
        &format!(
            "&redirect_uri={}",
            url::form_urlencoded::byte_serialize(CALLBACK.as_bytes()).collect::<String>()
        ),
        "",
    );
    assert!(!path.contains("redirect_uri"), "{path}");
    let back = consent_at(&router, &mut browser, &path).await;
    assert!(back.as_str().starts_with(REDIRECT), "{back}");
    let code = back
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let response = token(&router, &without_redirect_uri(&code, &client_id)).await;
    assert_eq!(response.status, 200, "{}", response.body);
}
