//! What the sweep's requests carry to reach past the first checks: a user
//! logged in through the pages (cookie and CSRF token), a confidential
//! client with OAuth tokens, a pending consent, a pending compat SSO login,
//! compat tokens; and the values the path parameters of each route take.

use std::sync::Arc;

use serde_json::json;

use crate::{
    handlers::oauth2::tests::{
        authorize_and_consent, authorize_path, location, register, token, VERIFIER,
    },
    state::AppState,
    test_support::{add_user, csrf_of, router_for, send, Browser},
};
use mxauth_config::RateLimit;

pub struct Context {
    pub router: axum::Router,
    /// `name=value` of a logged-in browser's cookie, and its CSRF token.
    pub cookie: String,
    pub csrf: String,
    pub client_id: String,
    pub client_secret: String,
    pub grant_id: String,
    pub sso_id: String,
    pub oauth_token: String,
    /// A `client_credentials` token with `urn:mas:admin`, for the admin API.
    pub admin_token: String,
    pub oauth_refresh: String,
    /// The bearer of the compat logout routes; the refresh token is of
    /// another session, so that refreshing does not end this one.
    pub compat_token: String,
    pub compat_refresh: String,
    pub matrix_secret: String,
    /// The user the admin console's `/admin/users/{id}/…` routes change
    /// (alice, the browser's user, is an admin), and a registration token
    /// for `/admin/registration-tokens/{id}/…`.
    pub console_user_id: String,
    pub registration_token_id: String,
}

impl Context {
    pub async fn new(mut state: AppState) -> Self {
        // The sweep checks passwords thousands of times: no rate limit, so
        // each request gets as far as its input lets it.
        let mut site = (*state.site).clone();
        let unlimited = RateLimit {
            burst: u32::MAX,
            per_second: 1e9,
        };
        site.login_per_ip = unlimited;
        site.login_per_account = unlimited;
        site.registration_per_ip = unlimited;
        // Registration and recovery on, so their forms meet the inputs.
        site.account.password_registration_enabled = true;
        site.account.password_recovery_enabled = true;
        state.site = Arc::new(site);
        let router = router_for(&state, "");
        let alice = add_user(&state, "alice", "wonderland").await;
        let bob = add_user(&state, "bob", "builder").await;
        let mut repo = state.db.begin().await.unwrap();
        repo.users()
            .set_can_request_admin(alice, true)
            .await
            .unwrap();
        let ctx = (&state).into();
        let registration_token =
            crate::ops::registration::issue_token(&mut repo, ctx, None, None, None)
                .await
                .unwrap();
        repo.commit().await.unwrap();

        let client = register(
            &router,
            json!({
                "client_name": "Sweep",
                "client_uri": "https://app.example.com/",
                "application_type": "native",
                "redirect_uris": ["http://127.0.0.1/callback"],
                "token_endpoint_auth_method": "client_secret_post",
                "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
            }),
        )
        .await;
        let client_id = client["client_id"].as_str().unwrap().to_owned();
        let client_secret = client["client_secret"].as_str().unwrap().to_owned();
        // The sweep's client is an admin client too, so the admin API's
        // handlers get the inputs past the token check.
        crate::test_support::set_policy_data(
            &mut state,
            serde_json::json!({"admin_clients": [client_id]}),
        );
        let router = router_for(&state, "");
        let admin_token = token(
            &router,
            &[
                ("grant_type", "client_credentials"),
                ("scope", "urn:mas:admin"),
                ("client_id", &client_id),
                ("client_secret", &client_secret),
            ],
        )
        .await
        .json()["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let public = register(
            &router,
            json!({
                "client_uri": "https://app.example.com/",
                "application_type": "native",
                "token_endpoint_auth_method": "none",
                "redirect_uris": ["http://127.0.0.1/callback"],
            }),
        )
        .await;

        // Log in through the pages on the way to a consent that stays open.
        let mut browser = Browser::default();
        let public_id = public["client_id"].as_str().unwrap();
        let response = browser
            .get(&router, &authorize_path(public_id, "openid"))
            .await;
        let consent = location(&response);
        let grant_id = consent.trim_start_matches("/consent/").to_owned();
        let response = browser.log_in(&router, "alice", "wonderland").await;
        assert_eq!(response.status, 303, "login: {}", response.body);
        let page = browser.get(&router, &consent).await;
        assert_eq!(page.status, 200, "consent: {}", page.body);
        let csrf = csrf_of(&page.body);
        let cookie = browser.cookie().unwrap().to_owned();

        let response = browser
            .get(
                &router,
                "/_matrix/client/v3/login/sso/redirect?redirectUrl=https%3A%2F%2Fapp.example.com%2F",
            )
            .await;
        // The last path segment, whether the location is relative or not.
        let sso_id = location(&response).rsplit('/').next().unwrap().to_owned();

        let scope = "openid urn:matrix:client:api:*";
        let code = authorize_and_consent(&router, &mut Browser::default(), &client_id, scope).await;
        let tokens = token(
            &router,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "http://127.0.0.1:41234/callback"),
                ("code_verifier", VERIFIER),
                ("client_id", &client_id),
                ("client_secret", &client_secret),
            ],
        )
        .await
        .json();
        let oauth_token = tokens["access_token"].as_str().unwrap().to_owned();
        let oauth_refresh = tokens["refresh_token"].as_str().unwrap().to_owned();

        let login = json!({
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": "alice"},
            "password": "wonderland",
            "refresh_token": true,
        });
        let compat_login = || {
            let request = axum::http::Request::post("/_matrix/client/v3/login")
                .header("content-type", "application/json")
                .body(axum::body::Body::from(login.to_string()))
                .unwrap();
            send(&router, request)
        };
        let compat = compat_login().await.json();
        let tokens = compat_login().await.json();
        Self {
            router,
            cookie,
            csrf,
            client_id,
            client_secret,
            grant_id,
            sso_id,
            oauth_token,
            oauth_refresh,
            admin_token,
            compat_token: compat["access_token"].as_str().unwrap().to_owned(),
            compat_refresh: tokens["refresh_token"].as_str().unwrap().to_owned(),
            matrix_secret: state.site.matrix_secret.clone(),
            console_user_id: bob.id.to_string(),
            registration_token_id: registration_token.id.to_string(),
        }
    }

    /// The concrete paths of a route: its parameters filled with live ids,
    /// and then with values that are no id at all.
    pub fn paths_of(&self, route: &str) -> Vec<String> {
        let id = if route.starts_with("/admin/users/") {
            &self.console_user_id
        } else if route.starts_with("/admin/registration-tokens/") {
            &self.registration_token_id
        } else {
            &self.sso_id
        };
        let live = route
            .replace("{version}", "v3")
            .replace("{idp}", "oidc-sweep")
            .replace("{grant_id}", &self.grant_id)
            .replace("{username}", "alice")
            .replace("{id}", id);
        let mut paths = vec![live];
        if route.contains('{') {
            let junk = [
                "01ARZ3NDEKTSV4RRFFQ69G5FAV",
                "x",
                "%FF%FE",
                "%C3%28",
                "..%2F..%2Fetc%2Fpasswd",
                "%27%20OR%20%271%27%3D%271",
            ];
            let long = "9".repeat(5000);
            for value in junk.iter().copied().chain([long.as_str()]) {
                let path = route
                    .replace("{version}", "r0")
                    .replace("{idp}", value)
                    .replace("{grant_id}", value)
                    .replace("{username}", value)
                    .replace("{id}", value);
                paths.push(path);
            }
        }
        paths
    }

    /// The bearer token a route reads: the homeserver's secret for
    /// introspection, a compat access token on the Matrix routes, an OAuth
    /// access token elsewhere.
    pub fn bearer_for(&self, route: &str) -> &str {
        if route == crate::urls::paths::INTROSPECT {
            &self.matrix_secret
        } else if route.starts_with("/_matrix/") {
            &self.compat_token
        } else if route.starts_with("/api/admin/") {
            &self.admin_token
        } else {
            &self.oauth_token
        }
    }
}
