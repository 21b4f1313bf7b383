//! The forms that change the account itself: lock and unlock, deactivate
//! (erasing or not) and reactivate, admin rights, the password; and what the console
//! refuses to do to the signed-in admin's own account.

use super::*;
use crate::passwords::{Algorithm, PasswordManager, Scheme};

#[tokio::test]
async fn locking_and_unlocking_tell_the_homeserver_and_are_logged() {
    let mut c = Console::new().await;
    let (response, logs) = logged(c.post_bob("lock", &[])).await;
    assert_eq!(
        see_other(&response),
        format!("{}?notice=locked", c.bob_page())
    );
    assert!(audited(&logs, "lock_user", "bob"), "{logs}");
    let bob_id = c.bob.id.to_string();
    let event = |action: &str| {
        (
            "user root".to_owned(),
            action.to_owned(),
            "user".to_owned(),
            bob_id.clone(),
        )
    };
    assert_eq!(c.events().await, [event("lock_user")]);
    assert!(c.user("bob").await.locked_at.is_some());
    assert_eq!(
        Browser::default()
            .log_in(&c.router, "bob", "builder")
            .await
            .status,
        403,
        "a locked user cannot sign in"
    );
    let page = c.page(&format!("{}?notice=locked", c.bob_page())).await;
    assert!(page.contains("The user was locked."));
    assert!(page.contains("data-status=\"locked\""), "{page}");
    assert!(page.contains("id=\"unlock\""));
    assert_eq!(c.jobs("provision-user").await.len(), 1);
    c.run_jobs().await;
    assert!(c.t.homeserver.user("bob").unwrap().locked);

    // Again: done already, nothing queued or logged.
    let (again, logs) = logged(c.post_bob("lock", &[])).await;
    assert!(see_other(&again).ends_with("?notice=locked"));
    assert!(!logs.contains("lock_user"), "{logs}");
    assert_eq!(c.events().await.len(), 1);
    assert_eq!(c.jobs("provision-user").await.len(), 1);

    let (response, logs) = logged(c.post_bob("unlock", &[])).await;
    assert!(see_other(&response).ends_with("?notice=unlocked"));
    assert!(audited(&logs, "unlock_user", "bob"), "{logs}");
    assert_eq!(c.events().await, [event("lock_user"), event("unlock_user")]);
    assert!(c.user("bob").await.locked_at.is_none());
    c.run_jobs().await;
    assert!(!c.t.homeserver.user("bob").unwrap().locked);
    assert_eq!(
        Browser::default()
            .log_in(&c.router, "bob", "builder")
            .await
            .status,
        303
    );
}

#[tokio::test]
async fn deactivating_signs_out_everywhere_and_erases_when_ticked() {
    let mut c = Console::new().await;
    let mut bob = Browser::default();
    assert_eq!(bob.log_in(&c.router, "bob", "builder").await.status, 303);
    let (response, logs) = logged(c.post_bob("deactivate", &[("erase", "on")])).await;
    assert!(see_other(&response).ends_with("?notice=deactivated"));
    assert!(audited(&logs, "deactivate_user", "bob"), "{logs}");
    let stored = c.user("bob").await;
    assert!(stored.deactivated_at.is_some() && stored.locked_at.is_some());
    let jobs = c.jobs("deactivate-user").await;
    assert_eq!(jobs.len(), 1);
    assert!(
        jobs[0].payload.contains("\"hs_erase\":true"),
        "{}",
        jobs[0].payload
    );
    // Bob's browser is signed out.
    let account = bob.get(&c.router, "/account/").await;
    assert_eq!(account.status, 303);
    let page = c.page(&c.bob_page()).await;
    assert!(page.contains("data-status=\"deactivated\""));
    assert!(!page.contains("id=\"deactivate\""), "not offered again");
    // Reactivated: back, but still locked until unlocked.
    assert!(page.contains("id=\"reactivate\""));
    let (response, logs) = logged(c.post_bob("reactivate", &[])).await;
    assert!(see_other(&response).ends_with("?notice=reactivated"));
    assert!(audited(&logs, "reactivate_user", "bob"), "{logs}");
    let stored = c.user("bob").await;
    assert!(stored.deactivated_at.is_none() && stored.locked_at.is_some());
    assert_eq!(c.jobs("reactivate-user").await.len(), 1);
    let page = c.page(&c.bob_page()).await;
    assert!(page.contains("data-status=\"locked\"") && page.contains("id=\"unlock\""));

    // Without the box: the homeserver keeps the data.
    let carol = add_user(&c.t.state, "carol", "carolpass").await;
    let page = format!("/admin/users/{}", carol.id);
    let response = c.post_from(&page, &format!("{page}/deactivate"), &[]).await;
    assert!(see_other(&response).ends_with("?notice=deactivated"));
    let jobs = c.jobs("deactivate-user").await;
    assert_eq!(jobs.len(), 2);
    let carols = jobs
        .iter()
        .find(|j| j.payload.contains(&carol.id.to_string()))
        .unwrap();
    assert!(
        carols.payload.contains("\"hs_erase\":false"),
        "{}",
        carols.payload
    );
}

#[tokio::test]
async fn admin_rights_are_allowed_and_forbidden() {
    let mut c = Console::new().await;
    let (response, logs) = logged(c.post_bob("admin-rights", &[("admin", "allow")])).await;
    assert!(see_other(&response).ends_with("?notice=admin_allowed"));
    assert!(audited(&logs, "promote_admin", "bob"), "{logs}");
    assert!(c.user("bob").await.can_request_admin);
    let (response, logs) = logged(c.post_bob("admin-rights", &[("admin", "forbid")])).await;
    assert!(see_other(&response).ends_with("?notice=admin_forbidden"));
    assert!(audited(&logs, "demote_admin", "bob"), "{logs}");
    assert!(!c.user("bob").await.can_request_admin);
    let odd = c.post_bob("admin-rights", &[("admin", "maybe")]).await;
    assert_eq!(odd.status, 400, "{}", odd.body);
    assert!(!c.user("bob").await.can_request_admin);
}

#[tokio::test]
async fn the_signed_in_admin_cannot_lock_themself_out() {
    let mut c = Console::new().await;
    let own = format!("/admin/users/{}", c.root.id);
    let page = c.page(&own).await;
    assert!(page.contains("This is your own account"), "{page}");
    for selector in ["id=\"lock\"", "id=\"deactivate\"", "id=\"admin-rights\""] {
        assert!(!page.contains(selector), "{selector} is offered");
    }
    for (action, form) in [
        ("lock", vec![]),
        ("deactivate", vec![]),
        ("admin-rights", vec![("admin", "forbid")]),
    ] {
        let response = c.post_from(&own, &format!("{own}/{action}"), &form).await;
        assert_eq!(response.status, 400, "{action}: {}", response.body);
        assert!(response.body.contains("Not on your own account"));
    }
    let root = c.user("root").await;
    assert!(root.can_request_admin && root.locked_at.is_none() && root.deactivated_at.is_none());
    assert!(c.jobs("provision-user").await.is_empty());
}

/// Passwords that need a zxcvbn score of 3.
fn demanding(t: &mut TestState) {
    let scheme = Scheme {
        version: 1,
        algorithm: Algorithm::Bcrypt,
        cost: Some(4),
        pepper: None,
        unicode_normalization: false,
    };
    t.state.passwords = Some(PasswordManager::new(vec![scheme], 3, 2));
}

#[tokio::test]
async fn a_password_is_set_with_the_strength_check_unless_skipped() {
    let mut c = Console::with(demanding).await;
    let weak = c.post_bob("password", &[("password", "password1")]).await;
    assert_eq!(weak.status, 400);
    assert!(weak.body.contains("too easy to guess"), "{}", weak.body);
    let empty = c.post_bob("password", &[("password", "")]).await;
    assert_eq!(empty.status, 400);
    assert!(empty.body.contains("Type the new password."));
    let router = c.router.clone();
    let log_in = move |password: &'static str| {
        let router = router.clone();
        async move {
            Browser::default()
                .log_in(&router, "bob", password)
                .await
                .status
        }
    };
    assert_eq!(log_in("builder").await, 303, "refusals changed nothing");

    // Passwords are ordered by time: each new one a second later.
    c.t.clock.advance(chrono::Duration::seconds(1));
    let (response, logs) =
        logged(c.post_bob("password", &[("password", "violet harbour lantern 7")])).await;
    assert!(see_other(&response).ends_with("?notice=password_set"));
    assert!(audited(&logs, "set_password", "bob"), "{logs}");
    assert_eq!(log_in("violet harbour lantern 7").await, 303);
    assert_ne!(log_in("builder").await, 303, "the old password is gone");

    c.t.clock.advance(chrono::Duration::seconds(1));
    let skipped = c
        .post_bob(
            "password",
            &[("password", "password1"), ("skip_password_check", "on")],
        )
        .await;
    assert!(see_other(&skipped).ends_with("?notice=password_set"));
    assert_eq!(log_in("password1").await, 303);
}

#[tokio::test]
async fn without_passwords_the_form_is_not_offered_and_refused() {
    let mut c = Console::new().await;
    // Root signed in with a password; then the server stops using them.
    let router = {
        let mut state = c.t.state.clone();
        state.passwords = None;
        crate::test_support::router_for(&state, "")
    };
    c.router = router;
    let page = c.page(&c.bob_page()).await;
    assert!(!page.contains("id=\"set-password\""));
    let response = c
        .post_bob("password", &[("password", "violet harbour lantern 7")])
        .await;
    assert_eq!(response.status, 400, "{}", response.body);
    assert!(response.body.contains("Passwords are off"));
}
