//! Compatibility sessions and their tokens.

use chrono::Duration;
use mxauth_model::compat::CompatSession;
use mxauth_storage::{new_ulid, Database};

use crate::harness::{now, rng};

async fn compat_sessions_tokens_and_lookup(db: &Database) {
    let mut rng = rng();
    let mut repo = db.begin().await.unwrap();
    let alice = repo
        .users()
        .add(new_ulid(now(), &mut rng), "alice", now())
        .await
        .unwrap();
    let session = |rng: &mut rand::rngs::StdRng, device: &str| CompatSession {
        id: new_ulid(now(), rng),
        user_id: alice.id,
        device_id: Some(device.into()),
        browser_session_id: None,
        is_synapse_admin: false,
        user_agent: Some("bot".into()),
        last_active_at: None,
        last_active_ip: None,
        human_name: None,
        created_at: now(),
        finished_at: None,
    };
    let first = session(&mut rng, "BOTDEVICE1");
    let second = session(&mut rng, "OTHERDEV22");
    repo.compat_sessions().add(&first).await.unwrap();
    repo.compat_sessions().add(&second).await.unwrap();
    assert_eq!(
        repo.compat_sessions().find(first.id).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        repo.compat_sessions()
            .active(&alice, None)
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        repo.compat_sessions()
            .active(&alice, Some("BOTDEVICE1"))
            .await
            .unwrap(),
        vec![first.clone()]
    );

    let exp = now() + Duration::minutes(5);
    let at = repo
        .compat_access_tokens()
        .add(
            new_ulid(now(), &mut rng),
            first.id,
            "c-at",
            now(),
            Some(exp),
        )
        .await
        .unwrap();
    let (token, found, user) = repo
        .compat_access_tokens()
        .lookup("c-at")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (token, found, user),
        (at.clone(), first.clone(), alice.clone())
    );
    assert!(repo
        .compat_access_tokens()
        .lookup("nope")
        .await
        .unwrap()
        .is_none());

    let rt = repo
        .compat_refresh_tokens()
        .add(new_ulid(now(), &mut rng), first.id, at.id, "c-rt", now())
        .await
        .unwrap();
    assert_eq!(
        repo.compat_refresh_tokens()
            .find_by_digest("c-rt")
            .await
            .unwrap(),
        Some(rt.clone())
    );
    assert!(repo
        .compat_refresh_tokens()
        .consume(rt.id, now())
        .await
        .unwrap());
    assert!(!repo
        .compat_refresh_tokens()
        .consume(rt.id, now())
        .await
        .unwrap());
    repo.compat_access_tokens()
        .expire(at.id, now())
        .await
        .unwrap();
    let (token, _, _) = repo
        .compat_access_tokens()
        .lookup("c-at")
        .await
        .unwrap()
        .unwrap();
    assert!(!token.is_valid(now()));

    assert!(repo
        .compat_sessions()
        .finish(first.id, now())
        .await
        .unwrap());
    assert!(!repo
        .compat_sessions()
        .finish(first.id, now())
        .await
        .unwrap());
    assert_eq!(
        repo.compat_sessions().active(&alice, None).await.unwrap(),
        vec![second]
    );
}
crate::both!(compat_sessions_tokens_and_lookup);

async fn sso_logins_are_fulfilled_and_exchanged_once(db: &Database) {
    let mut rng = rng();
    let mut repo = db.begin().await.unwrap();
    let alice = repo
        .users()
        .add(new_ulid(now(), &mut rng), "alice", now())
        .await
        .unwrap();
    let browser = repo
        .browser_sessions()
        .add(new_ulid(now(), &mut rng), &alice, None, now())
        .await
        .unwrap();
    let login = repo
        .compat_sso_logins()
        .add(
            new_ulid(now(), &mut rng),
            "https://app.example.com/",
            "placeholder",
            now(),
        )
        .await
        .unwrap();
    assert_eq!(
        repo.compat_sso_logins().find(login.id).await.unwrap(),
        Some(login.clone())
    );
    assert!(repo
        .compat_sso_logins()
        .fulfill(login.id, browser.id, "token-digest", now())
        .await
        .unwrap());
    assert!(!repo
        .compat_sso_logins()
        .fulfill(login.id, browser.id, "other", now())
        .await
        .unwrap());
    let found = repo
        .compat_sso_logins()
        .find_by_token_digest("token-digest")
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
        last_active_at: None,
        last_active_ip: None,
        human_name: None,
        created_at: now(),
        finished_at: None,
    };
    repo.compat_sessions().add(&session).await.unwrap();
    assert!(repo
        .compat_sso_logins()
        .exchange(login.id, session.id, now())
        .await
        .unwrap());
    assert!(!repo
        .compat_sso_logins()
        .exchange(login.id, session.id, now())
        .await
        .unwrap());
    let done = repo
        .compat_sso_logins()
        .find(login.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(done.compat_session_id, Some(session.id));
}
crate::both!(sso_logins_are_fulfilled_and_exchanged_once);
