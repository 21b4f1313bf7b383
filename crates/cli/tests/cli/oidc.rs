//! A real OpenID Connect relying party library (the `openidconnect` crate)
//! against a running mxauth: discovery, dynamic registration, authorization
//! with PKCE, login and consent (driven over HTTP like a browser without
//! JavaScript), code exchange with ID token verification, userinfo,
//! refresh, and revocation. Runs on SQLite and on PostgreSQL.

use openidconnect::{
    core::{
        CoreApplicationType, CoreClient, CoreClientAuthMethod, CoreClientRegistrationRequest,
        CoreGrantType, CoreProviderMetadata, CoreRevocableToken as StandardRevocableToken,
        CoreUserInfoClaims,
    },
    registration::EmptyAdditionalClientMetadata,
    AuthenticationFlow, AuthorizationCode, ClientUrl, CsrfToken, IssuerUrl, LocalizedClaim, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, RevocationUrl, Scope, TokenResponse,
};

use crate::support::*;

async fn full_flow(db: TestDatabase) {
    let (files, port) = server_config("oidc", &db, "");
    // No homeserver runs in this test.
    migrate_and_register(
        &files,
        "alice",
        "correct horse battery staple",
        &["--ignore-homeserver-check"],
    );
    let server = start_server(files, port);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(server.base()).unwrap(), &http)
            .await
            .expect("discovery");
    let redirect = RedirectUrl::new("http://127.0.0.1:1/callback".into()).unwrap();
    let mut client_uri = LocalizedClaim::new();
    client_uri.insert(
        None,
        ClientUrl::new("https://client.example.com/".into()).unwrap(),
    );
    let mut client_name = LocalizedClaim::new();
    client_name.insert(
        None,
        openidconnect::ClientName::new("OIDC Test Client".into()),
    );
    let registration = CoreClientRegistrationRequest::new(
        vec![redirect.clone()],
        EmptyAdditionalClientMetadata {},
    )
    .set_application_type(Some(CoreApplicationType::Native))
    .set_token_endpoint_auth_method(Some(CoreClientAuthMethod::None))
    .set_grant_types(Some(vec![
        CoreGrantType::AuthorizationCode,
        CoreGrantType::RefreshToken,
    ]))
    .set_client_uri(Some(client_uri))
    .set_client_name(Some(client_name))
    .register_async(metadata.registration_endpoint().unwrap(), &http)
    .await
    .expect("dynamic registration");

    let client =
        CoreClient::from_provider_metadata(metadata, registration.client_id().clone(), None)
            .set_redirect_uri(redirect)
            .set_revocation_url(
                RevocationUrl::new(format!("{}oauth2/revoke", server.base())).unwrap(),
            );
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (authorize_url, csrf_state, nonce) = client
        .authorize_url(
            AuthenticationFlow::<openidconnect::core::CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("urn:matrix:client:api:*".into()))
        .set_pkce_challenge(challenge)
        .url();

    let (back, consent_page) = log_in_and_allow(
        &http,
        authorize_url.as_str(),
        "alice",
        "correct horse battery staple",
    )
    .await;
    assert!(
        consent_page.contains("OIDC Test Client"),
        "the consent page names the client"
    );
    let params: std::collections::HashMap<_, _> = back.query_pairs().into_owned().collect();
    assert_eq!(&params["state"], csrf_state.secret());
    let tokens = client
        .exchange_code(AuthorizationCode::new(params["code"].clone()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("code exchange");
    let id_token = tokens.id_token().expect("an ID token");
    let claims = id_token
        .claims(&client.id_token_verifier(), &nonce)
        .expect("the ID token verifies");
    assert!(tokens.access_token().secret().starts_with("mat_"));

    let info: CoreUserInfoClaims = client
        .user_info(
            tokens.access_token().clone(),
            Some(claims.subject().clone()),
        )
        .unwrap()
        .request_async(&http)
        .await
        .expect("userinfo");
    assert_eq!(info.subject(), claims.subject());

    let refresh = tokens.refresh_token().expect("a refresh token").clone();
    let refreshed = client
        .exchange_refresh_token(&refresh)
        .unwrap()
        .request_async(&http)
        .await
        .expect("refresh");
    let new_refresh = refreshed.refresh_token().unwrap().clone();
    assert_ne!(new_refresh.secret(), refresh.secret());

    // The library refuses to revoke over plain http (RFC 7009 §2 asks for
    // TLS), and this test server has no TLS: revoke with the same request
    // the library would send.
    assert!(client
        .revoke_token(StandardRevocableToken::RefreshToken(new_refresh.clone()))
        .is_err());
    let revoked = http
        .post(format!("{}oauth2/revoke", server.base()))
        .form(&[
            ("token", new_refresh.secret().as_str()),
            ("token_type_hint", "refresh_token"),
            ("client_id", registration.client_id().as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    let after = client
        .exchange_refresh_token(&new_refresh)
        .unwrap()
        .request_async(&http)
        .await;
    assert!(after.is_err(), "a revoked refresh token must not work");
    let info = client
        .user_info(refreshed.access_token().clone(), None)
        .unwrap()
        .request_async::<openidconnect::EmptyAdditionalClaims, _, openidconnect::core::CoreGenderClaim>(&http)
        .await;
    assert!(
        info.is_err(),
        "the revoked session's access token must not work"
    );
    drop(server);
    db.drop_database().await;
}

mod full_flow {
    use crate::support::*;

    #[tokio::test]
    async fn sqlite() {
        super::full_flow(TestDatabase::sqlite(&temp_dir("oidc-sqlite"))).await;
    }

    #[tokio::test]
    async fn postgres() {
        if let Some(db) = TestDatabase::postgres().await {
            super::full_flow(db).await;
        }
    }
}
