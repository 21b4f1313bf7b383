//! Upstream providers as `config sync` writes them: upsert keeps the
//! creation time, the list follows the configuration's order, a provider
//! can be disabled or deleted without touching the links that name it.

use chrono::Duration;
use mxauth_model::upstream::UpstreamProvider;
use mxauth_storage::{new_ulid, Database};

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
