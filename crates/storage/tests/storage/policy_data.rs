//! The history of admin-set policy data.

use chrono::Duration;
use mxauth_storage::{new_ulid, Database, PolicyData};
use serde_json::json;

use crate::harness::{now, rng};

async fn the_newest_policy_data_is_in_force_and_pruning_keeps_the_newest(db: &Database) {
    let mut rng = rng();
    let mut repo = db.begin().await.unwrap();
    assert_eq!(repo.policy_data().latest().await.unwrap(), None);
    let mut versions = Vec::new();
    for n in 0..5 {
        let at = now() + Duration::seconds(n);
        let version = PolicyData {
            id: new_ulid(at, &mut rng),
            data: json!({"registration": {"banned_usernames": {"literals": [format!("u{n}")]}}}),
            created_at: at,
        };
        repo.policy_data().add(&version).await.unwrap();
        versions.push(version);
    }
    repo.commit().await.unwrap();

    let mut read = db.read().await.unwrap();
    assert_eq!(
        read.policy_data().latest().await.unwrap().as_ref(),
        versions.last()
    );
    let first = read.policy_data().find(versions[0].id).await.unwrap();
    assert_eq!(first.as_ref(), Some(&versions[0]));
    drop(read);

    let mut repo = db.begin().await.unwrap();
    assert_eq!(repo.policy_data().prune(2).await.unwrap(), 3);
    repo.commit().await.unwrap();
    let mut read = db.read().await.unwrap();
    assert_eq!(read.policy_data().find(versions[2].id).await.unwrap(), None);
    assert!(read
        .policy_data()
        .find(versions[3].id)
        .await
        .unwrap()
        .is_some());
    assert_eq!(
        read.policy_data().latest().await.unwrap().as_ref(),
        versions.last()
    );
}
crate::both!(the_newest_policy_data_is_in_force_and_pruning_keeps_the_newest);
