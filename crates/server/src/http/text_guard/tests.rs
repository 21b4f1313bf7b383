//! The text guard: its parsing rules, each dialect's refusal through the
//! real router, and the PostgreSQL 500s it removes (on both databases).

use axum::{body::Body, http::Request};
use serde_json::json;

use super::*;
use crate::test_support::{
    add_user, postgres_state, router_for, send, test_state, Browser, TestResponse,
};

async fn post(router: &axum::Router, path: &str, content_type: &str, body: Body) -> TestResponse {
    let request = Request::post(path).header("content-type", content_type);
    send(router, request.body(body).unwrap()).await
}

async fn post_form(router: &axum::Router, path: &str, form: &str) -> TestResponse {
    post(
        router,
        path,
        "application/x-www-form-urlencoded",
        Body::from(form.to_owned()),
    )
    .await
}

async fn post_json(router: &axum::Router, path: &str, body: &serde_json::Value) -> TestResponse {
    post(
        router,
        path,
        "application/json",
        Body::from(body.to_string()),
    )
    .await
}

/// An HTML error page with `status` that says `text`.
fn assert_page(response: &TestResponse, status: u16, text: &str) {
    assert_eq!(response.status, status, "{}", response.body);
    let content_type = response.header("content-type").unwrap_or_default();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(response.body.contains(text), "{}", response.body);
}

fn invalid(what: &str, flaw: Flaw) -> Result<(), Problem> {
    Err(Problem::Invalid {
        what: what.to_owned(),
        flaw,
    })
}

#[test]
fn form_pairs_refuse_nul_controls_and_bad_utf8_but_keep_odd_unicode() {
    let refused: [(&[u8], &str, &str, Flaw); 6] = [
        (
            b"a=1&b=x%00y",
            "form field",
            "the form field \"b\"",
            Flaw::Nul,
        ),
        (
            b"u=%07",
            "query parameter",
            "the query parameter \"u\"",
            Flaw::Control('\u{7}'),
        ),
        (
            b"u=%FF",
            "form field",
            "the form field \"u\"",
            Flaw::NotUtf8,
        ),
        (
            b"u=\xC3",
            "form field",
            "the form field \"u\"",
            Flaw::NotUtf8,
        ),
        (b"%00=1", "form field", "a form field name", Flaw::Nul),
        (
            b"u=%7F",
            "form field",
            "the form field \"u\"",
            Flaw::Control('\u{7f}'),
        ),
    ];
    for (input, kind, what, flaw) in refused {
        assert_eq!(check_pairs(input, kind), invalid(what, flaw));
    }
    // Tab, CR, LF, `+`, a lone `%`, non-characters, C1 controls, emoji.
    let fine = "a=%09%0D%0A&b=1+2&c=100%&d=%ZZ&e=%EF%BF%BE&f=%C2%85&g=%F0%9F%99%82&&h";
    assert_eq!(check_pairs(fine.as_bytes(), "form field"), Ok(()));
    assert_eq!(percent_decode(b"a+b%41%4g%", true), b"a bA%4g%");
    assert_eq!(percent_decode(b"a+b", false), b"a+b");
}

#[test]
fn json_refuses_nul_only_and_names_the_field() {
    let check = |v: serde_json::Value| check_json(&v, &mut String::new());
    assert_eq!(
        check(json!({"identifier": {"user": "a\u{0}"}})),
        invalid("the JSON field \"identifier.user\"", Flaw::Nul)
    );
    assert_eq!(
        check(json!({"redirect_uris": ["ok", "x\u{0}"]})),
        invalid("the JSON field \"redirect_uris[1]\"", Flaw::Nul)
    );
    assert_eq!(
        check(json!({"a": {"k\u{0}": 1}})),
        invalid("a key of the JSON field \"a\"", Flaw::Nul)
    );
    assert_eq!(check(json!("\u{0}")), invalid("the JSON body", Flaw::Nul));
    assert_eq!(
        check(json!({"password": "\u{1}\u{7f}\u{85}\u{fffe}🙂\t"})),
        Ok(())
    );
}

#[tokio::test]
async fn matrix_routes_answer_m_invalid_param_with_cors() {
    let t = test_state().await;
    let router = router_for(&t.state, "/auth");
    let body = json!({"type": "m.login.password", "user": "al\u{0}ice", "password": "x"});
    let response = post_json(&router, "/auth/_matrix/client/v3/login", &body).await;
    assert_eq!(response.status, 400, "{}", response.body);
    assert_eq!(response.json()["errcode"], "M_INVALID_PARAM");
    assert_eq!(
        response.json()["error"],
        "the JSON field \"user\" contains a NUL character"
    );
    assert_eq!(
        response.header("access-control-allow-origin").as_deref(),
        Some("*")
    );
    // A form body is checked as a form, the query as a query.
    let response = send(
        &router,
        Request::get("/auth/_matrix/client/v3/login/sso/redirect?redirectUrl=%00")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(response.status, 400);
    assert_eq!(
        response.json()["error"],
        "the query parameter \"redirectUrl\" contains a NUL character"
    );
}

#[tokio::test]
async fn oauth_routes_answer_invalid_request() {
    let t = test_state().await;
    let router = router_for(&t.state, "");
    let form = "grant_type=refresh_token&refresh_token=x&client_id=ab%00c";
    let response = post_form(&router, "/oauth2/token", form).await;
    assert_eq!(response.status, 400, "{}", response.body);
    assert_eq!(
        response.json(),
        json!({"error": "invalid_request", "error_description": "the form field \"client_id\" contains a NUL character"})
    );
    assert_eq!(
        response.header("cache-control").as_deref(),
        Some("no-store")
    );
    let form = "token=%C3%28";
    let response = post(
        &router,
        "/oauth2/introspect",
        "application/x-www-form-urlencoded; charset=UTF-8",
        Body::from(form),
    )
    .await;
    assert_eq!(response.status, 400);
    assert_eq!(
        response.json()["error_description"],
        "the form field \"token\" is not valid UTF-8"
    );
    let (status, body) =
        crate::test_support::get_json(&router, "/.well-known/webfinger?resource=%01").await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_request");
}

#[tokio::test]
async fn browser_pages_answer_an_html_page() {
    let t = test_state().await;
    let router = router_for(&t.state, "");
    let mut browser = Browser::default();
    let response = browser.get(&router, "/login?login_hint=%00").await;
    assert_page(&response, 400, "Invalid request");
    let message = "the query parameter &quot;login_hint&quot; contains a NUL character";
    assert_page(&response, 400, message);
    let response = browser.get(&router, "/consent/%00").await;
    assert_page(&response, 400, "the URL path contains a NUL character");
}

#[tokio::test]
async fn large_bodies_are_refused_with_413_before_they_are_read() {
    let t = test_state().await;
    let router = router_for(&t.state, "");
    // Announced as 10 MB: refused on the header, the body is never read.
    let request = Request::post("/oauth2/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("content-length", "10485760")
        .body(Body::from("grant_type=x"))
        .unwrap();
    let response = send(&router, request).await;
    assert_eq!(response.status, 413);
    assert_eq!(
        response.json()["error_description"],
        format!("the request body is larger than {BODY_LIMIT} bytes")
    );
    // Without a length: refused once the limit is passed.
    let big = Body::from(vec![b'a'; BODY_LIMIT + 1]);
    let response = post(&router, "/_matrix/client/v3/login", "application/json", big).await;
    assert_eq!(response.status, 413);
    assert_eq!(response.json()["errcode"], "M_TOO_LARGE");
    let big = Body::from(vec![b'a'; BODY_LIMIT + 1]);
    let response = post(&router, "/login", "application/x-www-form-urlencoded", big).await;
    assert_page(&response, 413, "Request too large");
    // A body at the limit goes through to the handler.
    let body = format!("token={}", "a".repeat(BODY_LIMIT - 6));
    let response = post_form(&router, "/oauth2/introspect", &body).await;
    assert_eq!(response.status, 401, "{}", response.body);
}

#[tokio::test]
async fn unusual_but_valid_passwords_still_log_in() {
    let t = test_state().await;
    let router = router_for(&t.state, "");
    let password = "p\u{1}\u{7f}\u{85}\u{fffe}🙂\tx";
    add_user(&t.state, "alice", password).await;
    let body = json!({"type": "m.login.password", "user": "alice", "password": password});
    let response = post_json(&router, "/_matrix/client/v3/login", &body).await;
    assert_eq!(response.status, 200, "{}", response.body);
    // A form cannot carry C0 controls, but the rest of it passes.
    add_user(&t.state, "bob", "p\u{85}\u{fffe}🙂\tx\r\n").await;
    let response = Browser::default()
        .log_in(&router, "bob", "p\u{85}\u{fffe}🙂\tx\r\n")
        .await;
    assert_eq!(response.status, 303, "{}", response.body);
}

/// NUL in the fields PostgreSQL used to answer 500 for: the compat login
/// `user`, the login page `username`, a registration `client_name`.
async fn nul_never_reaches_the_database(state: AppState) {
    let router = router_for(&state, "");
    add_user(&state, "alice", "wonderland").await;
    let body = json!({"type": "m.login.password", "user": "al\u{0}ice", "password": "wonderland"});
    let response = post_json(&router, "/_matrix/client/v3/login", &body).await;
    assert_eq!(response.status, 400, "{}", response.body);
    assert_eq!(response.json()["errcode"], "M_INVALID_PARAM");

    let response = Browser::default()
        .log_in(&router, "al\u{0}ice", "wonderland")
        .await;
    let message = "the form field &quot;username&quot; contains a NUL character";
    assert_page(&response, 400, message);

    let metadata = json!({
        "client_name": "Evil\u{0}App",
        "client_uri": "https://app.example.com/",
        "application_type": "native",
        "token_endpoint_auth_method": "none",
        "redirect_uris": ["http://127.0.0.1/callback"],
    });
    let response = post_json(&router, "/oauth2/registration", &metadata).await;
    assert_eq!(response.status, 400, "{}", response.body);
    assert_eq!(
        response.json()["error_description"],
        "the JSON field \"client_name\" contains a NUL character"
    );
    // The same requests without the NUL reach the database and succeed.
    let body = json!({"type": "m.login.password", "user": "alice", "password": "wonderland"});
    assert_eq!(
        post_json(&router, "/_matrix/client/v3/login", &body)
            .await
            .status,
        200
    );
    let mut metadata = metadata;
    metadata["client_name"] = json!("Good App");
    assert_eq!(
        post_json(&router, "/oauth2/registration", &metadata)
            .await
            .status,
        201
    );
}

#[tokio::test]
async fn nul_never_reaches_sqlite() {
    nul_never_reaches_the_database(test_state().await.state).await;
}

#[tokio::test]
async fn nul_never_reaches_postgres() {
    if let Some((t, pg)) = postgres_state().await {
        nul_never_reaches_the_database(t.state).await;
        pg.drop_schema().await;
    }
}

#[tokio::test]
async fn extractor_refusals_speak_the_dialect_of_the_route() {
    let t = test_state().await;
    let router = router_for(&t.state, "");
    // OAuth: a JSON body where a form is expected.
    let response = post_json(&router, "/oauth2/token", &json!({})).await;
    assert_eq!(response.status, 415);
    assert_eq!(response.json()["error"], "invalid_request");
    assert!(response.json()["error_description"]
        .as_str()
        .unwrap()
        .contains("application/x-www-form-urlencoded"));
    // A page: a field given twice (axum says 422; RFC 6749 and pages, 400).
    let form = "csrf=a&username=alice&username=bob&password=x";
    let response = post_form(&router, "/login", form).await;
    assert_page(&response, 400, "duplicate field `username`");
    // Matrix: a query parameter given twice.
    let path = "/_matrix/client/v3/login/sso/redirect?redirectUrl=a&redirectUrl=b";
    let (status, body) = crate::test_support::get_json(&router, path).await;
    assert_eq!(status, 400);
    assert_eq!(body["errcode"], "M_INVALID_PARAM");
    // Answers of the handlers themselves are left alone.
    let response = post_form(&router, "/oauth2/token", "grant_type=password").await;
    assert_eq!(response.json()["error"], "invalid_client");
}
