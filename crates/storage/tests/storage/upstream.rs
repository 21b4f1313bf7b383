//! Upstream providers as `config sync` writes them: upsert keeps the
//! creation time, the list follows the configuration's order, a provider
//! can be disabled or deleted without touching the links that name it.

use chrono::Duration;
use mxauth_model::upstream::{CallbackOutcome, UpstreamLink, UpstreamProvider, UpstreamSession};
use mxauth_storage::{new_ulid, Database, StorageError};

use crate::harness::{now, rng};

fn provider(rng: &mut impl rand::RngCore, position: i64, idp: &str) -> UpstreamProvider {
    UpstreamProvider {
        id: new_ulid(now(), rng),
        position,
        enabled: true,
        synapse_idp_id: Some(format!("oidc-{idp}")),
        encrypted_client_secret: Some("sealed".into()),
        settings: format!(r#"{{"client_id":"{idp}-client"}}"#),
        created_at: now(),
        updated_at: now(),
    }
}

async fn providers_upsert_list_disable_and_delete(db: &Database) {
    let mut rng = rng();
    let second = provider(&mut rng, 1, "keycloak");
    let first = provider(&mut rng, 0, "google");
    let mut repo = db.begin().await.unwrap();
    repo.upstream_providers().upsert(&second).await.unwrap();
    repo.upstream_providers().upsert(&first).await.unwrap();
    repo.commit().await.unwrap();

    let mut read = db.read().await.unwrap();
    let listed = read.upstream_providers().list().await.unwrap();
    assert_eq!(listed, vec![first.clone(), second.clone()], "file order");
    drop(read);

    // A second sync changes the settings but not the creation time.
    let later = now() + Duration::hours(1);
    let changed = UpstreamProvider {
        settings: r#"{"client_id":"keycloak-client","human_name":"Keycloak"}"#.into(),
        encrypted_client_secret: None,
        created_at: later,
        updated_at: later,
        ..second.clone()
    };
    let mut repo = db.begin().await.unwrap();
    repo.upstream_providers().upsert(&changed).await.unwrap();
    repo.upstream_providers()
        .disable(first.id, later)
        .await
        .unwrap();
    repo.commit().await.unwrap();
    let mut read = db.read().await.unwrap();
    let found = read.upstream_providers().find(second.id).await.unwrap();
    assert_eq!(
        found,
        Some(UpstreamProvider {
            created_at: second.created_at,
            ..changed
        })
    );
    let disabled = read
        .upstream_providers()
        .find(first.id)
        .await
        .unwrap()
        .unwrap();
    assert!(!disabled.enabled);
    assert_eq!(disabled.updated_at, later);
    drop(read);

    let mut repo = db.begin().await.unwrap();
    repo.upstream_providers().delete(first.id).await.unwrap();
    repo.commit().await.unwrap();
    let mut read = db.read().await.unwrap();
    assert_eq!(
        read.upstream_providers().find(first.id).await.unwrap(),
        None
    );
    assert_eq!(read.upstream_providers().list().await.unwrap().len(), 1);
}
crate::both!(providers_upsert_list_disable_and_delete);

/// A person's first login creates a link without a user; registering
/// associates it once; a second association (a race, a replay) fails; the
/// subject is unique per provider.
async fn links_are_found_by_subject_and_associated_once(db: &Database) {
    let mut rng = rng();
    let provider_id = new_ulid(now(), &mut rng);
    let link = UpstreamLink {
        id: new_ulid(now(), &mut rng),
        provider_id,
        user_id: None,
        subject: "sub-alice".into(),
        human_account_name: Some("alice@idp".into()),
        created_at: now(),
    };
    let mut repo = db.begin().await.unwrap();
    let alice = repo
        .users()
        .add(new_ulid(now(), &mut rng), "alice", now())
        .await
        .unwrap();
    let mallory = repo
        .users()
        .add(new_ulid(now(), &mut rng), "mallory", now())
        .await
        .unwrap();
    repo.commit().await.unwrap();
    // A failed statement aborts a PostgreSQL transaction: the conflict is
    // tried in one of its own.
    let mut repo = db.begin().await.unwrap();
    repo.upstream_links().add(&link).await.unwrap();
    let twice = UpstreamLink {
        id: new_ulid(now(), &mut rng),
        ..link.clone()
    };
    let err = repo.upstream_links().add(&twice).await.unwrap_err();
    assert!(matches!(err, StorageError::Conflict(_)), "{err:?}");
    drop(repo);

    let mut repo = db.begin().await.unwrap();
    repo.upstream_links().add(&link).await.unwrap();
    assert!(repo
        .upstream_links()
        .associate(link.id, alice.id)
        .await
        .unwrap());
    assert!(!repo
        .upstream_links()
        .associate(link.id, mallory.id)
        .await
        .unwrap());
    repo.commit().await.unwrap();

    let mut read = db.read().await.unwrap();
    let found = read
        .upstream_links()
        .find_by_subject(provider_id, "sub-alice")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.user_id, Some(alice.id));
    assert_eq!(found.human_account_name.as_deref(), Some("alice@idp"));
    drop(read);
    // find_or_add returns the existing link (a second tab's sign-in) and
    // adds a new subject's.
    let mut repo = db.begin().await.unwrap();
    assert_eq!(
        repo.upstream_links().find_or_add(&twice).await.unwrap(),
        found
    );
    let bob = UpstreamLink {
        id: new_ulid(now(), &mut rng),
        subject: "sub-bob".into(),
        ..link.clone()
    };
    assert_eq!(repo.upstream_links().find_or_add(&bob).await.unwrap(), bob);
    repo.rollback().await.unwrap();
    let mut read = db.read().await.unwrap();
    assert_eq!(
        read.upstream_links().find(link.id).await.unwrap(),
        Some(found)
    );
    assert_eq!(
        read.upstream_links()
            .find_by_subject(provider_id, "sub-bob")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        read.upstream_links()
            .list_for_user(alice.id)
            .await
            .unwrap()
            .len(),
        1
    );
    drop(read);

    // `on_conflict: replace`: the user's other link to the provider goes.
    let newer = UpstreamLink {
        id: new_ulid(now() + Duration::seconds(1), &mut rng),
        subject: "sub-alice-2".into(),
        user_id: Some(alice.id),
        ..link.clone()
    };
    let mut repo = db.begin().await.unwrap();
    repo.upstream_links().add(&newer).await.unwrap();
    let removed = repo
        .upstream_links()
        .remove_others_for_user(provider_id, alice.id, newer.id)
        .await
        .unwrap();
    assert_eq!(removed, 1);
    repo.commit().await.unwrap();
    let mut read = db.read().await.unwrap();
    let links = read.upstream_links().list_for_user(alice.id).await.unwrap();
    assert_eq!(
        links.iter().map(|l| l.id).collect::<Vec<_>>(),
        vec![newer.id]
    );
}
crate::both!(links_are_found_by_subject_and_associated_once);

/// A session completes once and is consumed once; back-channel logout
/// finds the browser sessions by subject, by sid, or by both.
async fn sessions_complete_and_consume_once(db: &Database) {
    let mut rng = rng();
    let provider_id = new_ulid(now(), &mut rng);
    let pending = UpstreamSession {
        id: new_ulid(now(), &mut rng),
        provider_id,
        state: "state-1".into(),
        nonce: Some("nonce-1".into()),
        next: "/consent/x".into(),
        link_id: None,
        subject: None,
        sid: None,
        id_token_claims: None,
        userinfo_claims: None,
        extra_callback_parameters: None,
        browser_session_id: None,
        created_at: now(),
        completed_at: None,
        consumed_at: None,
    };
    let mut repo = db.begin().await.unwrap();
    let user = repo
        .users()
        .add(new_ulid(now(), &mut rng), "carol", now())
        .await
        .unwrap();
    let browser = repo
        .browser_sessions()
        .add(new_ulid(now(), &mut rng), &user, None, now())
        .await
        .unwrap();
    repo.upstream_sessions().add(&pending).await.unwrap();
    // Not completed yet: cannot be consumed.
    assert!(!repo
        .upstream_sessions()
        .consume(pending.id, browser.id, now())
        .await
        .unwrap());
    let outcome = CallbackOutcome {
        link_id: new_ulid(now(), &mut rng),
        subject: "sub-carol".into(),
        sid: Some("sid-9".into()),
        id_token_claims: Some(r#"{"sub":"sub-carol"}"#.into()),
        userinfo_claims: None,
        extra_callback_parameters: Some("{}".into()),
    };
    let later = now() + Duration::seconds(5);
    assert!(repo
        .upstream_sessions()
        .complete(pending.id, &outcome, later)
        .await
        .unwrap());
    assert!(
        !repo
            .upstream_sessions()
            .complete(pending.id, &outcome, later)
            .await
            .unwrap(),
        "a replayed callback changes nothing"
    );
    assert!(repo
        .upstream_sessions()
        .consume(pending.id, browser.id, later)
        .await
        .unwrap());
    assert!(!repo
        .upstream_sessions()
        .consume(pending.id, browser.id, later)
        .await
        .unwrap());
    repo.commit().await.unwrap();

    let mut read = db.read().await.unwrap();
    let stored = read
        .upstream_sessions()
        .find(pending.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.subject.as_deref(), Some("sub-carol"));
    assert_eq!(stored.link_id, Some(outcome.link_id));
    assert_eq!(stored.browser_session_id, Some(browser.id));
    assert_eq!(stored.completed_at, Some(later));
    assert_eq!(stored.consumed_at, Some(later));
    for (sub, sid, expected) in [
        (Some("sub-carol"), None, vec![browser.id]),
        (None, Some("sid-9"), vec![browser.id]),
        (Some("sub-carol"), Some("sid-9"), vec![browser.id]),
        (Some("sub-carol"), Some("sid-other"), vec![]),
        (Some("sub-dave"), None, vec![]),
    ] {
        let found = read
            .upstream_sessions()
            .browser_sessions_of(provider_id, sub, sid)
            .await
            .unwrap();
        assert_eq!(found, expected, "sub {sub:?} sid {sid:?}");
    }
}
crate::both!(sessions_complete_and_consume_once);
