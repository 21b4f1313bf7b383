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
}

/// Each token request's form fields.
type Requests = Arc<Mutex<Vec<Vec<(String, String)>>>>;

#[derive(Clone)]
struct OpState {
    issuer: String,
    keys: Arc<Keystore>,
    stranger: Arc<Keystore>,
    script: Arc<Mutex<Script>>,
    /// Every form the token endpoint received.
    token_requests: Requests,
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
            keys: Arc::new(keystore(7, "op-key")),
            stranger: Arc::new(keystore(8, "op-key")),
            script: Arc::new(Mutex::new(Script {
                discovery_issuer: None,
                id_token_claims: json!({"sub": "alice-sub", "preferred_username": "alice", "name": "Alice", "email": "alice@example.test", "email_verified": true, "sid": "op-session-1"}),
                sign_with_stranger: false,
                token_error: None,
            })),
            token_requests: Arc::default(),
            now: Arc::new(now),
        };
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/token", post(token))
            .with_state(state.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { issuer, state }
    }

    pub fn script(&self, change: impl FnOnce(&mut Script)) {
        change(&mut self.state.script.lock().unwrap());
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
        self.state
            .keys
            .sign_jwt(JwsAlgorithm::Es256, &full)
            .unwrap()
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
    let issuer = op.script.lock().unwrap().discovery_issuer.clone();
    let base = &op.issuer;
    Json(json!({
        "issuer": issuer.unwrap_or_else(|| base.clone()),
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "jwks_uri": format!("{base}/jwks"),
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "id_token_signing_alg_values_supported": ["ES256"],
    }))
}

async fn jwks(State(op): State<OpState>) -> Json<Value> {
    Json(op.keys.public_jwks())
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
        &op.stranger
    } else {
        &op.keys
    };
    let id_token = keys.sign_jwt(JwsAlgorithm::Es256, &claims).unwrap();
    Json(json!({"access_token": "op-access-token", "token_type": "Bearer", "id_token": id_token}))
        .into_response()
}
