//! Users, their passwords and their emails.

use chrono::Duration;
use mxauth_storage::{new_ulid, Database, NewPassword, StorageError};

use crate::harness::{now, rng};

async fn add_and_find_user(db: &Database) {
    let mut rng = rng();
    let mut repo = db.begin().await.unwrap();
    let id = new_ulid(now(), &mut rng);
    let alice = repo.users().add(id, "alice", now()).await.unwrap();
    repo.commit().await.unwrap();

    let mut repo = db.begin().await.unwrap();
    assert_eq!(
        repo.users().find_by_id(id).await.unwrap(),
        Some(alice.clone())
    );
    assert_eq!(
        repo.users().find_by_username("alice").await.unwrap(),
        Some(alice.clone())
    );
    assert_eq!(repo.users().find_by_username("bob").await.unwrap(), None);
    assert_eq!(repo.users().find_by_username("ALICE").await.unwrap(), None);
    assert_eq!(repo.users().count().await.unwrap(), 1);
    assert!(alice.is_valid() && !alice.can_request_admin);
}
crate::both!(add_and_find_user);

async fn users_found_ignoring_case(db: &Database) {
    let mut rng = rng();
    let mut repo = db.begin().await.unwrap();
    let legacy = repo
        .users()
        .add(new_ulid(now(), &mut rng), "Alice", now())
        .await
        .unwrap();
    repo.commit().await.unwrap();

    let mut repo = db.read().await.unwrap();
    for typed in ["alice", "ALICE", "Alice"] {
        assert_eq!(
            repo.users()
                .find_by_username_ignoring_case(typed)
                .await
                .unwrap(),
            vec![legacy.clone()],
            "{typed}"
        );
    }
    assert!(repo
        .users()
        .find_by_username_ignoring_case("bob")
        .await
        .unwrap()
        .is_empty());
    drop(repo);

    let mut repo = db.begin().await.unwrap();
    let lower = repo
        .users()
        .add(new_ulid(now(), &mut rng), "alice", now())
        .await
        .unwrap();
    repo.commit().await.unwrap();
    let mut repo = db.read().await.unwrap();
    let both = repo
        .users()
        .find_by_username_ignoring_case("aLiCe")
        .await
        .unwrap();
    assert_eq!(both.len(), 2);
    assert!(both.contains(&legacy) && both.contains(&lower));
}
crate::both!(users_found_ignoring_case);

async fn a_taken_username_is_a_conflict_and_changes_nothing(db: &Database) {
    let mut rng = rng();
    let mut repo = db.begin().await.unwrap();
    repo.users()
        .add(new_ulid(now(), &mut rng), "alice", now())
        .await
        .unwrap();
    repo.commit().await.unwrap();

    let mut repo = db.begin().await.unwrap();
    let err = repo
        .users()
        .add(new_ulid(now(), &mut rng), "alice", now())
        .await
        .unwrap_err();
    assert!(matches!(err, StorageError::Conflict(_)), "{err}");
    assert_eq!(err.to_string(), "a user with this username already exists");
    repo.rollback().await.unwrap();

    let mut repo = db.begin().await.unwrap();
    assert_eq!(repo.users().count().await.unwrap(), 1);
}
crate::both!(a_taken_username_is_a_conflict_and_changes_nothing);

async fn lock_unlock_deactivate_reactivate(db: &Database) {
    let mut rng = rng();
    let mut repo = db.begin().await.unwrap();
    let user = repo
        .users()
        .add(new_ulid(now(), &mut rng), "carol", now())
        .await
        .unwrap();
    let later = now() + Duration::minutes(5);
    let user = repo.users().lock(user, later).await.unwrap();
    // Locking again keeps the first lock time.
    let user = repo
        .users()
        .lock(user, later + Duration::hours(1))
        .await
        .unwrap();
    let stored = repo.users().find_by_id(user.id).await.unwrap().unwrap();
    assert_eq!(stored.locked_at, Some(later));
    assert!(!stored.is_valid());

    let user = repo.users().unlock(user).await.unwrap();
    let user = repo.users().deactivate(user, later).await.unwrap();
    let stored = repo.users().find_by_id(user.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.locked_at, stored.deactivated_at),
        (None, Some(later))
    );

    let user = repo.users().reactivate(user).await.unwrap();
    let stored = repo.users().find_by_id(user.id).await.unwrap().unwrap();
    assert!(stored.is_valid());
    assert_eq!(stored, user);
}
crate::both!(lock_unlock_deactivate_reactivate);

async fn admin_flag_and_admin_list(db: &Database) {
    let mut rng = rng();
    let mut repo = db.begin().await.unwrap();
    let a = repo
        .users()
        .add(new_ulid(now(), &mut rng), "a", now())
        .await
        .unwrap();
    let b = repo
        .users()
        .add(new_ulid(now(), &mut rng), "b", now())
        .await
        .unwrap();
    assert!(repo.users().list_admins().await.unwrap().is_empty());
    let a = repo.users().set_can_request_admin(a, true).await.unwrap();
    let b = repo.users().set_can_request_admin(b, true).await.unwrap();
    let b = repo.users().set_can_request_admin(b, false).await.unwrap();
    assert_eq!(repo.users().list_admins().await.unwrap(), vec![a.clone()]);
    assert!(
        !repo
            .users()
            .find_by_id(b.id)
            .await
            .unwrap()
            .unwrap()
            .can_request_admin
    );
}
crate::both!(admin_flag_and_admin_list);

async fn newest_password_is_active(db: &Database) {
    let mut rng = rng();
    let mut repo = db.begin().await.unwrap();
    let user = repo
        .users()
        .add(new_ulid(now(), &mut rng), "dave", now())
        .await
        .unwrap();
    assert_eq!(repo.user_passwords().active(&user).await.unwrap(), None);
    let old = repo
        .user_passwords()
        .add(
            &user,
            NewPassword {
                id: new_ulid(now(), &mut rng),
                hashed_password: "$2b$12$old",
                version: 1,
                upgraded_from: None,
            },
            now(),
        )
        .await
        .unwrap();
    let later = now() + Duration::seconds(1);
    let new = repo
        .user_passwords()
        .add(
            &user,
            NewPassword {
                id: new_ulid(later, &mut rng),
                hashed_password: "$argon2id$new",
                version: 2,
                upgraded_from: Some(&old),
            },
            later,
        )
        .await
        .unwrap();
    let active = repo.user_passwords().active(&user).await.unwrap().unwrap();
    assert_eq!(active, new);
    assert_eq!(active.version, 2);
    assert_eq!(active.upgraded_from_id, Some(old.id));
}
crate::both!(newest_password_is_active);

async fn emails_are_per_user_and_case_insensitive(db: &Database) {
    let mut rng = rng();
    let mut repo = db.begin().await.unwrap();
    let user = repo
        .users()
        .add(new_ulid(now(), &mut rng), "erin", now())
        .await
        .unwrap();
    let other = repo
        .users()
        .add(new_ulid(now(), &mut rng), "frank", now())
        .await
        .unwrap();
    let email = repo
        .user_emails()
        .add(new_ulid(now(), &mut rng), &user, "Erin@Example.com", now())
        .await
        .unwrap();
    assert_eq!(
        repo.user_emails()
            .find(&user, "erin@example.COM")
            .await
            .unwrap(),
        Some(email.clone())
    );
    assert_eq!(
        repo.user_emails()
            .find(&other, "erin@example.com")
            .await
            .unwrap(),
        None
    );
    // Another user may have the same address (MAS allows it too).
    repo.user_emails()
        .add(new_ulid(now(), &mut rng), &other, "erin@example.com", now())
        .await
        .unwrap();
    assert_eq!(repo.user_emails().list(&user).await.unwrap(), vec![email]);
    repo.commit().await.unwrap();

    let mut repo = db.begin().await.unwrap();
    let err = repo
        .user_emails()
        .add(new_ulid(now(), &mut rng), &user, "erin@EXAMPLE.com", now())
        .await
        .unwrap_err();
    assert!(matches!(err, StorageError::Conflict(_)), "{err}");
}
crate::both!(emails_are_per_user_and_case_insensitive);

async fn read_handles_see_committed_data_without_a_transaction(db: &Database) {
    let mut rng = rng();
    let mut writer = db.begin().await.unwrap();
    let id = new_ulid(now(), &mut rng);
    writer.users().add(id, "reader", now()).await.unwrap();
    // Not committed yet: a read handle does not see it.
    let mut reader = db.read().await.unwrap();
    assert_eq!(reader.users().find_by_id(id).await.unwrap(), None);
    writer.commit().await.unwrap();
    assert!(reader.users().find_by_id(id).await.unwrap().is_some());
    drop(reader);
}
crate::both!(read_handles_see_committed_data_without_a_transaction);

/// SQLite writers of one process queue on the write lock, in order.
#[tokio::test]
async fn sqlite_writers_wait_for_each_other_in_process() {
    let t = crate::harness::TestDb::sqlite().await;
    let first = t.db.begin().await.unwrap();
    let db = t.db.clone();
    let second = tokio::spawn(async move {
        let mut repo = db.begin().await.unwrap();
        repo.users().count().await.unwrap()
    });
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(
        !second.is_finished(),
        "the second writer must wait for the first"
    );
    first.commit().await.unwrap();
    assert_eq!(
        tokio::time::timeout(std::time::Duration::from_secs(5), second)
            .await
            .unwrap()
            .unwrap(),
        0
    );
    // Readers never wait.
    let _writer = t.db.begin().await.unwrap();
    let mut reader = t.db.read().await.unwrap();
    assert_eq!(reader.users().count().await.unwrap(), 0);
}
