//! The worker against a real SQLite database and the fake homeserver.

use std::sync::Arc;

use chrono::Duration;
use mxauth_model::{MockClock, OsRandom};
use serde_json::json;
use ulid::Ulid;

use super::*;
use crate::{homeserver::FakeHomeserver, test_support::test_state};

async fn setup() -> (JobContext, Arc<FakeHomeserver>, MockClock) {
    let t = test_state().await;
    (JobContext::from_state(&t.state), t.homeserver, t.clock)
}

/// Jobs of the kinds the tests queue, for a user id.
fn provision(user_id: Ulid) -> Job {
    ProvisionUser::new(user_id).into()
}

fn sync_devices(user_id: Ulid) -> Job {
    SyncDevices { user_id }.into()
}

fn reactivate(user_id: Ulid) -> Job {
    ReactivateUser { user_id }.into()
}

async fn user_with_job(ctx: &JobContext, job: impl FnOnce(Ulid) -> Job) -> mxauth_model::User {
    named_user_with_job(ctx, "alice", job).await
}

async fn named_user_with_job(
    ctx: &JobContext,
    username: &str,
    job: impl FnOnce(Ulid) -> Job,
) -> mxauth_model::User {
    let now = ctx.clock.now();
    let mut repo = ctx.db.begin().await.unwrap();
    let user = repo
        .users()
        .add(new_ulid(now, &mut OsRandom.rng()), username, now)
        .await
        .unwrap();
    repo.user_emails()
        .add(
            new_ulid(now, &mut OsRandom.rng()),
            &user,
            "alice@example.com",
            now,
        )
        .await
        .unwrap();
    enqueue(&mut repo, ctx.clock.as_ref(), &OsRandom, &job(user.id))
        .await
        .unwrap();
    repo.commit().await.unwrap();
    user
}

async fn statuses(ctx: &JobContext, queue: &str) -> Vec<(String, i64)> {
    let mut repo = ctx.db.begin().await.unwrap();
    let jobs = repo.jobs().list(queue).await.unwrap();
    jobs.into_iter().map(|j| (j.status, j.attempt)).collect()
}

#[tokio::test]
async fn provisioning_reaches_the_homeserver() {
    let (ctx, hs, _) = setup().await;
    user_with_job(&ctx, |user_id| {
        ProvisionUser {
            set_display_name: Some("Alice".into()),
            user_id,
        }
        .into()
    })
    .await;
    assert_eq!(run_batch(&ctx, "w").await.unwrap(), 1);
    let alice = hs.user("alice").expect("provisioned");
    assert_eq!(alice.display_name.as_deref(), Some("Alice"));
    assert_eq!(alice.emails, vec!["alice@example.com"]);
    assert_eq!(
        statuses(&ctx, ProvisionUser::QUEUE).await,
        vec![("completed".into(), 1)]
    );
    assert_eq!(
        run_batch(&ctx, "w").await.unwrap(),
        0,
        "a completed job does not run again"
    );
}

#[tokio::test]
async fn a_job_waits_for_the_homeserver_with_backoff() {
    let (ctx, hs, clock) = setup().await;
    hs.set_down(true);
    user_with_job(&ctx, provision).await;
    run_batch(&ctx, "w").await.unwrap();
    assert_eq!(
        statuses(&ctx, ProvisionUser::QUEUE).await,
        vec![("available".into(), 1)]
    );
    assert!(hs.user("alice").is_none());
    // Not due yet: nothing runs.
    clock.advance(Duration::seconds(4));
    assert_eq!(run_batch(&ctx, "w").await.unwrap(), 0);
    hs.set_down(false);
    clock.advance(Duration::seconds(1));
    assert_eq!(run_batch(&ctx, "w").await.unwrap(), 1);
    assert!(hs.user("alice").is_some());
    assert_eq!(
        statuses(&ctx, ProvisionUser::QUEUE).await,
        vec![("completed".into(), 2)]
    );
}

#[tokio::test]
async fn attempts_are_bounded() {
    let (ctx, hs, clock) = setup().await;
    hs.set_down(true);
    user_with_job(&ctx, reactivate).await;
    for _ in 0..MAX_ATTEMPTS {
        run_batch(&ctx, "w").await.unwrap();
        clock.advance(Duration::hours(2));
    }
    assert_eq!(
        statuses(&ctx, ReactivateUser::QUEUE).await,
        vec![("failed".into(), MAX_ATTEMPTS)]
    );
    assert_eq!(run_batch(&ctx, "w").await.unwrap(), 0);
}

#[tokio::test]
async fn a_permanent_refusal_fails_the_job_at_once() {
    let (ctx, hs, clock) = setup().await;
    // Synapse refuses to create `_svc` with 400 M_INVALID_USERNAME, and will
    // refuse it on every retry.
    named_user_with_job(&ctx, "_svc", provision).await;
    assert_eq!(run_batch(&ctx, "w").await.unwrap(), 1);
    assert!(hs.user("_svc").is_none());
    let mut repo = ctx.db.begin().await.unwrap();
    let jobs = repo.jobs().list(ProvisionUser::QUEUE).await.unwrap();
    assert_eq!((jobs[0].status.as_str(), jobs[0].attempt), ("failed", 1));
    let reason = jobs[0].last_error.as_deref().unwrap_or_default();
    assert!(
        reason.contains("user _svc") && reason.contains("M_INVALID_USERNAME"),
        "{reason}"
    );
    repo.rollback().await.unwrap();
    clock.advance(Duration::hours(2));
    assert_eq!(run_batch(&ctx, "w").await.unwrap(), 0, "not retried");
}

#[tokio::test]
async fn a_user_unknown_to_the_homeserver_is_retried() {
    // 404: the user's provisioning job has not run yet, so a device sync
    // waits for it instead of failing.
    let (ctx, hs, clock) = setup().await;
    let user = user_with_job(&ctx, sync_devices).await;
    run_batch(&ctx, "w").await.unwrap();
    assert_eq!(
        statuses(&ctx, SyncDevices::QUEUE).await,
        vec![("available".into(), 1)]
    );
    hs.provision_user(&crate::homeserver::ProvisionRequest {
        localpart: user.username,
        ..Default::default()
    })
    .await
    .unwrap();
    clock.advance(Duration::seconds(5));
    assert_eq!(run_batch(&ctx, "w").await.unwrap(), 1);
    assert_eq!(
        statuses(&ctx, SyncDevices::QUEUE).await,
        vec![("completed".into(), 2)]
    );
}

#[tokio::test]
async fn sync_devices_keeps_exactly_the_active_sessions_devices() {
    let (ctx, hs, _) = setup().await;
    let user = user_with_job(&ctx, provision).await;
    run_batch(&ctx, "w").await.unwrap();
    hs.upsert_device("alice", "STALEDEVICE", None)
        .await
        .unwrap();
    // One active OAuth session with a device, one finished.
    let now = ctx.clock.now();
    let mut repo = ctx.db.begin().await.unwrap();
    let client = crate::test_support::public_client(now);
    repo.oauth2_clients().add(&client).await.unwrap();
    for (device, finished) in [("LIVEDEVICE", false), ("GONEDEVICE", true)] {
        let session = mxauth_model::oauth2::Session {
            id: new_ulid(now, &mut OsRandom.rng()),
            client_id: client.id,
            user_id: Some(user.id),
            browser_session_id: None,
            scope: format!("urn:matrix:client:api:* urn:matrix:client:device:{device}")
                .parse()
                .unwrap(),
            user_agent: None,
            last_active_at: None,
            last_active_ip: None,
            human_name: None,
            created_at: now,
            finished_at: None,
        };
        repo.oauth2_sessions().add(&session).await.unwrap();
        if finished {
            repo.oauth2_sessions()
                .finish(session.id, now)
                .await
                .unwrap();
        }
    }
    enqueue(
        &mut repo,
        ctx.clock.as_ref(),
        &OsRandom,
        &sync_devices(user.id),
    )
    .await
    .unwrap();
    repo.commit().await.unwrap();
    run_batch(&ctx, "w").await.unwrap();
    let devices: Vec<String> = hs.user("alice").unwrap().devices.into_iter().collect();
    assert_eq!(devices, vec!["LIVEDEVICE"]);
}

#[tokio::test]
async fn bad_jobs_fail_for_good_at_once() {
    let (ctx, _, _) = setup().await;
    let mut repo = ctx.db.begin().await.unwrap();
    // What another version or a tool may have stored.
    let now = ctx.clock.now();
    for (queue, payload) in [
        ("no-such-queue", json!({"user_id": Ulid::nil()})),
        (ProvisionUser::QUEUE, json!({"nope": 1})),
    ] {
        repo.jobs()
            .enqueue(
                new_ulid(now, &mut OsRandom.rng()),
                queue,
                &payload.to_string(),
                now,
            )
            .await
            .unwrap();
    }
    repo.commit().await.unwrap();
    run_batch(&ctx, "w").await.unwrap();
    assert_eq!(
        statuses(&ctx, "no-such-queue").await,
        vec![("failed".into(), 1)]
    );
    assert_eq!(
        statuses(&ctx, ProvisionUser::QUEUE).await,
        vec![("failed".into(), 1)]
    );
}

#[test]
fn backoff_doubles_up_to_an_hour() {
    assert_eq!(backoff(1), Duration::seconds(5));
    assert_eq!(backoff(2), Duration::seconds(10));
    assert_eq!(backoff(4), Duration::seconds(40));
    assert_eq!(backoff(20), Duration::seconds(3600));
}
