//! Shared steps of the upstream provider tests (upstream.rs,
//! upstream_legacy.rs, upstream_syn2mas.rs): an mxauth configured with MAS's
//! `upstream_oauth2.providers` pointing at the real OP of op_peer.rs, a
//! homeserver stand-in that records what mxauth asks of it (or a real
//! Synapse), an OAuth client of mxauth, and what a person does in Chromium on
//! the login, link and consent pages.

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, Mutex},
};

use serde_json::{json, Value};

use crate::{
    op_peer::{OpOptions, OpenIdProvider},
    support::*,
    webdriver::Browser,
};

/// The provider's ULID (the one of MAS's documentation).
pub const PROVIDER: &str = "01H8PKNWKKRPCBW4YGH1RWV279";
/// Long enough to be an HS256 key (RFC 7518 §3.2) for client_secret_jwt.
pub const CLIENT_SECRET: &str = "an-upstream-test-secret-of-32-bytes-or-more";
/// PKCE pair of RFC 7636 appendix B.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// The localpart import of MAS's documentation: the OP's
/// `preferred_username`, not editable.
pub const LOCALPART_REQUIRED: &str =
    "{action: require, template: \"{{ user.preferred_username }}\"}";

/// What varies between the tests.
pub struct Scenario {
    pub name: &'static str,
    /// The account the OP signs in.
    pub op_user: &'static str,
    pub auth_method: &'static str,
    pub auth_alg: Option<&'static str>,
    /// `claims_imports.localpart`, as a YAML flow mapping.
    pub localpart: &'static str,
    /// `on_backchannel_logout`; also registers mxauth's back-channel logout
    /// URI at the OP.
    pub on_backchannel_logout: Option<&'static str>,
    /// `discovery_mode: disabled` with the endpoints given in the config.
    pub without_discovery: bool,
    /// Local users made with a password before the server starts.
    pub local_users: &'static [&'static str],
    /// The provider's `synapse_idp_id`: what Synapse called it.
    pub synapse_idp_id: Option<&'static str>,
    /// The OP's port, for a test that restarts the OP and needs the same
    /// issuer each time; a free one by default.
    pub op_port: Option<u16>,
    /// `matrix.homeserver`, when the server name matters (a real
    /// Synapse's); the sample's otherwise.
    pub server_name: Option<String>,
    /// A real Synapse on this port instead of the recording stand-in
    /// (`matrix.endpoint`, with synapse_peer.rs's secret). mxauth then also
    /// serves the legacy login API (`compat`), which the proxy in front of
    /// Synapse sends to it.
    pub synapse_port: Option<u16>,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            name: "upstream",
            op_user: "alice",
            auth_method: "client_secret_basic",
            auth_alg: None,
            localpart: LOCALPART_REQUIRED,
            on_backchannel_logout: None,
            without_discovery: false,
            local_users: &[],
            synapse_idp_id: None,
            op_port: None,
            server_name: None,
            synapse_port: None,
        }
    }
}

/// An mxauth and its upstream OP, running.
pub struct Setup {
    pub op: OpenIdProvider,
    pub server: LoggedServer,
    pub homeserver: RecordingHomeserver,
    pub db: TestDatabase,
    /// The OAuth client of mxauth the tests sign in to.
    pub client_id: String,
    pub callback: String,
}

/// The OP running and mxauth's configuration written, but no database yet
/// and no server: the moment a migration (syn2mas) fills the database.
pub struct Prepared {
    pub op: OpenIdProvider,
    homeserver: RecordingHomeserver,
    pub db: TestDatabase,
    files: Vec<PathBuf>,
    port: u16,
    local_users: &'static [&'static str],
}

impl Prepared {
    /// mxauth's configuration files, in the order they are merged.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// Migrates the database, adds the local users, starts mxauth, and
    /// registers the OAuth client.
    pub async fn start(self) -> Setup {
        let files = self.files;
        let migrated = run(with_configs(&mut mxauth(), &files).args(["database", "migrate"]));
        assert_eq!(migrated.code, 0, "{}", migrated.stderr);
        for user in self.local_users {
            register_local_user(&files, user);
        }
        let server = LoggedServer::start(files, self.port);
        let base = server.server.base();
        let callback = format!("http://127.0.0.1:{}/callback", free_port());
        let client_id = register_client(&base, "Upstream Test App", &callback).await;
        Setup {
            op: self.op,
            server,
            homeserver: self.homeserver,
            db: self.db,
            client_id,
            callback,
        }
    }
}

impl Setup {
    /// `None` when the OP cannot run here (see op_peer.rs).
    pub async fn start(scenario: Scenario, db: TestDatabase) -> Option<Setup> {
        Some(Setup::prepare(scenario, db).await?.start().await)
    }

    /// Starts the OP and writes mxauth's configuration; `None` when the OP
    /// cannot run here (see op_peer.rs).
    pub async fn prepare(scenario: Scenario, db: TestDatabase) -> Option<Prepared> {
        let homeserver = RecordingHomeserver::start().await;
        let (mut files, port) =
            server_config(scenario.name, &db, &matrix_yaml(&scenario, &homeserver));
        if scenario.synapse_port.is_some() {
            // The legacy login API too, for the proxy in front of Synapse.
            serve_compat(&files);
        }
        let base = format!("http://127.0.0.1:{port}/");
        let Some(op) = OpenIdProvider::start(OpOptions {
            port: scenario.op_port.unwrap_or_else(free_port),
            client_secret: CLIENT_SECRET.into(),
            redirect_uris: vec![format!("{base}upstream/callback/{PROVIDER}")],
            auth_method: scenario.auth_method.into(),
            auth_alg: scenario.auth_alg.map(Into::into),
            client_jwks_uri: Some(format!("{base}oauth2/keys.json")),
            backchannel_uri: scenario
                .on_backchannel_logout
                .map(|_| format!("{base}upstream/backchannel-logout/{PROVIDER}")),
            user: scenario.op_user.into(),
            ..OpOptions::default()
        })
        .await
        else {
            db.drop_database().await;
            return None;
        };

        // The provider goes in one more config file, merged last, once the
        // OP's endpoints are known.
        let provider = provider_yaml(&scenario, &op).await;
        let upstream = files[0].with_file_name("upstream.yaml");
        std::fs::write(&upstream, provider).unwrap();
        files.push(upstream);
        Some(Prepared {
            op,
            homeserver,
            db,
            files,
            port,
            local_users: scenario.local_users,
        })
    }

    pub fn base(&self) -> String {
        self.server.server.base()
    }

    /// An authorization request of the client (`openid`, PKCE).
    pub fn authorize_url(&self, state: &str) -> String {
        let encode =
            |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        format!(
            "{}authorize?response_type=code&client_id={}&redirect_uri={}&scope=openid&state={state}&code_challenge={CHALLENGE}&code_challenge_method=S256",
            self.base(),
            self.client_id,
            encode(&self.callback),
        )
    }

    /// Starts an authorization in `browser` and picks the provider on the
    /// login page. Returns the mxauth page the browser lands on after the
    /// OP (the link page, the consent page or the client's callback).
    pub async fn sign_in_through_provider(&self, browser: &Browser) -> String {
        browser.goto(&self.authorize_url("s1")).await;
        let login = browser.wait_for_url(|u| u.contains("/login?")).await;
        let link = format!("a.upstream-provider[data-provider-id=\"{PROVIDER}\"]");
        assert_eq!(
            browser.count(&link).await,
            1,
            "the login page {login} links to the provider:\n{}",
            browser.source().await
        );
        let href = browser
            .execute(&format!(
                "return document.querySelector('{}').getAttribute('href');",
                link.replace('\'', "\\'")
            ))
            .await;
        let href = href.as_str().unwrap_or_default();
        assert!(
            href.contains(&format!("/upstream/authorize/{PROVIDER}")) && href.contains("next="),
            "{href}"
        );
        browser.click(&link).await;
        browser
            .wait_for_url(|u| {
                u.contains("/upstream/link/")
                    || u.contains("/consent/")
                    || u.starts_with(&self.callback)
            })
            .await
    }

    /// From the consent page (if shown) to the client's callback, then the
    /// code exchange: the token response.
    pub async fn allow_and_exchange(&self, browser: &Browser) -> Value {
        let url = browser
            .wait_for_url(|u| u.contains("/consent/") || u.starts_with(&self.callback))
            .await;
        if url.contains("/consent/") {
            browser.click("button[name=decision][value=allow]").await;
        }
        let back = browser
            .wait_for_url(|u| u.starts_with(&self.callback))
            .await;
        let back = url::Url::parse(&back).unwrap();
        let params: HashMap<_, _> = back.query_pairs().into_owned().collect();
        assert_eq!(
            params.get("state").map(String::as_str),
            Some("s1"),
            "{back}"
        );
        let code = params
            .get("code")
            .unwrap_or_else(|| panic!("no code: {back}"));
        exchange_code(&self.base(), &self.client_id, &self.callback, code).await
    }

    /// A new person: through the OP, the registration form (checked against
    /// what the provider's templates made of `user`'s claims), consent, and
    /// tokens.
    pub async fn sign_up(&self, browser: &Browser, user: &str) -> Value {
        let page = self.sign_in_through_provider(browser).await;
        assert!(
            page.contains("/upstream/link/"),
            "a new subject gets the link page, not {page}"
        );
        let form = registration_form(browser).await;
        assert_eq!(form["username"], user, "{form}");
        assert_eq!(
            form["username_readonly"], true,
            "a required localpart is not editable: {form}"
        );
        assert_eq!(form["import_display_name"], true, "{form}");
        assert_eq!(form["import_email"], true, "{form}");
        browser
            .click("#upstream-register button[name=action][value=register]")
            .await;
        self.allow_and_exchange(browser).await
    }

    /// What mxauth's userinfo endpoint says of `access_token`'s user.
    pub async fn userinfo(&self, access_token: &str) -> Value {
        let body = reqwest::Client::new()
            .get(format!("{}oauth2/userinfo", self.base()))
            .bearer_auth(access_token)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        serde_json::from_str(&body).unwrap_or_else(|_| panic!("userinfo: {body}"))
    }

    /// The `username` of [`Setup::userinfo`].
    pub async fn username(&self, access_token: &str) -> Value {
        self.userinfo(access_token).await["username"].clone()
    }

    /// Whether the browser is signed in to mxauth: the account page shows
    /// the user, or sends to the login page.
    pub async fn signed_in(&self, browser: &Browser) -> bool {
        browser.goto(&format!("{}account/", self.base())).await;
        let url = browser
            .wait_for_url(|u| u.contains("/account/") || u.contains("/login"))
            .await;
        !url.contains("/login")
    }

    /// Whether mxauth says `token` is active (asked as Synapse asks).
    pub async fn active(&self, token: &str) -> bool {
        let answer =
            crate::synapse_peer::introspect_as_synapse(self.base().trim_end_matches('/'), token)
                .await;
        answer["active"] == true
    }

    /// Closes the browser, then [`Setup::stop`].
    pub async fn finish(self, browser: Browser) {
        browser.quit().await;
        self.stop().await;
    }

    /// Stops mxauth and the OP, and removes the database.
    pub async fn stop(self) {
        drop(self.server);
        drop(self.op);
        self.db.drop_database().await;
    }
}

/// The registration form of the link page, as the browser sees it.
pub async fn registration_form(browser: &Browser) -> Value {
    assert_eq!(
        browser.count("form#upstream-register").await,
        1,
        "the link page shows the registration form:\n{}",
        browser.source().await
    );
    browser
        .execute(
            "const f = document.getElementById('upstream-register');
             const checked = (n) => f.elements[n] ? f.elements[n].checked : null;
             return { username: f.elements['username'].value,
                      username_readonly: f.elements['username'].readOnly,
                      import_display_name: checked('import_display_name'),
                      import_email: checked('import_email'),
                      csrf: !!f.elements['csrf'] };",
        )
        .await
}

/// MAS's `matrix` section for the scenario: the recording stand-in, or the
/// real Synapse with its shared secret.
fn matrix_yaml(scenario: &Scenario, homeserver: &RecordingHomeserver) -> String {
    let mut yaml = "matrix:\n".to_owned();
    if let Some(name) = &scenario.server_name {
        yaml.push_str(&format!("  homeserver: \"{name}\"\n"));
    }
    match scenario.synapse_port {
        Some(port) => yaml.push_str(&format!(
            "  endpoint: \"http://127.0.0.1:{port}/\"\n  secret: {}\n",
            crate::synapse_peer::SECRET
        )),
        None => yaml.push_str(&format!("  endpoint: \"{}\"\n", homeserver.base)),
    }
    yaml
}

/// MAS's `upstream_oauth2` section for the scenario.
async fn provider_yaml(scenario: &Scenario, op: &OpenIdProvider) -> String {
    let endpoints = if scenario.without_discovery {
        let discovery = op.discovery().await;
        let endpoint = |name: &str| discovery[name].as_str().unwrap().to_owned();
        format!(
            "      discovery_mode: disabled\n      authorization_endpoint: \"{}\"\n      token_endpoint: \"{}\"\n      jwks_uri: \"{}\"\n      userinfo_endpoint: \"{}\"\n",
            endpoint("authorization_endpoint"),
            endpoint("token_endpoint"),
            endpoint("jwks_uri"),
            endpoint("userinfo_endpoint"),
        )
    } else {
        // `oidc` would refuse the OP's http:// issuer.
        "      discovery_mode: insecure\n".to_owned()
    };
    let mut yaml = format!(
        "upstream_oauth2:\n  providers:\n    - id: {PROVIDER}\n      issuer: \"{}\"\n{endpoints}      human_name: Test OP\n      client_id: mas\n      client_secret: \"{CLIENT_SECRET}\"\n      token_endpoint_auth_method: {}\n      scope: \"openid profile email\"\n",
        op.issuer(),
        scenario.auth_method,
    );
    if let Some(idp) = scenario.synapse_idp_id {
        yaml.push_str(&format!("      synapse_idp_id: {idp}\n"));
    }
    if let Some(alg) = scenario.auth_alg {
        yaml.push_str(&format!("      token_endpoint_auth_signing_alg: {alg}\n"));
    }
    if let Some(mode) = scenario.on_backchannel_logout {
        yaml.push_str(&format!("      on_backchannel_logout: {mode}\n"));
    }
    yaml.push_str(&format!(
        "      claims_imports:\n        localpart: {}\n        displayname: {{action: suggest, template: \"{{{{ user.name }}}}\"}}\n        email: {{action: suggest, template: \"{{{{ user.email }}}}\", set_email_verification: import}}\n",
        scenario.localpart
    ));
    yaml
}

/// `manage register-user NAME -p …`; no homeserver is asked.
fn register_local_user(files: &[PathBuf], name: &str) {
    let created = run(with_configs(&mut mxauth(), files).args([
        "manage",
        "register-user",
        name,
        "-p",
        "correct horse battery staple",
        "-y",
        "--ignore-homeserver-check",
    ]));
    assert_eq!(created.code, 0, "{}", created.stderr);
}

/// The client's side of the redirect: `code` exchanged at mxauth's token
/// endpoint with the PKCE verifier (RFC 7636 §4.5). Returns the token
/// response, which must hold an access token.
pub async fn exchange_code(base: &str, client_id: &str, callback: &str, code: &str) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{base}oauth2/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("client_id", client_id),
            ("redirect_uri", callback),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap();
    let tokens: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert!(
        tokens["access_token"]
            .as_str()
            .is_some_and(|t| t.starts_with("mat_")),
        "{tokens}"
    );
    tokens
}

/// A public client with PKCE, registered dynamically (RFC 7591).
pub async fn register_client(base: &str, name: &str, callback: &str) -> String {
    let body = reqwest::Client::new()
        .post(format!("{base}oauth2/registration"))
        .header("content-type", "application/json")
        .body(
            json!({
            "client_name": name,
            "client_uri": "https://app.example.com/",
            "application_type": "native",
            "token_endpoint_auth_method": "none",
            "redirect_uris": [callback],
            "grant_types": ["authorization_code", "refresh_token"],
            })
            .to_string(),
        )
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let registered: Value =
        serde_json::from_str(&body).unwrap_or_else(|_| panic!("registration: {body}"));
    registered["client_id"]
        .as_str()
        .unwrap_or_else(|| panic!("{registered}"))
        .to_owned()
}

/// `mxauth server` with its log in a file, printed (the end of it) when the
/// test fails.
pub struct LoggedServer {
    pub server: RunningServer,
    log: PathBuf,
}

impl LoggedServer {
    pub fn start(files: Vec<PathBuf>, port: u16) -> LoggedServer {
        let log = files[0].with_file_name("server.log");
        let child = with_configs(&mut mxauth(), &files)
            .arg("server")
            .stdout(std::fs::File::create(files[0].with_file_name("server.out")).unwrap())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let server = LoggedServer {
            server: RunningServer { child, port },
            log,
        };
        assert_eq!(wait_for(port, "/health").0, 200);
        server
    }

    /// What the server has logged so far (its standard error).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for LoggedServer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            let lines: Vec<&str> = log.lines().collect();
            eprintln!(
                "--- last lines of mxauth's log ({}) ---\n{}",
                self.log.display(),
                lines[lines.len().saturating_sub(40)..].join("\n")
            );
        }
    }
}

/// A stand-in for Synapse's `/_synapse/mas/*` API that says every localpart
/// is available, accepts provisioning, and keeps each request's path and
/// JSON body.
pub struct RecordingHomeserver {
    pub base: String,
    requests: Arc<Mutex<Vec<(String, Value)>>>,
}

impl RecordingHomeserver {
    async fn start() -> RecordingHomeserver {
        use axum::{extract::Request, http::StatusCode, response::IntoResponse};
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        let app = axum::Router::new().fallback(move |request: Request| {
            let seen = seen.clone();
            async move {
                let path = request.uri().path().to_owned();
                let body = axum::body::to_bytes(request.into_body(), 1 << 20)
                    .await
                    .unwrap_or_default();
                let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
                seen.lock().unwrap().push((path.clone(), body));
                // 201: the user was created (MSC3861's provisioning API).
                let status = if path.ends_with("/provision_user") {
                    StatusCode::CREATED
                } else {
                    StatusCode::OK
                };
                (status, axum::Json(json!({}))).into_response()
            }
        });
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .unwrap();
        let base = format!("http://{}/", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        RecordingHomeserver { base, requests }
    }

    /// The bodies of the requests to `/_synapse/mas/{endpoint}` so far.
    pub fn bodies(&self, endpoint: &str) -> Vec<Value> {
        let suffix = format!("/_synapse/mas/{endpoint}");
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|(path, _)| path.ends_with(&suffix))
            .map(|(_, body)| body.clone())
            .collect()
    }
}

/// A legacy client's page for the browser to land on, with the login token
/// in its query: it answers 200 to every GET. (A refused connection at the
/// end of a navigation started by WebDriver makes Chromium retry it.)
/// Returns `http://127.0.0.1:PORT`; it answers until the test ends.
pub async fn client_page() -> String {
    let app = axum::Router::new().fallback(|| async { "Signed in." });
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}
