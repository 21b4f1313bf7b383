//! The job queue table.

use chrono::Duration;
use mxauth_storage::{new_ulid, Database};

use crate::harness::{now, rng};

async fn jobs_are_queued_in_order(db: &Database) {
    let mut rng = rng();
    let mut repo = db.begin().await.unwrap();
    let first = repo
        .jobs()
        .enqueue(
            new_ulid(now(), &mut rng),
            "provision-user",
            r#"{"user_id":"a"}"#,
            now(),
        )
        .await
        .unwrap();
    let later = now() + Duration::seconds(1);
    let second = repo
        .jobs()
        .enqueue(
            new_ulid(later, &mut rng),
            "provision-user",
            r#"{"user_id":"b"}"#,
            later,
        )
        .await
        .unwrap();
    repo.jobs()
        .enqueue(new_ulid(later, &mut rng), "sync-devices", "{}", later)
        .await
        .unwrap();
    repo.commit().await.unwrap();

    let mut repo = db.begin().await.unwrap();
    let jobs = repo.jobs().list("provision-user").await.unwrap();
    assert_eq!(jobs, vec![first, second]);
    assert_eq!(jobs[0].status, "available");
    assert_eq!(jobs[0].attempt, 0);
    assert!(repo.jobs().list("nothing").await.unwrap().is_empty());
}
crate::both!(jobs_are_queued_in_order);

async fn claimed_jobs_run_once_and_failures_retry(db: &Database) {
    let mut rng = rng();
    let mut repo = db.begin().await.unwrap();
    let a = repo
        .jobs()
        .enqueue(new_ulid(now(), &mut rng), "provision-user", "{}", now())
        .await
        .unwrap();
    let later = now() + Duration::minutes(10);
    let b = repo
        .jobs()
        .enqueue(new_ulid(later, &mut rng), "provision-user", "{}", later)
        .await
        .unwrap();
    repo.commit().await.unwrap();

    // Only due jobs are claimed, and a claimed job is not claimed again.
    let mut repo = db.begin().await.unwrap();
    let claimed = repo.jobs().claim("w1", 10, now()).await.unwrap();
    assert_eq!(claimed.iter().map(|j| j.id).collect::<Vec<_>>(), vec![a.id]);
    assert_eq!(
        (claimed[0].status.as_str(), claimed[0].attempt),
        ("running", 1)
    );
    assert!(repo.jobs().claim("w2", 10, now()).await.unwrap().is_empty());
    let retry_at = now() + Duration::seconds(5);
    repo.jobs()
        .fail(a.id, "homeserver down", Some(retry_at), now())
        .await
        .unwrap();
    repo.commit().await.unwrap();

    let mut repo = db.begin().await.unwrap();
    assert!(repo.jobs().claim("w1", 10, now()).await.unwrap().is_empty());
    let again = repo.jobs().claim("w1", 10, retry_at).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempt, 2);
    assert_eq!(again[0].last_error.as_deref(), Some("homeserver down"));
    repo.jobs().complete(a.id, retry_at).await.unwrap();
    let both_due = repo.jobs().claim("w1", 10, later).await.unwrap();
    assert_eq!(
        both_due.iter().map(|j| j.id).collect::<Vec<_>>(),
        vec![b.id]
    );
    repo.jobs()
        .fail(b.id, "bad payload", None, later)
        .await
        .unwrap();
    let jobs = repo.jobs().list("provision-user").await.unwrap();
    assert_eq!(
        jobs.iter().map(|j| j.status.as_str()).collect::<Vec<_>>(),
        vec!["completed", "failed"]
    );
}
crate::both!(claimed_jobs_run_once_and_failures_retry);

async fn stale_running_jobs_are_requeued(db: &Database) {
    let mut rng = rng();
    let mut repo = db.begin().await.unwrap();
    let job = repo
        .jobs()
        .enqueue(new_ulid(now(), &mut rng), "sync-devices", "{}", now())
        .await
        .unwrap();
    repo.jobs().claim("dead-worker", 1, now()).await.unwrap();
    assert_eq!(repo.jobs().requeue_stale(now()).await.unwrap(), 0);
    assert_eq!(
        repo.jobs()
            .requeue_stale(now() + Duration::minutes(1))
            .await
            .unwrap(),
        1
    );
    let claimed = repo
        .jobs()
        .claim("w", 1, now() + Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(claimed[0].id, job.id);
}
crate::both!(stale_running_jobs_are_requeued);

/// A worker that renews its heartbeat keeps its jobs past the lease; the
/// heartbeat touches only its own running jobs.
async fn a_heartbeat_keeps_a_job_from_being_requeued(db: &Database) {
    let mut rng = rng();
    let mut repo = db.begin().await.unwrap();
    for _ in 0..2 {
        repo.jobs()
            .enqueue(new_ulid(now(), &mut rng), "sync-devices", "{}", now())
            .await
            .unwrap();
    }
    let alive = repo.jobs().claim("alive", 1, now()).await.unwrap();
    repo.jobs().claim("dead", 1, now()).await.unwrap();
    let later = now() + Duration::seconds(10);
    assert_eq!(repo.jobs().heartbeat("alive", later).await.unwrap(), 1);
    // The lease ran out for the dead worker's job only.
    assert_eq!(
        repo.jobs()
            .requeue_stale(now() + Duration::seconds(5))
            .await
            .unwrap(),
        1
    );
    let again = repo.jobs().claim("other", 2, later).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_ne!(again[0].id, alive[0].id);
    assert_eq!(
        repo.jobs()
            .requeue_stale(later + Duration::seconds(1))
            .await
            .unwrap(),
        2,
        "without heartbeats both running jobs are requeued"
    );
    repo.commit().await.unwrap();
}
crate::both!(a_heartbeat_keeps_a_job_from_being_requeued);

/// Two PostgreSQL transactions claiming at once split the jobs between them.
#[tokio::test]
async fn concurrent_workers_on_postgres_never_share_a_job() {
    let Some(t) = crate::harness::TestDb::postgres().await else {
        return;
    };
    let mut rng = rng();
    let mut repo = t.db.begin().await.unwrap();
    for _ in 0..20 {
        repo.jobs()
            .enqueue(new_ulid(now(), &mut rng), "provision-user", "{}", now())
            .await
            .unwrap();
    }
    repo.commit().await.unwrap();
    let mut first = t.db.begin().await.unwrap();
    let mut second = t.db.begin().await.unwrap();
    let a = first.jobs().claim("w1", 12, now()).await.unwrap();
    // The second worker does not wait for the first: it skips locked rows.
    let b = second.jobs().claim("w2", 12, now()).await.unwrap();
    assert_eq!(a.len(), 12);
    assert_eq!(b.len(), 8);
    assert!(a.iter().all(|x| b.iter().all(|y| x.id != y.id)));
    first.commit().await.unwrap();
    second.commit().await.unwrap();
    t.cleanup().await;
}
