//! What the account page reads and changes: a user's sessions that have not
//! ended (browser, OAuth, compat, with what is known of their activity),
//! and removing one of their email addresses.

use chrono::Duration;
use mxauth_storage::{new_ulid, Database, ImportBatch, ImportSession};

use crate::{
    harness::{now, rng},
    oauth2::{client, session, user},
};

async fn active_sessions_of_a_user_only(db: &Database) {
    let mut rng = rng();
    let alice = user(db, &mut rng, "alice").await;
    let bob = user(db, &mut rng, "bob").await;
    let app = client(&mut rng, None);
    let mut repo = db.begin().await.unwrap();
    repo.oauth2_clients().add(&app).await.unwrap();

    let first = repo
        .browser_sessions()
        .add(new_ulid(now(), &mut rng), &alice, Some("Firefox"), now())
        .await
        .unwrap();
    let ended = repo
        .browser_sessions()
        .add(new_ulid(now(), &mut rng), &alice, None, now())
        .await
        .unwrap();
    repo.browser_sessions()
        .finish(ended.id, now())
        .await
        .unwrap();
    repo.browser_sessions()
        .add(new_ulid(now(), &mut rng), &bob, None, now())
        .await
        .unwrap();
    assert_eq!(
        repo.browser_sessions()
            .active_of_user(alice.id)
            .await
            .unwrap(),
        vec![first]
    );

    let mine = session(&mut rng, &app, Some(&alice));
    let done = session(&mut rng, &app, Some(&alice));
    let theirs = session(&mut rng, &app, Some(&bob));
    for s in [&mine, &done, &theirs] {
        repo.oauth2_sessions().add(s).await.unwrap();
    }
    repo.oauth2_sessions().finish(done.id, now()).await.unwrap();
    assert_eq!(
        repo.oauth2_sessions()
            .active_of_user(alice.id)
            .await
            .unwrap(),
        vec![mine]
    );
    repo.commit().await.unwrap();
}
crate::both!(active_sessions_of_a_user_only);

async fn imported_compat_sessions_keep_their_last_activity(db: &Database) {
    let mut rng = rng();
    let carol = user(db, &mut rng, "carol").await;
    let seen = now() - Duration::days(2);
    let id = new_ulid(now(), &mut rng);
    let batch = ImportBatch {
        sessions: vec![ImportSession {
            id,
            user_id: carol.id,
            device_id: Some("PHONE".into()),
            is_synapse_admin: false,
            human_name: Some("Phone".into()),
            user_agent: Some("Element Android".into()),
            last_active_at: Some(seen),
            last_active_ip: Some("192.0.2.7".into()),
        }],
        ..ImportBatch::default()
    };
    let mut repo = db.begin().await.unwrap();
    repo.syn2mas().write(&batch, now()).await.unwrap();
    let found = repo.compat_sessions().find(id).await.unwrap().unwrap();
    assert_eq!(found.last_active_at, Some(seen));
    assert_eq!(found.last_active_ip.as_deref(), Some("192.0.2.7"));
    assert_eq!(
        repo.compat_sessions().active(&carol, None).await.unwrap(),
        vec![found]
    );
    repo.commit().await.unwrap();
}
crate::both!(imported_compat_sessions_keep_their_last_activity);

async fn an_email_is_removed_only_by_its_owner(db: &Database) {
    let mut rng = rng();
    let dave = user(db, &mut rng, "dave").await;
    let erin = user(db, &mut rng, "erin").await;
    let mut repo = db.begin().await.unwrap();
    let home = repo
        .user_emails()
        .add(new_ulid(now(), &mut rng), &dave, "dave@example.com", now())
        .await
        .unwrap();
    let work = repo
        .user_emails()
        .add(new_ulid(now(), &mut rng), &dave, "dave@work.example", now())
        .await
        .unwrap();
    // Another user cannot remove it, and nothing changes.
    assert!(!repo.user_emails().remove(&erin, home.id).await.unwrap());
    assert_eq!(repo.user_emails().list(&dave).await.unwrap().len(), 2);
    assert!(repo.user_emails().remove(&dave, home.id).await.unwrap());
    assert!(!repo.user_emails().remove(&dave, home.id).await.unwrap());
    assert_eq!(repo.user_emails().list(&dave).await.unwrap(), vec![work]);
    repo.commit().await.unwrap();
}
crate::both!(an_email_is_removed_only_by_its_owner);
