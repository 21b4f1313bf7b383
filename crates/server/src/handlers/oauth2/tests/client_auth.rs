//! JWT client authentication (RFC 7523), per-client ID token algorithms,
//! admin clients, and the path prefix.

use mxauth_model::Clock;
use serde_json::json;

use super::*;
use crate::test_support::{add_user, router_for, test_state, test_state_at, Browser};
use mxauth_crypto::jose::{sign_jwt_hmac, verify_jws, JwsAlgorithm, Keystore, VerificationKey};
use mxauth_crypto::keys::{generate_p256_pem, PrivateKey};

fn assertion_claims(client_id: &str, aud: &str, exp: i64) -> serde_json::Value {
    json!({"iss": client_id, "sub": client_id, "aud": aud, "exp": exp, "jti": "j1"})
}

const CC: [(&str, &str); 1] = [("grant_type", "client_credentials")];

fn with_assertion(jwt: &str) -> Vec<(&str, &str)> {
    let mut form = CC.to_vec();
    form.push((
        "client_assertion_type",
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
    ));
    form.push(("client_assertion", jwt));
    form
}

#[tokio::test]
async fn client_secret_jwt_assertions_authenticate() {
    let t = test_state().await;
    let router = router_for(&t.state, "");
    let client = register(
        &router,
        json!({"client_uri": "https://app.example.com/", "grant_types": ["client_credentials"],
        "token_endpoint_auth_method": "client_secret_jwt"}),
    )
    .await;
    let id = client["client_id"].as_str().unwrap();
    let secret = client["client_secret"].as_str().unwrap();
    let exp = t.clock.now().timestamp() + 60;
    let good = sign_jwt_hmac(
        JwsAlgorithm::Hs256,
        secret.as_bytes(),
        &assertion_claims(id, "https://auth.example.com/oauth2/token", exp),
    )
    .unwrap();
    let response = token(&router, &with_assertion(&good)).await;
    assert_eq!(response.status, 200, "{}", response.body);

    let wrong_key = sign_jwt_hmac(
        JwsAlgorithm::Hs256,
        b"not the secret",
        &assertion_claims(id, "https://auth.example.com/oauth2/token", exp),
    )
    .unwrap();
    assert_eq!(
        token(&router, &with_assertion(&wrong_key)).await.status,
        401
    );
    let wrong_aud = sign_jwt_hmac(
        JwsAlgorithm::Hs256,
        secret.as_bytes(),
        &assertion_claims(id, "https://elsewhere/token", exp),
    )
    .unwrap();
    let response = token(&router, &with_assertion(&wrong_aud)).await;
    assert!(
        response.json()["error_description"]
            .as_str()
            .unwrap()
            .contains("aud"),
        "{}",
        response.body
    );
    let expired = sign_jwt_hmac(
        JwsAlgorithm::Hs256,
        secret.as_bytes(),
        &assertion_claims(id, "https://auth.example.com/", exp - 120),
    )
    .unwrap();
    let response = token(&router, &with_assertion(&expired)).await;
    assert_eq!(
        response.json()["error_description"],
        "the client assertion has expired"
    );
    // The secret itself is not accepted from a client registered for JWTs.
    let mut form = CC.to_vec();
    form.extend([("client_id", id), ("client_secret", secret)]);
    assert_eq!(token(&router, &form).await.status, 401);
}

#[tokio::test]
async fn private_key_jwt_assertions_authenticate_with_registered_keys() {
    let t = test_state().await;
    let router = router_for(&t.state, "");
    let key = PrivateKey::from_pem(&generate_p256_pem(&mut rand::rngs::OsRng).unwrap()).unwrap();
    let client_keys = Keystore::new(vec![("client-key".into(), key)]);
    let client = register(
        &router,
        json!({"client_uri": "https://app.example.com/", "grant_types": ["client_credentials"],
        "token_endpoint_auth_method": "private_key_jwt", "jwks": client_keys.public_jwks()}),
    )
    .await;
    let id = client["client_id"].as_str().unwrap();
    assert!(client.get("client_secret").is_none());
    let exp = t.clock.now().timestamp() + 60;
    let jwt = client_keys
        .sign_jwt(
            JwsAlgorithm::Es256,
            &assertion_claims(id, "https://auth.example.com/", exp),
        )
        .unwrap();
    let response = token(&router, &with_assertion(&jwt)).await;
    assert_eq!(response.status, 200, "{}", response.body);

    let other = Keystore::new(vec![(
        "client-key".into(),
        PrivateKey::from_pem(&generate_p256_pem(&mut rand::rngs::OsRng).unwrap()).unwrap(),
    )]);
    let forged = other
        .sign_jwt(
            JwsAlgorithm::Es256,
            &assertion_claims(id, "https://auth.example.com/", exp),
        )
        .unwrap();
    let response = token(&router, &with_assertion(&forged)).await;
    assert_eq!(response.status, 401);
    assert_eq!(response.json()["error"], "invalid_client");
}

#[tokio::test]
async fn id_tokens_use_the_client_algorithm() {
    let t = test_state().await;
    let router = router_for(&t.state, "");
    add_user(&t.state, "alice", "wonderland").await;
    let client = register(&router, json!({"client_uri": "https://app.example.com/", "application_type": "native",
        "token_endpoint_auth_method": "none", "redirect_uris": [REDIRECT], "id_token_signed_response_alg": "ES256"})).await;
    let id = client["client_id"].as_str().unwrap();
    let code = authorize_and_consent(&router, &mut Browser::default(), id, "openid").await;
    let tokens = token(
        &router,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
            ("client_id", id),
            ("code_verifier", VERIFIER),
        ],
    )
    .await
    .json();
    let jwks = t.state.keystore.public_jwks();
    let (header, _) = verify_jws(
        tokens["id_token"].as_str().unwrap(),
        VerificationKey::Jwks(&jwks),
    )
    .unwrap();
    assert_eq!(header.alg, JwsAlgorithm::Es256);
}

#[tokio::test]
async fn admin_clients_get_the_mas_admin_scope() {
    let mut t = test_state().await;
    let router = router_for(&t.state, "");
    let client = register(
        &router,
        json!({"client_uri": "https://app.example.com/", "grant_types": ["client_credentials"],
        "token_endpoint_auth_method": "client_secret_post"}),
    )
    .await;
    let id = client["client_id"].as_str().unwrap().to_owned();
    let secret = client["client_secret"].as_str().unwrap().to_owned();
    crate::test_support::set_policy_data(&mut t.state, serde_json::json!({"admin_clients": [id]}));
    let router = router_for(&t.state, "");
    let response = token(
        &router,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "urn:mas:admin"),
            ("client_id", &id),
            ("client_secret", &secret),
        ],
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(response.json()["scope"], "urn:mas:admin");
    let answer = introspect(&router, response.json()["access_token"].as_str().unwrap()).await;
    assert_eq!(answer["active"], true);
    assert!(
        answer.get("username").is_none(),
        "a client acting for itself has no user"
    );
    let api = token(
        &router,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "urn:matrix:client:api:*"),
            ("client_id", &id),
            ("client_secret", &secret),
        ],
    )
    .await;
    assert_eq!(api.json()["error"], "invalid_scope");
}

#[tokio::test]
async fn the_flow_works_under_a_path_prefix() {
    let t = test_state_at("https://matrix.example.com/auth/").await;
    let router = router_for(&t.state, "/auth");
    add_user(&t.state, "alice", "wonderland").await;
    let request = axum::http::Request::post("/auth/oauth2/registration")
        .header("content-type", "application/json")
        .body(axum::body::Body::from(
            json!({"client_uri": "https://app.example.com/", "application_type": "native",
            "token_endpoint_auth_method": "none", "redirect_uris": [REDIRECT]})
            .to_string(),
        ))
        .unwrap();
    let client = crate::test_support::send(&router, request).await.json();
    let id = client["client_id"].as_str().unwrap();
    let mut browser = Browser::default();
    let consent = location(
        &browser
            .get(&router, &format!("/auth{}", authorize_path(id, "openid")))
            .await,
    );
    assert!(consent.starts_with("/auth/consent/"), "{consent}");
    let login = location(&browser.get(&router, &consent).await);
    assert!(
        login.starts_with("/auth/login?next=%2Fauth%2Fconsent%2F"),
        "{login}"
    );
    let page = browser.get(&router, &login).await;
    // minijinja escapes "/" as &#x2f; in attributes, which browsers decode.
    assert!(page
        .body
        .replace("&#x2f;", "/")
        .contains("action=\"/auth/login\""));
    let cookie = page.header("set-cookie").unwrap();
    assert!(
        cookie.contains("Path=/auth/") && cookie.contains("Secure"),
        "{cookie}"
    );
    // A login hint fills in the username.
    let hinted = browser
        .get(
            &router,
            &format!("{login}&login_hint=mxid:@alice:example.com&prompt=login"),
        )
        .await;
    assert!(hinted.body.contains("value=\"alice\""), "{}", hinted.body);
}

/// Serves `body` as JSON to every request on a local port.
async fn serve_json(body: String) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = socket.read(&mut buf).await;
            let response = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len());
            let _ = socket.write_all(response.as_bytes()).await;
        }
    });
    port
}

/// Stores a `private_key_jwt` client whose keys are at `jwks_uri`, and
/// tries `client_credentials` with an assertion signed by `keys`.
async fn token_with_jwks_uri(
    t: &crate::test_support::TestState,
    router: &axum::Router,
    keys: &Keystore,
    jwks_uri: String,
    is_static: bool,
) -> crate::test_support::TestResponse {
    let now = t.clock.now();
    let mut client = crate::test_support::public_client(now);
    client.token_endpoint_auth_method = mxauth_model::oauth2::ClientAuthMethod::PrivateKeyJwt;
    client.grant_types.client_credentials = true;
    client.jwks_uri = Some(jwks_uri);
    client.is_static = is_static;
    let mut repo = t.state.db.begin().await.unwrap();
    repo.oauth2_clients().add(&client).await.unwrap();
    repo.commit().await.unwrap();
    let claims = assertion_claims(
        &client.client_id(),
        "https://auth.example.com/",
        now.timestamp() + 60,
    );
    let jwt = keys.sign_jwt(JwsAlgorithm::Es256, &claims).unwrap();
    token(router, &with_assertion(&jwt)).await
}

fn p256_keystore() -> Keystore {
    let key = PrivateKey::from_pem(&generate_p256_pem(&mut rand::rngs::OsRng).unwrap()).unwrap();
    Keystore::new(vec![("k1".into(), key)])
}

#[tokio::test]
async fn private_key_jwt_keys_can_come_from_a_jwks_uri() {
    let t = test_state().await;
    let router = router_for(&t.state, "");
    let client_keys = p256_keystore();
    let port = serve_json(client_keys.public_jwks().to_string()).await;
    // Only the admin's own (static) clients may keep keys on a private
    // address; a dynamic client's jwks_uri is fetched from public ones only.
    let uri = format!("http://127.0.0.1:{port}/jwks.json");
    let response = token_with_jwks_uri(&t, &router, &client_keys, uri, true).await;
    assert_eq!(response.status, 200, "{}", response.body);

    // A jwks_uri that does not answer is a clear invalid_client.
    let dead = "http://127.0.0.1:9/jwks.json".to_owned();
    let response = token_with_jwks_uri(&t, &router, &client_keys, dead, true).await;
    assert_eq!(response.status, 401);
    assert!(
        response.json()["error_description"]
            .as_str()
            .unwrap()
            .contains("jwks_uri"),
        "{}",
        response.body
    );
}

#[tokio::test]
async fn a_dynamic_client_jwks_uri_on_a_private_address_is_never_fetched() {
    let t = test_state().await;
    let router = router_for(&t.state, "");
    let client_keys = p256_keystore();
    let port = serve_json(client_keys.public_jwks().to_string()).await;
    for host in ["127.0.0.1", "localhost"] {
        // Stored as if registration had let it through: the fetch itself
        // must refuse, though a server answers there.
        let uri = format!("http://{host}:{port}/jwks.json");
        let response = token_with_jwks_uri(&t, &router, &client_keys, uri, false).await;
        assert_eq!(response.status, 401, "{host}: {}", response.body);
        assert!(
            response.body.contains("not a public host name"),
            "{host}: {}",
            response.body
        );
    }
}
