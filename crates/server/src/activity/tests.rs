//! The tracker on SQLite: uses are written on flush, only forward in time,
//! keeping the last known IP; the map stays bounded.

use chrono::Duration;
use mxauth_model::Clock;

use super::*;
use crate::{
    ops,
    test_support::{add_user, test_state},
};

#[tokio::test]
async fn uses_are_written_on_flush_forward_in_time_with_the_last_known_ip() {
    let t = test_state().await;
    let alice = add_user(&t.state, "alice", "wonderland").await;
    let mut repo = t.state.db.begin().await.unwrap();
    let session = ops::sessions::start_browser(&mut repo, (&t.state).into(), &alice, None, None)
        .await
        .unwrap();
    repo.commit().await.unwrap();
    let tracker = ActivityTracker::default();
    let now = t.clock.now();
    let ip: IpAddr = "192.0.2.1".parse().unwrap();
    tracker.record(SessionKind::Browser, session.id, now, Some(ip));
    // A later use without an IP keeps the IP; the time moves on.
    tracker.record(
        SessionKind::Browser,
        session.id,
        now + Duration::seconds(5),
        None,
    );
    assert_eq!(tracker.pending(), 1);
    assert_eq!(tracker.flush(&t.state.db).await.unwrap(), 1);
    assert_eq!(tracker.pending(), 0);
    let stored = |db: Database| async move {
        let mut repo = db.read().await.unwrap();
        repo.browser_sessions()
            .find(session.id)
            .await
            .unwrap()
            .unwrap()
    };
    let seen = stored(t.state.db.clone()).await;
    assert_eq!(seen.last_active_at, Some(now + Duration::seconds(5)));
    assert_eq!(seen.last_active_ip.as_deref(), Some("192.0.2.1"));

    // An older time (a late flush of another process) changes nothing.
    tracker.record(
        SessionKind::Browser,
        session.id,
        now,
        Some("192.0.2.9".parse().unwrap()),
    );
    tracker.flush(&t.state.db).await.unwrap();
    let seen = stored(t.state.db.clone()).await;
    assert_eq!(seen.last_active_at, Some(now + Duration::seconds(5)));
    assert_eq!(seen.last_active_ip.as_deref(), Some("192.0.2.1"));
}

#[test]
fn the_map_is_bounded() {
    let tracker = ActivityTracker::default();
    let now = chrono::DateTime::UNIX_EPOCH;
    for i in 0..(MAX_PENDING as u128 + 10) {
        tracker.record(SessionKind::OAuth2, Ulid(i), now, None);
    }
    assert_eq!(tracker.pending(), MAX_PENDING);
    // A session already in the map is still updated.
    tracker.record(
        SessionKind::OAuth2,
        Ulid(0),
        now + Duration::seconds(1),
        None,
    );
    assert_eq!(tracker.pending(), MAX_PENDING);
}
