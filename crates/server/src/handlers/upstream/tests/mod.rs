//! The upstream sign-in flow in process, against a scriptable provider
//! ([`fake_op`]): registration through imported claims, the returning
//! user, linking on conflict, back-channel logout, and every failure of
//! the callback, each leaving nothing half-created.

mod fake_op;

use mxauth_config::UpstreamProviderConfig;
use serde_json::{json, Value};
use ulid::Ulid;

use self::fake_op::FakeOp;
use crate::{
    sync::{sync_providers, ConfiguredProvider},
    test_support::{
        add_user, csrf_of, router_for, send, test_state, Browser, TestResponse, TestState,
    },
};

const NEXT: &str = "/account/";

struct Setup {
    ts: TestState,
    router: axum::Router,
    op: FakeOp,
    provider: Ulid,
}

/// A provider pointing at a fresh fake OP; `overrides` replace keys of
/// the provider block.
async fn setup(overrides: Value) -> Setup {
    let ts = test_state().await;
    let clock = ts.clock.clone();
    let op = FakeOp::start(move || mxauth_model::Clock::now(&clock).timestamp()).await;
    let provider = Ulid::from_string("01H8PKNWKKRPCBW4YGH1RWV279").unwrap();
    let mut block = json!({
        "id": provider.to_string(),
        "issuer": op.issuer,
        "human_name": "Test OP",
        "discovery_mode": "insecure",
        "client_id": "mxauth-client",
        "token_endpoint_auth_method": "client_secret_post",
        "id_token_signed_response_alg": "ES256",
        "scope": "openid profile email",
        "on_backchannel_logout": "logout_all",
        "claims_imports": {
            "localpart": {"action": "require"},
            "displayname": {"action": "suggest"},
            "email": {"action": "suggest"},
        },
    });
    if let (Some(block), Value::Object(overrides)) = (block.as_object_mut(), overrides) {
        block.extend(overrides);
    }
    let config: UpstreamProviderConfig = serde_json::from_value(block).unwrap();
    let configured = [ConfiguredProvider {
        config: &config,
        secret: Some("s3cret".into()),
    }];
    let state = &ts.state;
    sync_providers(
        &state.db,
        &configured,
        &state.encrypter,
        state.clock.now(),
        false,
        false,
    )
    .await
    .unwrap();
    let router = router_for(state, "");
    Setup {
        ts,
        router,
        op,
        provider,
    }
}

fn query_of(location: &str) -> Vec<(String, String)> {
    let url = url::Url::parse(location).unwrap();
    url.query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn param(pairs: &[(String, String)], name: &str) -> Option<String> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

impl Setup {
    /// Starts a sign-in; returns the `state` and `nonce` sent to the
    /// provider, and scripts the provider's ID token with that nonce.
    async fn begin(&self, browser: &mut Browser) -> (String, String) {
        let page = browser
            .get(
                &self.router,
                &format!("/upstream/authorize/{}?next=%2Faccount%2F", self.provider),
            )
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
        let location = page.header("location").unwrap();
        assert!(
            location.starts_with(&format!("{}/authorize?", self.op.issuer)),
            "{location}"
        );
        let query = query_of(&location);
        let state = param(&query, "state").unwrap();
        let nonce = param(&query, "nonce").unwrap();
        assert_eq!(param(&query, "client_id").as_deref(), Some("mxauth-client"));
        assert_eq!(
            param(&query, "redirect_uri").as_deref(),
            Some(
                format!(
                    "https://auth.example.com/upstream/callback/{}",
                    self.provider
                )
                .as_str()
            )
        );
        // The discovery document lists S256: PKCE is used (pkce_method auto).
        assert_eq!(
            param(&query, "code_challenge_method").as_deref(),
            Some("S256")
        );
        self.op
            .script(|s| s.id_token_claims["nonce"] = json!(nonce));
        (state, nonce)
    }

    async fn callback(&self, browser: &mut Browser, query: &str) -> TestResponse {
        browser
            .get(
                &self.router,
                &format!("/upstream/callback/{}?{query}", self.provider),
            )
            .await
    }

    async fn link_of(&self, subject: &str) -> Option<mxauth_model::upstream::UpstreamLink> {
        let mut repo = self.ts.state.db.read().await.unwrap();
        repo.upstream_links()
            .find_by_subject(self.provider, subject)
            .await
            .unwrap()
    }

    /// A full sign-in up to the link page; answers the link page.
    async fn sign_in(&self, browser: &mut Browser) -> TestResponse {
        let (state, _) = self.begin(browser).await;
        let back = self
            .callback(browser, &format!("code=c1&state={state}"))
            .await;
        assert_eq!(back.status, 303, "{}", back.body);
        let link_page = back.header("location").unwrap();
        assert!(link_page.starts_with("/upstream/link/"), "{link_page}");
        browser.get(&self.router, &link_page).await
    }
}

#[tokio::test]
async fn a_new_user_registers_with_imported_claims_and_comes_back_without_the_form() {
    let s = setup(json!({})).await;
    let mut browser = Browser::default();
    let page = s.sign_in(&mut browser).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("id=\"upstream-register\""),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("value=\"alice\""),
        "the localpart is imported"
    );
    assert!(
        page.body.contains("readonly"),
        "a required localpart cannot be edited"
    );
    // The code was exchanged with the PKCE verifier and the client secret.
    let request = &s.op.token_requests()[0];
    let field = |name: &str| {
        request
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(field("code").as_deref(), Some("c1"));
    assert_eq!(field("client_secret").as_deref(), Some("s3cret"));
    assert!(field("code_verifier").is_some_and(|v| v.len() >= 43));

    let link = s.link_of("alice-sub").await.unwrap();
    assert_eq!(link.user_id, None, "no account before the person chose");
    let csrf = csrf_of(&page.body);
    let path = format!("/upstream/link/{}", link.id);
    let form = [
        ("csrf", csrf.as_str()),
        ("action", "register"),
        ("username", "mallory"),
        ("import_display_name", "on"),
        ("display_name", "Alice Edited"),
        ("import_email", "on"),
    ];
    let done = browser.post(&s.router, &path, &form).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.header("location").as_deref(), Some(NEXT));

    let mut repo = s.ts.state.db.read().await.unwrap();
    // The required localpart wins over the form's username.
    let user = repo
        .users()
        .find_by_username("alice")
        .await
        .unwrap()
        .unwrap();
    assert!(repo
        .users()
        .find_by_username("mallory")
        .await
        .unwrap()
        .is_none());
    let emails = repo.user_emails().list(&user).await.unwrap();
    assert_eq!(
        emails.iter().map(|e| e.email.as_str()).collect::<Vec<_>>(),
        ["alice@example.test"]
    );
    assert_eq!(s.link_of("alice-sub").await.unwrap().user_id, Some(user.id));
    drop(repo);
    // The homeserver hears of the new user with the edited display name.
    let mut repo = s.ts.state.db.read().await.unwrap();
    let jobs = repo
        .jobs()
        .list(crate::jobs::ProvisionUser::QUEUE)
        .await
        .unwrap();
    assert!(
        jobs.iter().any(|j| j.payload.contains("Alice Edited")),
        "{jobs:?}"
    );
    drop(repo);

    // The account page is reachable: the browser is signed in.
    let account = browser.get(&s.router, NEXT).await;
    assert_eq!(account.status, 200);
    assert!(account.body.contains("alice"), "{}", account.body);

    // A second sign-in in a fresh browser skips the form.
    let mut other = Browser::default();
    let again = s.sign_in(&mut other).await;
    assert_eq!(again.status, 303, "{}", again.body);
    assert_eq!(again.header("location").as_deref(), Some(NEXT));
    // Submitting the old form again changes nothing.
    let replay = browser.post(&s.router, &path, &form).await;
    assert_eq!(replay.status, 400, "{}", replay.body);
}

#[tokio::test]
async fn the_callback_refuses_other_browsers_wrong_states_and_replays() {
    let s = setup(json!({})).await;
    let mut browser = Browser::default();
    let (state, _) = s.begin(&mut browser).await;

    let mut stranger = Browser::default();
    let elsewhere = s
        .callback(&mut stranger, &format!("code=c1&state={state}"))
        .await;
    assert_eq!(elsewhere.status, 400);
    assert!(
        elsewhere.body.contains("in progress in this browser"),
        "{}",
        elsewhere.body
    );

    let wrong = s
        .callback(&mut browser, "code=c1&state=not-the-state")
        .await;
    assert_eq!(wrong.status, 400);
    assert!(
        wrong.body.contains("state does not match"),
        "{}",
        wrong.body
    );
    assert!(
        s.op.token_requests().is_empty(),
        "no code exchanged for a bad state"
    );

    let first = s
        .callback(&mut browser, &format!("code=c1&state={state}"))
        .await;
    assert_eq!(first.status, 303, "{}", first.body);
    let replay = s
        .callback(&mut browser, &format!("code=c1&state={state}"))
        .await;
    assert_eq!(replay.status, 400);
    assert!(replay.body.contains("already used"), "{}", replay.body);
    assert_eq!(s.op.token_requests().len(), 1);
}

#[tokio::test]
async fn provider_failures_are_named_and_create_nothing() {
    let s = setup(json!({})).await;
    type Case = (&'static str, fn(&mut fake_op::Script), u16, &'static str);
    let cases: [Case; 4] = [
        (
            "signature",
            |s| s.sign_with_stranger = true,
            502,
            "signature does not hold",
        ),
        (
            "nonce",
            |s| s.id_token_claims["nonce"] = json!("another-sign-in"),
            502,
            "nonce",
        ),
        (
            "token error",
            |s| s.token_error = Some("invalid_grant".into()),
            502,
            "invalid_grant",
        ),
        (
            "audience",
            |s| s.id_token_claims["aud"] = json!("someone-else"),
            502,
            "audience",
        ),
    ];
    for (what, script, status, says) in cases {
        let mut browser = Browser::default();
        let (state, _) = s.begin(&mut browser).await;
        s.op.script(script);
        let page = s
            .callback(&mut browser, &format!("code=c&state={state}"))
            .await;
        assert_eq!(page.status, status, "{what}: {}", page.body);
        assert!(page.body.contains(says), "{what}: {}", page.body);
        assert!(page.body.contains("Test OP"), "the page names the provider");
        assert!(
            s.link_of("alice-sub").await.is_none(),
            "{what}: nothing created"
        );
        s.op.script(|s| {
            s.sign_with_stranger = false;
            s.token_error = None;
            s.id_token_claims["aud"] = json!("mxauth-client");
        });
    }

    let mut browser = Browser::default();
    let (state, _) = s.begin(&mut browser).await;
    let refused = s
        .callback(
            &mut browser,
            &format!("error=access_denied&error_description=The+user+said+no&state={state}"),
        )
        .await;
    assert_eq!(refused.status, 400);
    assert!(
        refused.body.contains("access_denied") && refused.body.contains("The user said no"),
        "{}",
        refused.body
    );
    assert!(s.link_of("alice-sub").await.is_none());
}

#[tokio::test]
async fn discovery_problems_are_named() {
    // A wrong issuer in strict mode (OIDC Discovery §4.3).
    let s = setup(json!({"discovery_mode": "oidc"})).await;
    s.op.script(|s| s.discovery_issuer = Some("https://evil.example".into()));
    let mut browser = Browser::default();
    let page = browser
        .get(&s.router, &format!("/upstream/authorize/{}", s.provider))
        .await;
    assert_eq!(page.status, 502, "{}", page.body);
    assert!(
        page.body.contains("evil.example") && page.body.contains("§4.3"),
        "{}",
        page.body
    );

    // The right issuer, but not https: strict mode refuses it.
    let s = setup(json!({"discovery_mode": "oidc"})).await;
    let page = browser
        .get(&s.router, &format!("/upstream/authorize/{}", s.provider))
        .await;
    assert_eq!(page.status, 502, "{}", page.body);
    assert!(page.body.contains("not https"), "{}", page.body);

    // A provider that is down: 503, and nothing stored.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let s = setup(json!({"issuer": format!("http://127.0.0.1:{closed}")})).await;
    let page = browser
        .get(&s.router, &format!("/upstream/authorize/{}", s.provider))
        .await;
    assert_eq!(page.status, 503, "{}", page.body);
    assert!(page.body.contains("cannot be reached"), "{}", page.body);

    // An unknown provider id is a 404, not a 500.
    let page = browser
        .get(&s.router, "/upstream/authorize/not-a-ulid")
        .await;
    assert_eq!(page.status, 404);
}

#[tokio::test]
async fn on_conflict_add_links_the_existing_user() {
    let s =
        setup(json!({"claims_imports": {"localpart": {"action": "force", "on_conflict": "add"}}}))
            .await;
    let alice = add_user(&s.ts.state, "alice", "pw").await;
    let mut browser = Browser::default();
    let page = s.sign_in(&mut browser).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("Continue as @alice:example.com"),
        "{}",
        page.body
    );
    let link = s.link_of("alice-sub").await.unwrap();
    let csrf = csrf_of(&page.body);
    let done = browser
        .post(
            &s.router,
            &format!("/upstream/link/{}", link.id),
            &[("csrf", &csrf), ("action", "link")],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(
        s.link_of("alice-sub").await.unwrap().user_id,
        Some(alice.id)
    );

    // With `fail` (the default), the same situation is refused.
    let s = setup(json!({"claims_imports": {"localpart": {"action": "force"}}})).await;
    add_user(&s.ts.state, "alice", "pw").await;
    let page = s.sign_in(&mut Browser::default()).await;
    assert_eq!(page.status, 400, "{}", page.body);
    assert!(page.body.contains("already exists"), "{}", page.body);
}

#[tokio::test]
async fn backchannel_logout_ends_the_sessions_it_names() {
    let s = setup(
        json!({"claims_imports": {"localpart": {"action": "require"}, "skip_confirmation": true}}),
    )
    .await;
    let mut browser = Browser::default();
    let signed_in = s.sign_in(&mut browser).await;
    assert_eq!(
        signed_in.status, 303,
        "skip_confirmation registers directly: {}",
        signed_in.body
    );
    assert_eq!(browser.get(&s.router, NEXT).await.status, 200);

    let logout = |token: String| {
        let router = s.router.clone();
        let path = format!("/upstream/backchannel-logout/{}", s.provider);
        async move {
            let body = format!("logout_token={token}");
            let request = axum::http::Request::post(path)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(axum::body::Body::from(body))
                .unwrap();
            send(&router, request).await
        }
    };
    // Without the logout event: refused (§2.6), the session stays.
    let bad = logout(s.op.logout_token(json!({"sid": "op-session-1", "events": {}}))).await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert_eq!(bad.json()["error"], "invalid_request");
    // With a nonce: refused.
    let bad = logout(s.op.logout_token(json!({"sid": "op-session-1", "nonce": "n"}))).await;
    assert_eq!(bad.status, 400);
    assert_eq!(
        browser.get(&s.router, NEXT).await.status,
        200,
        "still signed in"
    );

    let good = logout(s.op.logout_token(json!({"sid": "op-session-1"}))).await;
    assert_eq!(good.status, 200, "{}", good.body);
    let account = browser.get(&s.router, NEXT).await;
    assert_eq!(
        account.status, 303,
        "signed out: the account page sends to the login page"
    );
}

#[tokio::test]
async fn legacy_sso_goes_straight_to_the_provider_named_by_its_synapse_idp_id() {
    let s = setup(json!({"synapse_idp_id": "oidc-test", "brand_name": "gitlab"})).await;
    let (status, flows) =
        crate::test_support::get_json(&s.router, "/_matrix/client/v3/login").await;
    assert_eq!(status, 200);
    let sso = flows["flows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["type"] == "m.login.sso")
        .unwrap();
    assert_eq!(
        sso["identity_providers"],
        json!([{"id": "oidc-test", "name": "Test OP", "brand": "gitlab"}])
    );

    let mut browser = Browser::default();
    let start = browser
        .get(
            &s.router,
            "/_matrix/client/v3/login/sso/redirect/oidc-test?redirectUrl=https%3A%2F%2Fapp.example.com%2Fsso",
        )
        .await;
    assert_eq!(start.status, 303, "{}", start.body);
    let authorize = start.header("location").unwrap();
    let expected = format!(
        "https://auth.example.com/upstream/authorize/{}?next=%2Fcomplete-compat-sso%2F",
        s.provider
    );
    assert!(authorize.starts_with(&expected), "{authorize}");
    let path = authorize.trim_start_matches("https://auth.example.com");
    let to_provider = browser.get(&s.router, path).await;
    let query = query_of(&to_provider.header("location").unwrap());
    let state = param(&query, "state").unwrap();
    s.op.script(|sc| sc.id_token_claims["nonce"] = json!(param(&query, "nonce").unwrap()));
    let back = s
        .callback(&mut browser, &format!("code=c&state={state}"))
        .await;
    let link_page = browser
        .get(&s.router, &back.header("location").unwrap())
        .await;
    let csrf = csrf_of(&link_page.body);
    let link = s.link_of("alice-sub").await.unwrap();
    let registered = browser
        .post(
            &s.router,
            &format!("/upstream/link/{}", link.id),
            &[("csrf", &csrf), ("action", "register")],
        )
        .await;
    assert_eq!(registered.status, 303, "{}", registered.body);
    let confirm_path = registered.header("location").unwrap();
    assert!(
        confirm_path.starts_with("/complete-compat-sso/"),
        "{confirm_path}"
    );

    // The legacy confirmation, then the login token exchange.
    let confirm = browser.get(&s.router, &confirm_path).await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    let csrf = csrf_of(&confirm.body);
    let allowed = browser
        .post(
            &s.router,
            &confirm_path,
            &[("csrf", &csrf), ("decision", "allow")],
        )
        .await;
    let back_to_app = allowed.header("location").unwrap();
    assert!(
        back_to_app.starts_with("https://app.example.com/sso?loginToken="),
        "{back_to_app}"
    );
    let token = param(&query_of(&back_to_app), "loginToken").unwrap();
    let login = crate::test_support::post_json(
        &s.router,
        "/_matrix/client/v3/login",
        json!({"type": "m.login.token", "token": token}),
        None,
    )
    .await;
    assert_eq!(login.status, 200, "{}", login.body);
    assert_eq!(login.json()["user_id"], "@alice:example.com");

    // An unknown idp id falls back to the login page's choices.
    let unknown = browser
        .get(&s.router, "/_matrix/client/v3/login/sso/redirect/oidc-nope?redirectUrl=https%3A%2F%2Fapp.example.com%2Fsso")
        .await;
    assert!(unknown
        .header("location")
        .unwrap()
        .contains("/complete-compat-sso/"));
}

#[tokio::test]
async fn userinfo_claims_are_imported_as_json_or_signed_and_must_be_about_the_same_person() {
    for signed in [false, true] {
        let mut overrides = json!({"fetch_userinfo": true});
        if signed {
            overrides["userinfo_signed_response_alg"] = json!("ES256");
        }
        let s = setup(overrides).await;
        s.op.script(|sc| sc.userinfo_signed = signed);
        let page = s.sign_in(&mut Browser::default()).await;
        assert_eq!(page.status, 200, "signed {signed}: {}", page.body);
        // userinfo's name wins over the ID token's.
        assert!(
            page.body.contains("Alice from userinfo"),
            "signed {signed}: {}",
            page.body
        );

        s.op.script(|sc| sc.userinfo["sub"] = json!("someone-else"));
        let mut browser = Browser::default();
        let (state, _) = s.begin(&mut browser).await;
        let page = s
            .callback(&mut browser, &format!("code=c&state={state}"))
            .await;
        assert_eq!(page.status, 502, "{}", page.body);
        assert!(page.body.contains("someone else"), "{}", page.body);
    }
}

#[tokio::test]
async fn a_rotated_signing_key_is_fetched_again() {
    let s = setup(json!({})).await;
    assert_eq!(s.sign_in(&mut Browser::default()).await.status, 200);
    assert_eq!(s.op.jwks_fetches(), 1);
    assert_eq!(s.sign_in(&mut Browser::default()).await.status, 200);
    assert_eq!(s.op.jwks_fetches(), 1, "the JWK Set is cached");
    // The provider now signs with a new kid: fetched again, once.
    s.op.rotate_keys(9, "op-key-2");
    let page = s.sign_in(&mut Browser::default()).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(s.op.jwks_fetches(), 2);
    // Right after that refetch, a token naming an unknown key is refused
    // without fetching again (made-up kids cannot hammer the provider)…
    s.op.rotate_keys(10, "op-key-3");
    let mut browser = Browser::default();
    let (state, _) = s.begin(&mut browser).await;
    let refused = s
        .callback(&mut browser, &format!("code=c&state={state}"))
        .await;
    assert_eq!(refused.status, 502, "{}", refused.body);
    assert_eq!(s.op.jwks_fetches(), 2);
    // …and 30 seconds later it is picked up.
    s.ts.clock.advance(chrono::Duration::seconds(31));
    assert_eq!(s.sign_in(&mut Browser::default()).await.status, 200);
    assert_eq!(s.op.jwks_fetches(), 3);
}

/// A discovery document cannot send mxauth to private addresses the
/// administrator did not configure (SSRF): `localhost` is another host
/// than the configured `127.0.0.1`.
#[tokio::test]
async fn discovery_cannot_point_at_private_hosts_the_administrator_did_not_name() {
    let s = setup(json!({})).await;
    let port = s.op.issuer.rsplit(':').next().unwrap().to_owned();
    s.op.script(|sc| sc.jwks_uri = Some(format!("http://localhost:{port}/jwks")));
    let mut browser = Browser::default();
    let (state, _) = s.begin(&mut browser).await;
    let page = s
        .callback(&mut browser, &format!("code=c&state={state}"))
        .await;
    assert_eq!(page.status, 502, "{}", page.body);
    assert!(
        page.body.contains("not a public host name"),
        "{}",
        page.body
    );
    assert!(s.link_of("alice-sub").await.is_none());
}

/// `response_mode: form_post`: the provider's cross-site POST carries no
/// SameSite=Lax cookie, so mxauth posts the answer again from its own page.
#[tokio::test]
async fn form_post_answers_are_reposted_from_our_own_page() {
    let s = setup(json!({"response_mode": "form_post"})).await;
    let mut browser = Browser::default();
    let page = browser
        .get(&s.router, &format!("/upstream/authorize/{}", s.provider))
        .await;
    let query = query_of(&page.header("location").unwrap());
    assert_eq!(param(&query, "response_mode").as_deref(), Some("form_post"));
    let state = param(&query, "state").unwrap();
    s.op.script(|sc| sc.id_token_claims["nonce"] = json!(param(&query, "nonce").unwrap()));
    let path = format!("/upstream/callback/{}", s.provider);

    let cross_site =
        crate::test_support::post_form(&s.router, &path, &[("code", "c"), ("state", &state)], &[])
            .await;
    assert_eq!(cross_site.status, 200, "{}", cross_site.body);
    assert!(
        cross_site.body.contains("mxauth_reposted"),
        "{}",
        cross_site.body
    );
    assert!(s.op.token_requests().is_empty());

    let same_site = browser
        .post(
            &s.router,
            &path,
            &[("code", "c"), ("state", &state), ("mxauth_reposted", "1")],
        )
        .await;
    assert_eq!(same_site.status, 303, "{}", same_site.body);
    assert!(same_site
        .header("location")
        .unwrap()
        .starts_with("/upstream/link/"));
}

#[tokio::test]
async fn a_display_name_longer_than_the_homeserver_takes_is_refused_and_creates_nothing() {
    let s = setup(json!({})).await;
    let mut browser = Browser::default();
    let page = s.sign_in(&mut browser).await;
    let csrf = csrf_of(&page.body);
    let link = s.link_of("alice-sub").await.unwrap();
    let long = "x".repeat(257);
    let form = [
        ("csrf", csrf.as_str()),
        ("action", "register"),
        ("import_display_name", "on"),
        ("display_name", long.as_str()),
    ];
    let refused = browser
        .post(&s.router, &format!("/upstream/link/{}", link.id), &form)
        .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.body.contains("longer than 256"), "{}", refused.body);
    let mut repo = s.ts.state.db.read().await.unwrap();
    assert!(repo
        .users()
        .find_by_username("alice")
        .await
        .unwrap()
        .is_none());
}
