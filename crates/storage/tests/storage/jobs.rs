//! The job queue table.

use chrono::Duration;
use mxauth_storage::{new_ulid, Database};

use crate::harness::{now, rng};

async fn jobs_are_queued_in_order(db: &Database) {
    let mut rng = rng();
    let mut repo = db.begin().await.unwrap();
    let first = repo
        .enqueue_job(
            new_ulid(now(), &mut rng),
            "provision-user",
            r#"{"user_id":"a"}"#,
            now(),
        )
        .await
        .unwrap();
    let later = now() + Duration::seconds(1);
    let second = repo
        .enqueue_job(
            new_ulid(later, &mut rng),
            "provision-user",
            r#"{"user_id":"b"}"#,
            later,
        )
        .await
        .unwrap();
    repo.enqueue_job(new_ulid(later, &mut rng), "sync-devices", "{}", later)
        .await
        .unwrap();
    repo.commit().await.unwrap();

    let mut repo = db.begin().await.unwrap();
    let jobs = repo.list_jobs("provision-user").await.unwrap();
    assert_eq!(jobs, vec![first, second]);
    assert_eq!(jobs[0].status, "available");
    assert_eq!(jobs[0].attempt, 0);
    assert!(repo.list_jobs("nothing").await.unwrap().is_empty());
}
crate::both!(jobs_are_queued_in_order);
