//! Users, their passwords and their emails.

use chrono::Duration;
use mxauth_storage::{new_ulid, Database, NewPassword, StorageError};

use crate::harness::{now, rng};

async fn add_and_find_user(db: &Database) {
    let mut rng = rng();
    let mut repo = db.begin().await.unwrap();
    let id = new_ulid(now(), &mut rng);
    let alice = repo.add_user(id, "alice", now()).await.unwrap();
    repo.commit().await.unwrap();

    let mut repo = db.begin().await.unwrap();
    assert_eq!(repo.find_user_by_id(id).await.unwrap(), Some(alice.clone()));
    assert_eq!(
        repo.find_user_by_username("alice").await.unwrap(),
        Some(alice.clone())
    );
    assert_eq!(repo.find_user_by_username("bob").await.unwrap(), None);
    assert_eq!(repo.find_user_by_username("ALICE").await.unwrap(), None);
    assert_eq!(repo.count_users().await.unwrap(), 1);
    assert!(alice.is_valid() && !alice.can_request_admin);
}
crate::both!(add_and_find_user);

async fn users_found_ignoring_case(db: &Database) {
    let mut rng = rng();
    let mut repo = db.begin().await.unwrap();
    let legacy = repo
        .add_user(new_ulid(now(), &mut rng), "Alice", now())
        .await
        .unwrap();
    repo.commit().await.unwrap();

    let mut repo = db.read().await.unwrap();
    for typed in ["alice", "ALICE", "Alice"] {
        assert_eq!(
            repo.find_users_by_username_ignoring_case(typed)
                .await
                .unwrap(),
            vec![legacy.clone()],
            "{typed}"
        );
    }
    assert!(repo
        .find_users_by_username_ignoring_case("bob")
        .await
        .unwrap()
        .is_empty());
    repo.rollback().await.unwrap();

    let mut repo = db.begin().await.unwrap();
    let lower = repo
        .add_user(new_ulid(now(), &mut rng), "alice", now())
        .await
        .unwrap();
    repo.commit().await.unwrap();
    let mut repo = db.read().await.unwrap();
    let both = repo
        .find_users_by_username_ignoring_case("aLiCe")
        .await
        .unwrap();
    assert_eq!(both.len(), 2);
    assert!(both.contains(&legacy) && both.contains(&lower));
}
crate::both!(users_found_ignoring_case);

async fn a_taken_username_is_a_conflict_and_changes_nothing(db: &Database) {
    let mut rng = rng();
    let mut repo = db.begin().await.unwrap();
    repo.add_user(new_ulid(now(), &mut rng), "alice", now())
        .await
        .unwrap();
    repo.commit().await.unwrap();

    let mut repo = db.begin().await.unwrap();
    let err = repo
        .add_user(new_ulid(now(), &mut rng), "alice", now())
        .await
        .unwrap_err();
    assert!(matches!(err, StorageError::Conflict(_)), "{err}");
    assert_eq!(err.to_string(), "a user with this username already exists");
    repo.rollback().await.unwrap();

    let mut repo = db.begin().await.unwrap();
    assert_eq!(repo.count_users().await.unwrap(), 1);
}
crate::both!(a_taken_username_is_a_conflict_and_changes_nothing);

async fn lock_unlock_deactivate_reactivate(db: &Database) {
    let mut rng = rng();
    let mut repo = db.begin().await.unwrap();
    let user = repo
        .add_user(new_ulid(now(), &mut rng), "carol", now())
        .await
        .unwrap();
    let later = now() + Duration::minutes(5);
    let user = repo.lock_user(user, later).await.unwrap();
    // Locking again keeps the first lock time.
    let user = repo
        .lock_user(user, later + Duration::hours(1))
        .await
        .unwrap();
    let stored = repo.find_user_by_id(user.id).await.unwrap().unwrap();
    assert_eq!(stored.locked_at, Some(later));
    assert!(!stored.is_valid());

    let user = repo.unlock_user(user).await.unwrap();
    let user = repo.deactivate_user(user, later).await.unwrap();
    let stored = repo.find_user_by_id(user.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.locked_at, stored.deactivated_at),
        (None, Some(later))
    );

    let user = repo.reactivate_user(user).await.unwrap();
    let stored = repo.find_user_by_id(user.id).await.unwrap().unwrap();
    assert!(stored.is_valid());
    assert_eq!(stored, user);
}
crate::both!(lock_unlock_deactivate_reactivate);

async fn admin_flag_and_admin_list(db: &Database) {
    let mut rng = rng();
    let mut repo = db.begin().await.unwrap();
    let a = repo
        .add_user(new_ulid(now(), &mut rng), "a", now())
        .await
        .unwrap();
    let b = repo
        .add_user(new_ulid(now(), &mut rng), "b", now())
        .await
        .unwrap();
    assert!(repo.list_admin_users().await.unwrap().is_empty());
    let a = repo.set_can_request_admin(a, true).await.unwrap();
    let b = repo.set_can_request_admin(b, true).await.unwrap();
    let b = repo.set_can_request_admin(b, false).await.unwrap();
    assert_eq!(repo.list_admin_users().await.unwrap(), vec![a.clone()]);
    assert!(
        !repo
            .find_user_by_id(b.id)
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
        .add_user(new_ulid(now(), &mut rng), "dave", now())
        .await
        .unwrap();
    assert_eq!(repo.active_user_password(&user).await.unwrap(), None);
    let old = repo
        .add_user_password(
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
        .add_user_password(
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
    let active = repo.active_user_password(&user).await.unwrap().unwrap();
    assert_eq!(active, new);
    assert_eq!(active.version, 2);
    assert_eq!(active.upgraded_from_id, Some(old.id));
}
crate::both!(newest_password_is_active);

async fn emails_are_per_user_and_case_insensitive(db: &Database) {
    let mut rng = rng();
    let mut repo = db.begin().await.unwrap();
    let user = repo
        .add_user(new_ulid(now(), &mut rng), "erin", now())
        .await
        .unwrap();
    let other = repo
        .add_user(new_ulid(now(), &mut rng), "frank", now())
        .await
        .unwrap();
    let email = repo
        .add_user_email(new_ulid(now(), &mut rng), &user, "Erin@Example.com", now())
        .await
        .unwrap();
    assert_eq!(
        repo.find_user_email(&user, "erin@example.COM")
            .await
            .unwrap(),
        Some(email.clone())
    );
    assert_eq!(
        repo.find_user_email(&other, "erin@example.com")
            .await
            .unwrap(),
        None
    );
    // Another user may have the same address (MAS allows it too).
    repo.add_user_email(new_ulid(now(), &mut rng), &other, "erin@example.com", now())
        .await
        .unwrap();
    assert_eq!(repo.list_user_emails(&user).await.unwrap(), vec![email]);
    repo.commit().await.unwrap();

    let mut repo = db.begin().await.unwrap();
    let err = repo
        .add_user_email(new_ulid(now(), &mut rng), &user, "erin@EXAMPLE.com", now())
        .await
        .unwrap_err();
    assert!(matches!(err, StorageError::Conflict(_)), "{err}");
}
crate::both!(emails_are_per_user_and_case_insensitive);

async fn read_handles_see_committed_data_without_a_transaction(db: &Database) {
    let mut rng = rng();
    let mut writer = db.begin().await.unwrap();
    let id = new_ulid(now(), &mut rng);
    writer.add_user(id, "reader", now()).await.unwrap();
    // Not committed yet: a read handle does not see it.
    let mut reader = db.read().await.unwrap();
    assert_eq!(reader.find_user_by_id(id).await.unwrap(), None);
    writer.commit().await.unwrap();
    assert!(reader.find_user_by_id(id).await.unwrap().is_some());
    reader.rollback().await.unwrap();
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
        repo.count_users().await.unwrap()
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
    assert_eq!(reader.count_users().await.unwrap(), 0);
}
