//! The cache's rules without a database: hits, invalidation by token,
//! session and user, the race between a lookup and an invalidation, the
//! listener being down, and the wire format.

use chrono::{TimeZone, Utc};
use mxauth_model::{
    oauth2::{AccessToken, Session},
    Scope, User,
};
use ulid::Ulid;

use super::{wire, CachedLookup, Invalidation, TokenCache, MAX_ENTRIES};

fn lookup() -> CachedLookup {
    let at = Utc.timestamp_opt(1_700_000_000, 0).single().expect("time");
    let user = User {
        id: Ulid::new(),
        username: "alice".into(),
        created_at: at,
        locked_at: None,
        deactivated_at: None,
        can_request_admin: false,
        is_guest: false,
    };
    let session = Session {
        id: Ulid::new(),
        client_id: Ulid::new(),
        user_id: Some(user.id),
        browser_session_id: None,
        scope: Scope::default(),
        user_agent: None,
        last_active_at: None,
        last_active_ip: None,
        human_name: None,
        created_at: at,
        finished_at: None,
    };
    let token = AccessToken {
        id: Ulid::new(),
        session_id: session.id,
        created_at: at,
        expires_at: None,
        revoked_at: None,
        first_used_at: Some(at),
    };
    CachedLookup::OAuth2(token, session, Some(user))
}

fn ids(value: &CachedLookup) -> (Ulid, Ulid, Ulid) {
    match value {
        CachedLookup::OAuth2(t, s, Some(u)) => (t.id, s.id, u.id),
        _ => unreachable!("the test lookups have a user"),
    }
}

fn live_cache() -> TokenCache {
    let cache = TokenCache::default();
    cache.set_live(true);
    cache
}

#[test]
fn a_stored_lookup_is_served_until_its_token_session_or_user_changes() {
    for which in 0..3 {
        let cache = live_cache();
        let value = lookup();
        let (token, session, user) = ids(&value);
        cache.insert("digest", value, cache.ticket());
        assert!(cache.get("digest").is_some(), "a fresh entry is served");
        assert!(cache.get("other").is_none());
        let changed = [token, session, user][which];
        cache.invalidate(&[Invalidation::Row(Ulid::new())]);
        assert!(
            cache.get("digest").is_some(),
            "an unrelated row changes nothing"
        );
        cache.invalidate(&[Invalidation::Row(changed)]);
        assert!(
            cache.get("digest").is_none(),
            "row {which} changed: not served"
        );
        // Read again from the database after the change: served again.
        cache.insert(
            "digest",
            lookup_with_ids(token, session, user),
            cache.ticket(),
        );
        assert!(cache.get("digest").is_some());
    }
}

fn lookup_with_ids(token: Ulid, session: Ulid, user: Ulid) -> CachedLookup {
    let CachedLookup::OAuth2(mut t, mut s, Some(mut u)) = lookup() else {
        unreachable!()
    };
    (t.id, s.id, u.id) = (token, session, user);
    t.session_id = session;
    s.user_id = Some(user);
    CachedLookup::OAuth2(t, s, Some(u))
}

#[test]
fn a_lookup_that_raced_with_an_invalidation_is_not_stored() {
    let cache = live_cache();
    let value = lookup();
    let (_, session, _) = ids(&value);
    // The lookup reads the database, then the session ends and its
    // invalidation lands, then the lookup's (stale) result arrives.
    let ticket = cache.ticket();
    cache.invalidate(&[Invalidation::Row(session)]);
    cache.insert("digest", value, ticket);
    assert!(cache.get("digest").is_none());
    assert!(cache.is_empty(), "nothing stored");
}

#[test]
fn everything_goes_on_all_and_when_the_listener_is_down() {
    let cache = live_cache();
    cache.insert("a", lookup(), cache.ticket());
    let before_clear = cache.ticket();
    cache.invalidate(&[Invalidation::All]);
    assert!(cache.get("a").is_none());
    cache.insert("b", lookup(), before_clear);
    assert!(
        cache.get("b").is_none(),
        "read before the clear: not stored"
    );

    cache.insert("c", lookup(), cache.ticket());
    assert!(cache.get("c").is_some());
    cache.set_live(false);
    assert!(cache.get("c").is_none(), "not served while nobody listens");
    cache.insert("d", lookup(), cache.ticket());
    cache.set_live(true);
    assert!(cache.get("c").is_none() && cache.get("d").is_none());
    assert!(cache.is_empty(), "emptied when it went down and came back");
}

#[test]
fn the_cache_stays_bounded() {
    let cache = live_cache();
    for i in 0..MAX_ENTRIES + 10 {
        cache.insert(&i.to_string(), lookup(), cache.ticket());
    }
    assert!(cache.len() <= MAX_ENTRIES);
}

#[test]
fn payloads_round_trip_and_stay_under_postgres_limit() {
    let rows: Vec<Invalidation> = (0..600).map(|_| Invalidation::Row(Ulid::new())).collect();
    let payloads = wire::payloads(&rows, Some("#nonce:7"));
    assert_eq!(payloads.len(), 3);
    assert!(payloads.iter().all(|p| p.len() < 8000));
    let parsed: Vec<_> = payloads.iter().map(|p| wire::parse(p)).collect();
    let back: Vec<Invalidation> = parsed.iter().flat_map(|(i, _)| i.clone()).collect();
    assert_eq!(back, rows);
    let fences: Vec<&str> = parsed.iter().flat_map(|(_, f)| f.clone()).collect();
    assert_eq!(fences, ["#nonce:7"], "the fence travels once, last");
    assert_eq!(
        wire::payloads(&[rows[0], Invalidation::All], None),
        vec!["*"]
    );
    assert_eq!(wire::parse("*").0, vec![Invalidation::All]);
    assert_eq!(
        wire::parse("garbage #x:1"),
        (vec![Invalidation::All], vec!["#x:1"])
    );
    assert!(
        wire::payloads(&[], Some("#x:1")).is_empty(),
        "no change, no notification"
    );
}

#[tokio::test]
async fn a_fence_resolves_when_received_back_and_acknowledged_by_the_others() {
    let cache = live_cache();
    let (word, mut reached) = cache.fence(2).expect("live");
    assert!(!cache.is_foreign_fence(&word));
    assert!(cache.is_foreign_fence("#another-process:0"));
    cache.fence_progress("#another-process:0", true);
    cache.fence_progress(&word, false);
    cache.fence_progress(&word, true);
    assert!(
        reached.try_recv().is_err(),
        "one acknowledgement is missing"
    );
    cache.fence_progress(&word, true);
    tokio::time::timeout(std::time::Duration::from_secs(1), reached)
        .await
        .expect("resolved")
        .expect("sent");
    cache.set_live(false);
    assert!(cache.fence(0).is_none(), "no fence while nobody listens");
}
