//! Shared fixtures for the in-process tests: a migrated SQLite database and
//! an [`AppState`] with fixed keys, a mock clock and cheap password hashing.

use std::sync::Arc;

use chrono::Duration;
use mxauth_model::MockClock;
use mxauth_storage::{migrate, Database, DatabaseSettings};
use url::Url;

use crate::{
    cookies::CookieSettings,
    passwords::{Algorithm, PasswordManager, Scheme},
    state::{AppState, SiteConfig},
    templates::Templates,
    urls::UrlBuilder,
};
use mxauth_crypto::encrypter::Encrypter;
use mxauth_crypto::jose::Keystore;
use mxauth_crypto::keys::PrivateKey;

/// The RSA and P-256 keys of MAS's sample configuration (test data).
fn sample_keys() -> Vec<(String, PrivateKey)> {
    let sample: serde_norway::Value = serde_norway::from_str(include_str!(
        "../../cli/tests/fixtures/mas-config-sample.yaml"
    ))
    .unwrap();
    sample["secrets"]["keys"]
        .as_sequence()
        .unwrap()
        .iter()
        .take(2)
        .map(|k| {
            let key = PrivateKey::from_pem(k["key"].as_str().unwrap()).unwrap();
            (key.thumbprint(), key)
        })
        .collect()
}

pub async fn test_db() -> Database {
    let path = std::env::temp_dir().join(format!("mxauth-server-test-{}.db", ulid::Ulid::new()));
    let db = Database::connect(&DatabaseSettings::from_uri(format!(
        "sqlite://{}",
        path.display()
    )))
    .await
    .unwrap();
    migrate::run(&db, |_| {}).await.unwrap();
    db
}

pub struct TestState {
    pub state: AppState,
    pub clock: MockClock,
    pub homeserver: Arc<crate::homeserver::FakeHomeserver>,
    /// What the jobs mailed.
    pub mailer: Arc<crate::email::MemoryMailer>,
}

/// A fresh schema on the PostgreSQL server of `DATABASE_URL`, migrated;
/// `None` (said on stderr) when it is unset, a failure when `CI=true`.
pub async fn postgres_db() -> Option<PostgresDb> {
    let url = std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty());
    let Some(url) = url else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but DATABASE_URL is not set: the PostgreSQL tests must run in CI"
        );
        // Straight to the stderr handle: libtest captures `eprintln!`
        // of passing tests, and a developer must see the skip.
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            b"SKIPPED: DATABASE_URL is not set: the PostgreSQL half of this test\n",
        );
        return None;
    };
    let schema = format!(
        "mxauth_server_{}",
        ulid::Ulid::new().to_string().to_lowercase()
    );
    let admin = Database::connect(&DatabaseSettings::from_uri(url.clone()))
        .await
        .unwrap();
    let Database::Postgres(pool, _) = &admin else {
        panic!("DATABASE_URL is not a PostgreSQL URL")
    };
    sqlx::raw_sql(&format!("CREATE SCHEMA {schema}"))
        .execute(pool)
        .await
        .unwrap();
    let mut settings = DatabaseSettings::from_uri(url);
    settings.search_path = Some(schema.clone());
    let db = Database::connect(&settings).await.unwrap();
    migrate::run(&db, |_| {}).await.unwrap();
    Some(PostgresDb { db, admin, schema })
}

/// A test's PostgreSQL schema; [`PostgresDb::drop_schema`] removes it.
pub struct PostgresDb {
    pub db: Database,
    admin: Database,
    schema: String,
}

impl PostgresDb {
    pub async fn drop_schema(self) {
        self.db.close().await;
        if let Database::Postgres(pool, _) = &self.admin {
            let drop = format!("DROP SCHEMA {} CASCADE", self.schema);
            let _ = sqlx::raw_sql(&drop).execute(pool).await;
        }
        self.admin.close().await;
    }
}

/// A state served under `public_base`.
pub async fn test_state_at(public_base: &str) -> TestState {
    test_state_on(test_db().await, public_base)
}

/// A state on a fresh PostgreSQL schema (see [`postgres_db`]).
pub async fn postgres_state() -> Option<(TestState, PostgresDb)> {
    let pg = postgres_db().await?;
    Some((
        test_state_on(pg.db.clone(), "https://auth.example.com/"),
        pg,
    ))
}

/// A state on `db` (SQLite or PostgreSQL), served under `public_base`.
pub fn test_state_on(db: Database, public_base: &str) -> TestState {
    let clock = MockClock::default();
    let homeserver = Arc::new(crate::homeserver::FakeHomeserver::new("example.com"));
    let mailer = Arc::new(crate::email::MemoryMailer::default());
    let base = Url::parse(public_base).unwrap();
    let urls = UrlBuilder::new(&base, &base);
    let encrypter = Encrypter::new(&[42; 32]);
    let state: AppState = crate::state::StateParts {
        db,
        clock: Arc::new(clock.clone()),
        // Seeded: the same ids and tokens on every run.
        random: Arc::new(mxauth_model::SeededRandom::new(1)),
        site: Arc::new(SiteConfig {
            server_name: "example.com".into(),
            service_name: "example.com".into(),
            access_token_ttl: Duration::seconds(300),
            matrix_secret: "homeserver-shared-secret".into(),
            trusted_proxies: vec!["127.0.0.1/8".parse().unwrap()],
            login_per_ip: mxauth_config::RateLimit {
                burst: 20,
                per_second: 1.0,
            },
            login_per_account: mxauth_config::RateLimit {
                burst: 10,
                per_second: 0.5,
            },
            client_registration_per_ip: mxauth_config::RateLimit {
                burst: 20,
                per_second: 0.1,
            },
            email_authentication: Default::default(),
            compat_token_ttl: Duration::seconds(300),
            handler_timeout: std::time::Duration::from_secs(60),
            account: mxauth_config::AccountConfig::default(),
            registration_per_ip: mxauth_config::RateLimit {
                burst: 20,
                per_second: 0.1,
            },
            account_recovery: Default::default(),
            tos_uri: None,
            captcha: None,
            prometheus_metrics: true,
        }),
        cookies: Arc::new(CookieSettings {
            encrypter: encrypter.clone(),
            path: urls.base_path().to_owned(),
            secure: urls.is_https(),
        }),
        urls: Arc::new(urls),
        keystore: Arc::new(Keystore::new(sample_keys())),
        encrypter,
        templates: Arc::new(Templates::sample()),
        // bcrypt at cost 4 keeps the tests fast; the algorithm choice is
        // tested in the passwords module.
        passwords: Some(PasswordManager::new(
            vec![Scheme {
                version: 1,
                algorithm: Algorithm::Bcrypt,
                cost: Some(4),
                pepper: None,
                unicode_normalization: false,
            }],
            0,
            2,
        )),
        limiter: Arc::default(),
        outbound: crate::outbound::Outbound::new().unwrap(),
        upstream_metadata: Default::default(),
        homeserver: homeserver.clone(),
        mailer: mailer.clone(),
        activity: Arc::default(),
        documents: Arc::default(),
        metrics: Arc::default(),
        policy: Arc::new(crate::policy::PolicyStore::new(None).unwrap()),
    }
    .into();
    TestState {
        state,
        clock,
        homeserver,
        mailer,
    }
}

pub async fn test_state() -> TestState {
    test_state_at("https://auth.example.com/").await
}

/// The router of a listener serving every built resource under `prefix`.
pub fn router_for(state: &AppState, prefix: &str) -> axum::Router {
    use mxauth_config::{BindConfig, ListenerConfig, ResourceConfig, ResourceName};
    let listener = ListenerConfig {
        name: None,
        resources: [
            ResourceName::Health,
            ResourceName::Discovery,
            ResourceName::Oauth,
            ResourceName::Human,
            ResourceName::Compat,
            ResourceName::Adminapi,
            ResourceName::Prometheus,
        ]
        .into_iter()
        .map(ResourceConfig::named)
        .collect(),
        prefix: Some(prefix.to_owned()).filter(|p| !p.is_empty()),
        binds: vec![BindConfig::address("127.0.0.1:0")],
        proxy_protocol: false,
        tls: None,
    };
    crate::http::listener_router(&listener, state.clone())
}

/// A test HTTP response: status, headers and body.
pub struct TestResponse {
    pub status: u16,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl TestResponse {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }
}

pub async fn send(
    router: &axum::Router,
    request: axum::http::Request<axum::body::Body>,
) -> TestResponse {
    use tower::ServiceExt;
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), 1 << 22)
        .await
        .unwrap();
    TestResponse {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

pub async fn get_json(router: &axum::Router, path: &str) -> (u16, serde_json::Value) {
    let request = axum::http::Request::get(path)
        .body(axum::body::Body::empty())
        .unwrap();
    let response = send(router, request).await;
    (response.status, response.json())
}

/// A form POST with optional extra headers.
pub async fn post_form(
    router: &axum::Router,
    path: &str,
    form: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> TestResponse {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let mut request =
        axum::http::Request::post(path).header("content-type", "application/x-www-form-urlencoded");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    send(router, request.body(axum::body::Body::from(body)).unwrap()).await
}

/// A JSON POST, with a bearer token when given.
pub async fn post_json(
    router: &axum::Router,
    path: &str,
    body: serde_json::Value,
    token: Option<&str>,
) -> TestResponse {
    let mut request = axum::http::Request::post(path).header("content-type", "application/json");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    send(
        router,
        request
            .body(axum::body::Body::from(body.to_string()))
            .unwrap(),
    )
    .await
}

/// A browser for in-process tests: keeps mxauth's cookie between requests.
#[derive(Default)]
pub struct Browser {
    cookie: Option<String>,
}

impl Browser {
    /// A browser that already holds the cookie `name=value`.
    pub fn with_cookie(pair: String) -> Self {
        Self { cookie: Some(pair) }
    }

    /// The `name=value` pair of the cookie, when one was set.
    pub fn cookie(&self) -> Option<&str> {
        self.cookie.as_deref()
    }

    fn remember(&mut self, response: &TestResponse) {
        for value in response.headers.get_all("set-cookie") {
            if let Some(pair) = value.to_str().ok().and_then(|v| v.split(';').next()) {
                self.cookie = Some(pair.to_owned());
            }
        }
    }

    pub async fn get(&mut self, router: &axum::Router, path: &str) -> TestResponse {
        let mut request = axum::http::Request::get(path);
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", cookie);
        }
        let response = send(router, request.body(axum::body::Body::empty()).unwrap()).await;
        self.remember(&response);
        response
    }

    /// Logs in through the login page; answers the form's response.
    pub async fn log_in(
        &mut self,
        router: &axum::Router,
        username: &str,
        password: &str,
    ) -> TestResponse {
        let page = self.get(router, "/login").await;
        let csrf = csrf_of(&page.body);
        let form = [
            ("csrf", csrf.as_str()),
            ("username", username),
            ("password", password),
        ];
        self.post(router, "/login", &form).await
    }

    pub async fn post(
        &mut self,
        router: &axum::Router,
        path: &str,
        form: &[(&str, &str)],
    ) -> TestResponse {
        let cookie = self.cookie.clone().unwrap_or_default();
        let response = post_form(router, path, form, &[("cookie", &cookie)]).await;
        self.remember(&response);
        response
    }
}

/// The value of the hidden `csrf` field of a page.
pub fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html
        .find(marker)
        .map(|i| i + marker.len())
        .expect("a csrf field");
    html[start..].split('"').next().unwrap().to_owned()
}

/// Creates a user with a password (hashed with the state's cheap scheme).
pub async fn add_user(state: &AppState, username: &str, password: &str) -> mxauth_model::User {
    use mxauth_storage::{new_ulid, NewPassword};
    let now = state.clock.now();
    let (version, hash) = state
        .passwords
        .as_ref()
        .unwrap()
        .hash(password.into())
        .await
        .unwrap();
    let mut repo = state.db.begin().await.unwrap();
    let user = repo
        .users()
        .add(new_ulid(now, &mut rand::rngs::OsRng), username, now)
        .await
        .unwrap();
    repo.user_passwords()
        .add(
            &user,
            NewPassword {
                id: new_ulid(now, &mut rand::rngs::OsRng),
                hashed_password: &hash,
                version,
                upgraded_from: None,
            },
            now,
        )
        .await
        .unwrap();
    repo.commit().await.unwrap();
    user
}

/// A public client with one loopback redirect URI, for storage-level tests.
pub fn public_client(now: chrono::DateTime<chrono::Utc>) -> mxauth_model::oauth2::Client {
    use mxauth_model::oauth2::{Client, ClientAuthMethod, GrantTypes};
    Client {
        id: mxauth_storage::new_ulid(now, &mut rand::rngs::OsRng),
        encrypted_client_secret: None,
        redirect_uris: vec!["http://127.0.0.1/callback".into()],
        grant_types: GrantTypes {
            authorization_code: true,
            refresh_token: true,
            ..GrantTypes::default()
        },
        client_name: Some("Test".into()),
        logo_uri: None,
        client_uri: Some("https://app.example.com/".into()),
        policy_uri: None,
        tos_uri: None,
        jwks: None,
        jwks_uri: None,
        id_token_signed_response_alg: None,
        userinfo_signed_response_alg: None,
        token_endpoint_auth_method: ClientAuthMethod::None,
        token_endpoint_auth_signing_alg: None,
        initiate_login_uri: None,
        application_type: Some("native".into()),
        contacts: Vec::new(),
        is_static: false,
        metadata_digest: None,
        created_at: now,
    }
}

/// `state` with `data` as its configured `policy.data`.
pub fn set_policy_data(state: &mut AppState, data: serde_json::Value) {
    state.policy = Arc::new(crate::policy::PolicyStore::new(Some(data)).unwrap());
}
