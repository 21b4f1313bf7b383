//! Compatibility sessions and their tokens.

use chrono::Duration;
use mxauth_model::compat::CompatSession;
use mxauth_storage::{new_ulid, Database};

use crate::harness::{now, rng};

async fn compat_sessions_tokens_and_lookup(db: &Database) {
    let mut rng = rng();
    let mut repo = db.begin().await.unwrap();
    let alice = repo
        .add_user(new_ulid(now(), &mut rng), "alice", now())
        .await
        .unwrap();
    let session = |rng: &mut rand::rngs::StdRng, device: &str| CompatSession {
        id: new_ulid(now(), rng),
        user_id: alice.id,
        device_id: Some(device.into()),
        browser_session_id: None,
        is_synapse_admin: false,
        user_agent: Some("bot".into()),
        human_name: None,
        created_at: now(),
        finished_at: None,
    };
    let first = session(&mut rng, "BOTDEVICE1");
    let second = session(&mut rng, "OTHERDEV22");
    repo.add_compat_session(&first).await.unwrap();
    repo.add_compat_session(&second).await.unwrap();
    assert_eq!(
        repo.find_compat_session(first.id).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        repo.active_compat_sessions(&alice, None)
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        repo.active_compat_sessions(&alice, Some("BOTDEVICE1"))
            .await
            .unwrap(),
        vec![first.clone()]
    );

    let exp = now() + Duration::minutes(5);
    let at = repo
        .add_compat_access_token(
            new_ulid(now(), &mut rng),
            first.id,
            "c-at",
            now(),
            Some(exp),
        )
        .await
        .unwrap();
    let (token, found, user) = repo
        .lookup_compat_access_token("c-at")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (token, found, user),
        (at.clone(), first.clone(), alice.clone())
    );
    assert!(repo
        .lookup_compat_access_token("nope")
        .await
        .unwrap()
        .is_none());

    let rt = repo
        .add_compat_refresh_token(new_ulid(now(), &mut rng), first.id, at.id, "c-rt", now())
        .await
        .unwrap();
    assert_eq!(
        repo.find_compat_refresh_token_by_digest("c-rt")
            .await
            .unwrap(),
        Some(rt.clone())
    );
    assert!(repo
        .consume_compat_refresh_token(rt.id, now())
        .await
        .unwrap());
    assert!(!repo
        .consume_compat_refresh_token(rt.id, now())
        .await
        .unwrap());
    repo.expire_compat_access_token(at.id, now()).await.unwrap();
    let (token, _, _) = repo
        .lookup_compat_access_token("c-at")
        .await
        .unwrap()
        .unwrap();
    assert!(!token.is_valid(now()));

    assert!(repo.finish_compat_session(first.id, now()).await.unwrap());
    assert!(!repo.finish_compat_session(first.id, now()).await.unwrap());
    assert_eq!(
        repo.active_compat_sessions(&alice, None).await.unwrap(),
        vec![second]
    );
}
crate::both!(compat_sessions_tokens_and_lookup);

async fn sso_logins_are_fulfilled_and_exchanged_once(db: &Database) {
    let mut rng = rng();
    let mut repo = db.begin().await.unwrap();
    let alice = repo
        .add_user(new_ulid(now(), &mut rng), "alice", now())
        .await
        .unwrap();
    let browser = repo
        .add_browser_session(new_ulid(now(), &mut rng), &alice, None, now())
        .await
        .unwrap();
    let login = repo
        .add_compat_sso_login(
            new_ulid(now(), &mut rng),
            "https://app.example.com/",
            "placeholder",
            now(),
        )
        .await
        .unwrap();
    assert_eq!(
        repo.find_compat_sso_login(login.id).await.unwrap(),
        Some(login.clone())
    );
    assert!(repo
        .fulfill_compat_sso_login(login.id, browser.id, "token-digest", now())
        .await
        .unwrap());
    assert!(!repo
        .fulfill_compat_sso_login(login.id, browser.id, "other", now())
        .await
        .unwrap());
    let found = repo
        .find_compat_sso_login_by_token_digest("token-digest")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.browser_session_id, Some(browser.id));
    let session = CompatSession {
        id: new_ulid(now(), &mut rng),
        user_id: alice.id,
        device_id: None,
        browser_session_id: Some(browser.id),
        is_synapse_admin: false,
        user_agent: None,
        human_name: None,
        created_at: now(),
        finished_at: None,
    };
    repo.add_compat_session(&session).await.unwrap();
    assert!(repo
        .exchange_compat_sso_login(login.id, session.id, now())
        .await
        .unwrap());
    assert!(!repo
        .exchange_compat_sso_login(login.id, session.id, now())
        .await
        .unwrap());
    let done = repo.find_compat_sso_login(login.id).await.unwrap().unwrap();
    assert_eq!(done.compat_session_id, Some(session.id));
}
crate::both!(sso_logins_are_fulfilled_and_exchanged_once);
