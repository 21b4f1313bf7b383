//! Email authentications and their codes.

use chrono::Duration;
use mxauth_model::{EmailAuthentication, EmailAuthenticationCode, EMAIL_CODE_LIFETIME};
use mxauth_storage::{new_ulid, Database, StorageError};
use ulid::Ulid;

use crate::harness::{now, rng};

fn code(authentication_id: Ulid, id: Ulid, digest: &str, minutes: i64) -> EmailAuthenticationCode {
    let created = now() + Duration::minutes(minutes);
    EmailAuthenticationCode {
        id,
        authentication_id,
        code_digest: digest.into(),
        created_at: created,
        expires_at: created + EMAIL_CODE_LIFETIME,
        consumed_at: None,
    }
}

async fn authentications_with_and_without_a_user(db: &Database) {
    let mut rng = rng();
    let mut repo = db.begin().await.unwrap();
    let alice = repo
        .users()
        .add(new_ulid(now(), &mut rng), "alice", now())
        .await
        .unwrap();
    let for_alice = EmailAuthentication {
        id: new_ulid(now(), &mut rng),
        user_id: Some(alice.id),
        email: "Alice@Example.com".into(),
        created_at: now(),
        completed_at: None,
    };
    // A registration: no account yet.
    let anonymous = EmailAuthentication {
        id: new_ulid(now(), &mut rng),
        user_id: None,
        email: "new@example.com".into(),
        created_at: now(),
        completed_at: None,
    };
    repo.email_authentications().add(&for_alice).await.unwrap();
    repo.email_authentications().add(&anonymous).await.unwrap();
    // The same id twice is a conflict.
    let err = repo
        .email_authentications()
        .add(&anonymous)
        .await
        .unwrap_err();
    assert!(matches!(err, StorageError::Conflict(_)), "{err}");
    repo.rollback().await.unwrap();

    let mut repo = db.begin().await.unwrap();
    repo.users().add(alice.id, "alice", now()).await.unwrap();
    repo.email_authentications().add(&for_alice).await.unwrap();
    repo.email_authentications().add(&anonymous).await.unwrap();
    repo.commit().await.unwrap();

    let mut read = db.read().await.unwrap();
    let found = read
        .email_authentications()
        .find(for_alice.id)
        .await
        .unwrap();
    assert_eq!(found, Some(for_alice.clone()));
    let found = read
        .email_authentications()
        .find(anonymous.id)
        .await
        .unwrap();
    assert_eq!(found, Some(anonymous.clone()));
    let missing = new_ulid(now(), &mut rng);
    assert_eq!(
        read.email_authentications().find(missing).await.unwrap(),
        None
    );
    assert!(read
        .email_authentications()
        .codes(missing)
        .await
        .unwrap()
        .is_empty());
}
crate::both!(authentications_with_and_without_a_user);

async fn codes_are_listed_consumed_once_and_completion_happens_once(db: &Database) {
    let mut rng = rng();
    let authentication = EmailAuthentication {
        id: new_ulid(now(), &mut rng),
        user_id: None,
        email: "bob@example.com".into(),
        created_at: now(),
        completed_at: None,
    };
    let first = code(authentication.id, new_ulid(now(), &mut rng), "digest-1", 0);
    let later = now() + Duration::minutes(2);
    let second = code(authentication.id, new_ulid(later, &mut rng), "digest-2", 2);
    let mut repo = db.begin().await.unwrap();
    repo.email_authentications()
        .add(&authentication)
        .await
        .unwrap();
    repo.email_authentications()
        .add_code(&second)
        .await
        .unwrap();
    repo.email_authentications().add_code(&first).await.unwrap();
    repo.commit().await.unwrap();

    let mut repo = db.begin().await.unwrap();
    let codes = repo
        .email_authentications()
        .codes(authentication.id)
        .await
        .unwrap();
    assert_eq!(codes, vec![first.clone(), second.clone()], "oldest first");

    let used_at = now() + Duration::minutes(3);
    assert!(repo
        .email_authentications()
        .consume_code(second.id, used_at)
        .await
        .unwrap());
    assert!(
        !repo
            .email_authentications()
            .consume_code(second.id, used_at + Duration::seconds(1))
            .await
            .unwrap(),
        "a code is consumed once"
    );
    assert!(repo
        .email_authentications()
        .complete(authentication.id, used_at)
        .await
        .unwrap());
    assert!(!repo
        .email_authentications()
        .complete(authentication.id, used_at + Duration::seconds(1))
        .await
        .unwrap());
    repo.commit().await.unwrap();

    let mut read = db.read().await.unwrap();
    let stored = read
        .email_authentications()
        .find(authentication.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.completed_at, Some(used_at));
    let codes = read
        .email_authentications()
        .codes(authentication.id)
        .await
        .unwrap();
    assert_eq!(codes[0].consumed_at, None);
    assert_eq!(codes[1].consumed_at, Some(used_at));
    assert_eq!(codes[1].expires_at, later + EMAIL_CODE_LIFETIME);
}
crate::both!(codes_are_listed_consumed_once_and_completion_happens_once);

async fn old_authentications_are_removed_with_their_codes(db: &Database) {
    let mut rng = rng();
    let mut repo = db.begin().await.unwrap();
    let mut ids = Vec::new();
    for (days, email) in [(-8, "old@example.com"), (0, "new@example.com")] {
        let created = now() + Duration::days(days);
        let authentication = EmailAuthentication {
            id: new_ulid(created, &mut rng),
            user_id: None,
            email: email.into(),
            created_at: created,
            completed_at: None,
        };
        repo.email_authentications()
            .add(&authentication)
            .await
            .unwrap();
        let c = EmailAuthenticationCode {
            created_at: created,
            expires_at: created + EMAIL_CODE_LIFETIME,
            ..code(authentication.id, new_ulid(created, &mut rng), email, 0)
        };
        repo.email_authentications().add_code(&c).await.unwrap();
        ids.push(authentication.id);
    }
    let removed = repo
        .email_authentications()
        .remove_created_before(now() - Duration::days(7))
        .await
        .unwrap();
    assert_eq!(removed, 1);
    repo.commit().await.unwrap();

    let mut read = db.read().await.unwrap();
    assert_eq!(
        read.email_authentications().find(ids[0]).await.unwrap(),
        None
    );
    assert!(read
        .email_authentications()
        .codes(ids[0])
        .await
        .unwrap()
        .is_empty());
    assert!(read
        .email_authentications()
        .find(ids[1])
        .await
        .unwrap()
        .is_some());
    assert_eq!(
        read.email_authentications()
            .codes(ids[1])
            .await
            .unwrap()
            .len(),
        1
    );
}
crate::both!(old_authentications_are_removed_with_their_codes);
