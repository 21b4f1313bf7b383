//! A scriptable OpenID provider on a loopback port, for fast tests of the
//! failures a real provider will not produce on demand (a bad signature, a
//! wrong nonce, a wrong issuer, an outage). The positive flow is also
//! tested against a real provider (oidc-provider) in the CLI suite.

use std::sync::{Arc, Mutex};

use axum::{
    extract::State,
    routing::{get, post},
    Form, Json, Router,
};
use mxauth_crypto::{
    jose::{JwsAlgorithm, Keystore},
    keys::{generate_p256_pem, PrivateKey},
};
use rand::{rngs::StdRng, SeedableRng};
use serde_json::{json, Value};

/// What the provider does next; tests change it between steps.
#[derive(Clone)]
pub struct Script {
    /// The `iss` of discovery (normally the provider's URL).
    pub discovery_issuer: Option<String>,
    /// Claims of the next ID token, on top of iss/aud/iat/exp/sub.
    pub id_token_claims: Value,
    /// Sign with a key that is not in the JWK Set.
    pub sign_with_stranger: bool,
    /// Answer the token request with this error.
    pub token_error: Option<String>,
    /// The userinfo answer's claims.
    pub userinfo: Value,
    /// Answer userinfo as a signed JWT (`application/jwt`).
    pub userinfo_signed: bool,
    /// A `jwks_uri` for discovery instead of the provider's own.
    pub jwks_uri: Option<String>,
}

/// Each token request's form fields.
type Requests = Arc<Mutex<Vec<Vec<(String, String)>>>>;

#[derive(Clone)]
struct OpState {
    issuer: String,
    keys: Arc<Mutex<Arc<Keystore>>>,
    stranger: Arc<Keystore>,
    script: Arc<Mutex<Script>>,
    /// Every form the token endpoint received.
    token_requests: Requests,
    jwks_fetches: Arc<Mutex<usize>>,
    now: Arc<dyn Fn() -> i64 + Send + Sync>,
}

pub struct FakeOp {
    pub issuer: String,
    state: OpState,
}

fn keystore(seed: u64, kid: &str) -> Keystore {
    let pem = generate_p256_pem(&mut StdRng::seed_from_u64(seed)).unwrap();
    Keystore::new(vec![(kid.to_owned(), PrivateKey::from_pem(&pem).unwrap())])
}

impl FakeOp {
    /// Starts the provider; `now` is the test clock's time in seconds.
    pub async fn start(now: impl Fn() -> i64 + Send + Sync + 'static) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let state = OpState {
            issuer: issuer.clone(),
            keys: Arc::new(Mutex::new(Arc::new(keystore(7, "op-key")))),
            stranger: Arc::new(keystore(8, "op-key")),
            script: Arc::new(Mutex::new(Script {
                discovery_issuer: None,
                id_token_claims: json!({"sub": "alice-sub", "preferred_username": "alice", "name": "Alice", "email": "alice@example.test", "email_verified": true, "sid": "op-session-1"}),
                sign_with_stranger: false,
                token_error: None,
                userinfo: json!({"sub": "alice-sub", "name": "Alice from userinfo"}),
                userinfo_signed: false,
                jwks_uri: None,
            })),
            token_requests: Arc::default(),
            jwks_fetches: Arc::default(),
            now: Arc::new(now),
        };
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/token", post(token))
            .route("/userinfo", get(userinfo))
            .with_state(state.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { issuer, state }
    }

    pub fn script(&self, change: impl FnOnce(&mut Script)) {
        change(&mut self.state.script.lock().unwrap());
    }

    /// Replaces the signing key with a new one named `kid` (key rotation).
    pub fn rotate_keys(&self, seed: u64, kid: &str) {
        *self.state.keys.lock().unwrap() = Arc::new(keystore(seed, kid));
    }

    /// How many times the JWK Set was fetched.
    pub fn jwks_fetches(&self) -> usize {
        *self.state.jwks_fetches.lock().unwrap()
    }

    pub fn token_requests(&self) -> Vec<Vec<(String, String)>> {
        self.state.token_requests.lock().unwrap().clone()
    }

    /// A logout token (Back-Channel Logout 1.0 §2.4) signed by this provider.
    pub fn logout_token(&self, claims: Value) -> String {
        let now = (self.state.now)();
        let mut full = json!({
            "iss": self.issuer, "aud": "mxauth-client", "iat": now, "exp": now + 120,
            "jti": "logout-1",
            "events": {"http://schemas.openid.net/event/backchannel-logout": {}},
        });
        merge(&mut full, claims);
        let keys = self.state.keys.lock().unwrap().clone();
        keys.sign_jwt(JwsAlgorithm::Es256, &full).unwrap()
    }
}

fn merge(into: &mut Value, claims: Value) {
    if let (Some(into), Value::Object(claims)) = (into.as_object_mut(), claims) {
        for (k, v) in claims {
            if v.is_null() {
                into.remove(&k);
            } else {
                into.insert(k, v);
            }
        }
    }
}

async fn discovery(State(op): State<OpState>) -> Json<Value> {
    let script = op.script.lock().unwrap().clone();
    let base = &op.issuer;
    Json(json!({
        "issuer": script.discovery_issuer.unwrap_or_else(|| base.clone()),
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "jwks_uri": script.jwks_uri.unwrap_or_else(|| format!("{base}/jwks")),
        "userinfo_endpoint": format!("{base}/userinfo"),
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "id_token_signing_alg_values_supported": ["ES256"],
    }))
}

async fn jwks(State(op): State<OpState>) -> Json<Value> {
    *op.jwks_fetches.lock().unwrap() += 1;
    let keys = op.keys.lock().unwrap().clone();
    Json(keys.public_jwks())
}

async fn userinfo(
    State(op): State<OpState>,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let bearer = headers.get("authorization").and_then(|v| v.to_str().ok());
    if bearer != Some("Bearer op-access-token") {
        return axum::http::StatusCode::UNAUTHORIZED.into_response();
    }
    let script = op.script.lock().unwrap().clone();
    if script.userinfo_signed {
        let keys = op.keys.lock().unwrap().clone();
        let mut claims = json!({"iss": op.issuer, "aud": "mxauth-client"});
        merge(&mut claims, script.userinfo);
        let jwt = keys.sign_jwt(JwsAlgorithm::Es256, &claims).unwrap();
        return ([(axum::http::header::CONTENT_TYPE, "application/jwt")], jwt).into_response();
    }
    Json(script.userinfo).into_response()
}

async fn token(
    State(op): State<OpState>,
    Form(form): Form<Vec<(String, String)>>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    op.token_requests.lock().unwrap().push(form);
    let script = op.script.lock().unwrap().clone();
    if let Some(error) = script.token_error {
        return (
            axum::http::StatusCode::BAD_REQUEST,
            Json(json!({"error": error, "error_description": "the code was already used"})),
        )
            .into_response();
    }
    let now = (op.now)();
    let mut claims =
        json!({"iss": op.issuer, "aud": "mxauth-client", "iat": now, "exp": now + 300});
    merge(&mut claims, script.id_token_claims);
    let keys = if script.sign_with_stranger {
        op.stranger.clone()
    } else {
        op.keys.lock().unwrap().clone()
    };
    let id_token = keys.sign_jwt(JwsAlgorithm::Es256, &claims).unwrap();
    Json(json!({"access_token": "op-access-token", "token_type": "Bearer", "id_token": id_token}))
        .into_response()
}
