//! OAuth 2.0 clients, browser sessions, grants, sessions and tokens.

use chrono::Duration;
use mxauth_model::{
    oauth2::{
        AuthorizationGrant, Client, ClientAuthMethod, GrantState, GrantTypes, ResponseMode, Session,
    },
    CodeChallengeMethod, User,
};
use mxauth_storage::{new_ulid, Database, StorageError};
use rand::rngs::StdRng;

use crate::harness::{now, rng};

pub(crate) fn client(rng: &mut StdRng, digest: Option<&str>) -> Client {
    Client {
        id: new_ulid(now(), rng),
        encrypted_client_secret: None,
        redirect_uris: vec![
            "https://app.example.com/cb".into(),
            "http://127.0.0.1/cb".into(),
        ],
        grant_types: GrantTypes {
            authorization_code: true,
            refresh_token: true,
            ..GrantTypes::default()
        },
        client_name: Some("App".into()),
        logo_uri: None,
        client_uri: Some("https://app.example.com/".into()),
        policy_uri: None,
        tos_uri: None,
        jwks: None,
        jwks_uri: None,
        id_token_signed_response_alg: Some("ES256".into()),
        userinfo_signed_response_alg: None,
        token_endpoint_auth_method: ClientAuthMethod::None,
        token_endpoint_auth_signing_alg: None,
        initiate_login_uri: None,
        application_type: Some("native".into()),
        contacts: vec!["admin@example.com".into()],
        is_static: false,
        metadata_digest: digest.map(str::to_owned),
        created_at: now(),
    }
}

pub(crate) async fn user(db: &Database, rng: &mut StdRng, name: &str) -> User {
    let mut repo = db.begin().await.unwrap();
    let user = repo
        .users()
        .add(new_ulid(now(), rng), name, now())
        .await
        .unwrap();
    repo.commit().await.unwrap();
    user
}

async fn clients_round_trip_and_dedupe_by_digest(db: &Database) {
    let mut rng = rng();
    let app = client(&mut rng, Some("digest-1"));
    let mut repo = db.begin().await.unwrap();
    repo.oauth2_clients().add(&app).await.unwrap();
    assert_eq!(
        repo.oauth2_clients().find(app.id).await.unwrap(),
        Some(app.clone())
    );
    assert_eq!(
        repo.oauth2_clients()
            .find_by_metadata_digest("digest-1")
            .await
            .unwrap(),
        Some(app.clone())
    );
    assert_eq!(
        repo.oauth2_clients()
            .find_by_metadata_digest("other")
            .await
            .unwrap(),
        None
    );
    repo.commit().await.unwrap();

    let mut repo = db.begin().await.unwrap();
    let twin = client(&mut rng, Some("digest-1"));
    let err = repo.oauth2_clients().add(&twin).await.unwrap_err();
    assert!(matches!(err, StorageError::Conflict(_)), "{err}");
    repo.rollback().await.unwrap();
    let mut repo = db.read().await.unwrap();
    assert_eq!(repo.oauth2_clients().count().await.unwrap(), 1);
}
crate::both!(clients_round_trip_and_dedupe_by_digest);

async fn static_clients_upsert_keeps_creation_time(db: &Database) {
    let mut rng = rng();
    let mut app = client(&mut rng, None);
    app.is_static = true;
    app.token_endpoint_auth_method = ClientAuthMethod::ClientSecretBasic;
    app.encrypted_client_secret = Some("sealed".into());
    let mut repo = db.begin().await.unwrap();
    repo.oauth2_clients().upsert_static(&app).await.unwrap();
    let mut changed = app.clone();
    changed.redirect_uris = vec!["https://new.example.com/cb".into()];
    changed.created_at = now() + Duration::days(1);
    repo.oauth2_clients().upsert_static(&changed).await.unwrap();
    let stored = repo.oauth2_clients().find(app.id).await.unwrap().unwrap();
    assert_eq!(stored.redirect_uris, changed.redirect_uris);
    assert_eq!(stored.created_at, app.created_at);
    repo.oauth2_clients()
        .add(&client(&mut rng, None))
        .await
        .unwrap();
    assert_eq!(repo.oauth2_clients().list_static().await.unwrap().len(), 1);
}
crate::both!(static_clients_upsert_keeps_creation_time);

async fn browser_sessions_and_authentications(db: &Database) {
    let mut rng = rng();
    let alice = user(db, &mut rng, "alice").await;
    let mut repo = db.begin().await.unwrap();
    let session = repo
        .browser_sessions()
        .add(new_ulid(now(), &mut rng), &alice, Some("Firefox"), now())
        .await
        .unwrap();
    assert_eq!(
        repo.browser_sessions().find(session.id).await.unwrap(),
        Some(session.clone())
    );
    assert_eq!(
        repo.browser_sessions()
            .last_authentication_at(session.id)
            .await
            .unwrap(),
        None
    );
    let later = now() + Duration::minutes(3);
    repo.browser_sessions()
        .add_authentication(new_ulid(now(), &mut rng), &session, None, now())
        .await
        .unwrap();
    repo.browser_sessions()
        .add_authentication(new_ulid(later, &mut rng), &session, None, later)
        .await
        .unwrap();
    assert_eq!(
        repo.browser_sessions()
            .last_authentication_at(session.id)
            .await
            .unwrap(),
        Some(later)
    );
    repo.browser_sessions()
        .finish(session.id, later)
        .await
        .unwrap();
    repo.browser_sessions()
        .finish(session.id, later + Duration::hours(1))
        .await
        .unwrap();
    let stored = repo
        .browser_sessions()
        .find(session.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.finished_at, Some(later));
    assert!(!stored.is_active());
}
crate::both!(browser_sessions_and_authentications);

pub(crate) fn grant(rng: &mut StdRng, client: &Client) -> AuthorizationGrant {
    AuthorizationGrant {
        id: new_ulid(now(), rng),
        client_id: client.id,
        redirect_uri: "https://app.example.com/cb".into(),
        redirect_uri_sent: false,
        scope: "openid urn:matrix:client:api:*".parse().unwrap(),
        state: Some("xyz".into()),
        nonce: Some("n-0S6".into()),
        response_mode: ResponseMode::Query,
        response_type_code: true,
        response_type_id_token: false,
        code_challenge: Some("E9Melhoa2OwvFrEMTJguCQHtYwjoJ0BD-LqLqS4P0E8".into()),
        code_challenge_method: Some(CodeChallengeMethod::S256),
        login_hint: None,
        prompt: None,
        locale: None,
        created_at: now(),
        fulfilled_at: None,
        cancelled_at: None,
        exchanged_at: None,
        browser_session_id: None,
        session_id: None,
    }
}

pub(crate) fn session(rng: &mut StdRng, client: &Client, user: Option<&User>) -> Session {
    Session {
        id: new_ulid(now(), rng),
        client_id: client.id,
        user_id: user.map(|u| u.id),
        browser_session_id: None,
        scope: "openid".parse().unwrap(),
        user_agent: None,
        last_active_at: None,
        last_active_ip: None,
        human_name: None,
        created_at: now(),
        finished_at: None,
    }
}

async fn a_code_is_exchanged_once(db: &Database) {
    let mut rng = rng();
    let alice = user(db, &mut rng, "alice").await;
    let app = client(&mut rng, None);
    let g = grant(&mut rng, &app);
    let mut repo = db.begin().await.unwrap();
    repo.oauth2_clients().add(&app).await.unwrap();
    repo.oauth2_grants().add(&g).await.unwrap();
    assert_eq!(
        repo.oauth2_grants().find(g.id).await.unwrap(),
        Some(g.clone())
    );
    let browser = repo
        .browser_sessions()
        .add(new_ulid(now(), &mut rng), &alice, None, now())
        .await
        .unwrap();
    let t = now() + Duration::seconds(5);
    assert!(repo
        .oauth2_grants()
        .fulfill(g.id, browser.id, "code-digest", t)
        .await
        .unwrap());
    assert!(!repo
        .oauth2_grants()
        .fulfill(g.id, browser.id, "other", t)
        .await
        .unwrap());
    let found = repo
        .oauth2_grants()
        .find_by_code_digest("code-digest")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.state(), GrantState::Fulfilled);
    assert_eq!(found.browser_session_id, Some(browser.id));

    let s = session(&mut rng, &app, Some(&alice));
    repo.oauth2_sessions().add(&s).await.unwrap();
    assert!(repo.oauth2_grants().exchange(g.id, s.id, t).await.unwrap());
    assert!(!repo.oauth2_grants().exchange(g.id, s.id, t).await.unwrap());
    let exchanged = repo.oauth2_grants().find(g.id).await.unwrap().unwrap();
    assert_eq!(exchanged.state(), GrantState::Exchanged);
    assert_eq!(exchanged.session_id, Some(s.id));
    // An exchanged grant can no longer be cancelled.
    assert!(!repo.oauth2_grants().cancel(g.id, t).await.unwrap());

    let pending = grant(&mut rng, &app);
    repo.oauth2_grants().add(&pending).await.unwrap();
    assert!(repo.oauth2_grants().cancel(pending.id, t).await.unwrap());
    assert!(!repo
        .oauth2_grants()
        .fulfill(pending.id, browser.id, "late", t)
        .await
        .unwrap());
    assert_eq!(
        repo.oauth2_grants()
            .find(pending.id)
            .await
            .unwrap()
            .unwrap()
            .state(),
        GrantState::Cancelled
    );
}
crate::both!(a_code_is_exchanged_once);

async fn tokens_by_digest_and_introspection_join(db: &Database) {
    let mut rng = rng();
    let alice = user(db, &mut rng, "alice").await;
    let app = client(&mut rng, None);
    let s = session(&mut rng, &app, Some(&alice));
    let machine = session(&mut rng, &app, None);
    let mut repo = db.begin().await.unwrap();
    repo.oauth2_clients().add(&app).await.unwrap();
    repo.oauth2_sessions().add(&s).await.unwrap();
    repo.oauth2_sessions().add(&machine).await.unwrap();
    assert_eq!(
        repo.oauth2_sessions().find(s.id).await.unwrap(),
        Some(s.clone())
    );

    let exp = now() + Duration::seconds(300);
    let at = repo
        .oauth2_access_tokens()
        .add(
            new_ulid(now(), &mut rng),
            s.id,
            "at-digest",
            // Later than the session, so that the join is seen to return
            // each row's own `created_at`.
            now() + Duration::seconds(60),
            Some(exp),
        )
        .await
        .unwrap();
    assert_eq!(
        repo.oauth2_access_tokens()
            .find_by_digest("at-digest")
            .await
            .unwrap(),
        Some(at.clone())
    );
    assert_eq!(
        repo.oauth2_access_tokens()
            .find_by_digest("nope")
            .await
            .unwrap(),
        None
    );
    let (token, session, owner) = repo
        .oauth2_access_tokens()
        .lookup("at-digest")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (token, session, owner),
        (at.clone(), s.clone(), Some(alice.clone()))
    );

    let machine_at = repo
        .oauth2_access_tokens()
        .add(
            new_ulid(now(), &mut rng),
            machine.id,
            "m-digest",
            now(),
            None,
        )
        .await
        .unwrap();
    let (_, _, owner) = repo
        .oauth2_access_tokens()
        .lookup("m-digest")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(owner, None);
    assert_eq!(machine_at.expires_at, None);

    let first = now() + Duration::seconds(1);
    repo.oauth2_access_tokens()
        .mark_used(at.id, first)
        .await
        .unwrap();
    repo.oauth2_access_tokens()
        .mark_used(at.id, first + Duration::seconds(9))
        .await
        .unwrap();
    assert_eq!(
        repo.oauth2_access_tokens()
            .find(at.id)
            .await
            .unwrap()
            .unwrap()
            .first_used_at,
        Some(first)
    );

    let rt = repo
        .oauth2_refresh_tokens()
        .add(new_ulid(now(), &mut rng), s.id, at.id, "rt-digest", now())
        .await
        .unwrap();
    assert_eq!(
        repo.oauth2_refresh_tokens()
            .find_by_digest("rt-digest")
            .await
            .unwrap(),
        Some(rt.clone())
    );
    let at2 = repo
        .oauth2_access_tokens()
        .add(new_ulid(now(), &mut rng), s.id, "at2", now(), Some(exp))
        .await
        .unwrap();
    let rt2 = repo
        .oauth2_refresh_tokens()
        .add(new_ulid(now(), &mut rng), s.id, at2.id, "rt2", now())
        .await
        .unwrap();
    assert!(repo
        .oauth2_refresh_tokens()
        .consume(rt.id, rt2.id, first)
        .await
        .unwrap());
    assert!(!repo
        .oauth2_refresh_tokens()
        .consume(rt.id, rt2.id, first)
        .await
        .unwrap());
    let consumed = repo
        .oauth2_refresh_tokens()
        .find(rt.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(consumed.next_refresh_token_id, Some(rt2.id));
    assert!(!consumed.is_valid());

    // Finishing the session revokes what is left.
    assert!(repo.oauth2_sessions().finish(s.id, first).await.unwrap());
    assert!(!repo.oauth2_sessions().finish(s.id, first).await.unwrap());
    assert!(repo
        .oauth2_access_tokens()
        .find(at2.id)
        .await
        .unwrap()
        .unwrap()
        .revoked_at
        .is_some());
    assert!(repo
        .oauth2_refresh_tokens()
        .find(rt2.id)
        .await
        .unwrap()
        .unwrap()
        .revoked_at
        .is_some());
    // A consumed token keeps its state rather than being marked revoked.
    assert_eq!(
        repo.oauth2_refresh_tokens()
            .find(rt.id)
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        None
    );
    assert!(!repo
        .oauth2_sessions()
        .find(s.id)
        .await
        .unwrap()
        .unwrap()
        .is_active());

    repo.oauth2_access_tokens()
        .revoke(machine_at.id, first)
        .await
        .unwrap();
    assert!(!repo
        .oauth2_access_tokens()
        .find(machine_at.id)
        .await
        .unwrap()
        .unwrap()
        .is_valid(first));
    repo.oauth2_refresh_tokens()
        .revoke(rt2.id, first)
        .await
        .unwrap();
}
crate::both!(tokens_by_digest_and_introspection_join);
