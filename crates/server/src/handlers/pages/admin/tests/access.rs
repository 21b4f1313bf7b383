//! Who reaches the console: a signed-out browser is sent to log in and
//! back, a user without admin rights gets the 403 page (a form too),
//! forbidding admin rights takes effect on the next request, and a form
//! without its CSRF token is refused and changes nothing.

use super::*;
use crate::test_support::post_form;

#[tokio::test]
async fn a_signed_out_browser_is_sent_to_log_in_and_back() {
    let mut c = Console::new().await;
    let bob = c.bob.id;
    let mut anonymous = Browser::default();
    for (path, next) in [
        ("/admin".to_owned(), "%2Fadmin".to_owned()),
        (
            "/admin/registration-tokens".to_owned(),
            "%2Fadmin%2Fregistration-tokens".to_owned(),
        ),
        (
            format!("/admin/users/{bob}"),
            format!("%2Fadmin%2Fusers%2F{bob}"),
        ),
        // Not an id: back to the list, never to a path made of the input.
        ("/admin/users/..%2F..%2Fx".to_owned(), "%2Fadmin".to_owned()),
    ] {
        let response = anonymous.get(&c.router, &path).await;
        assert_eq!(
            see_other(&response),
            format!("/login?next={next}"),
            "{path}"
        );
    }
    // A form posted by a browser whose session ended: the login page too,
    // and nothing changes.
    let csrf = csrf_of(&c.page("/admin").await);
    let logout = c
        .browser
        .post(&c.router, "/logout", &[("csrf", &csrf)])
        .await;
    assert!(logout.status < 400, "{}", logout.body);
    let response = c
        .browser
        .post(
            &c.router,
            &format!("/admin/users/{bob}/lock"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(
        see_other(&response),
        format!("/login?next=%2Fadmin%2Fusers%2F{bob}")
    );
    assert!(c.user("bob").await.locked_at.is_none());

    // Signing in with that `next` lands on the page.
    let login = format!("/login?next=%2Fadmin%2Fusers%2F{bob}");
    let page = anonymous.get(&c.router, &login).await;
    let csrf = csrf_of(&page.body);
    let response = anonymous
        .post(
            &c.router,
            &login,
            &[
                ("csrf", &csrf),
                ("username", "root"),
                ("password", "rootpassword"),
                ("next", &format!("/admin/users/{bob}")),
            ],
        )
        .await;
    assert_eq!(see_other(&response), format!("/admin/users/{bob}"));
    let page = anonymous
        .get(&c.router, &format!("/admin/users/{bob}"))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
}

#[tokio::test]
async fn a_user_without_admin_rights_gets_403_and_changes_nothing() {
    let c = Console::new().await;
    let mut bob = Browser::default();
    assert_eq!(bob.log_in(&c.router, "bob", "builder").await.status, 303);
    let root = c.root.id;
    for path in [
        "/admin".to_owned(),
        "/admin/registration-tokens".to_owned(),
        format!("/admin/users/{root}"),
    ] {
        let page = bob.get(&c.router, &path).await;
        assert_eq!(page.status, 403, "{path}");
        assert!(page.body.contains("Administrators only"), "{}", page.body);
    }
    // A form with a valid token: still 403, and root stays unlocked.
    let csrf = csrf_of(&bob.get(&c.router, "/account/").await.body);
    for (path, form) in [
        (format!("/admin/users/{root}/lock"), vec![]),
        (
            format!("/admin/users/{}/admin-rights", c.bob.id),
            vec![("admin", "allow")],
        ),
        ("/admin".to_owned(), vec![("username", "mallory")]),
        ("/admin/registration-tokens".to_owned(), vec![]),
    ] {
        let mut fields = vec![("csrf", csrf.as_str())];
        fields.extend(form);
        let response = bob.post(&c.router, &path, &fields).await;
        assert_eq!(response.status, 403, "{path}: {}", response.body);
    }
    assert!(c.user("root").await.locked_at.is_none());
    assert!(!c.user("bob").await.can_request_admin);
    let mut repo = c.t.state.db.read().await.unwrap();
    assert!(repo
        .users()
        .find_by_username("mallory")
        .await
        .unwrap()
        .is_none());
    let tokens = repo
        .registration_tokens()
        .count_matching(&Default::default())
        .await
        .unwrap();
    assert_eq!(tokens, 0);
    drop(repo);
    assert!(c.jobs("provision-user").await.is_empty());
    assert!(c.events().await.is_empty());
}

#[tokio::test]
async fn forbidding_admin_rights_takes_effect_on_the_next_request() {
    let mut c = Console::new().await;
    let allowed = c.post_bob("admin-rights", &[("admin", "allow")]).await;
    assert!(see_other(&allowed).ends_with("?notice=admin_allowed"));
    let mut bob = Browser::default();
    assert_eq!(bob.log_in(&c.router, "bob", "builder").await.status, 303);
    assert_eq!(bob.get(&c.router, "/admin").await.status, 200);
    let forbidden = c.post_bob("admin-rights", &[("admin", "forbid")]).await;
    assert!(see_other(&forbidden).ends_with("?notice=admin_forbidden"));
    assert_eq!(bob.get(&c.router, "/admin").await.status, 403);
}

#[tokio::test]
async fn forms_without_the_csrf_token_change_nothing() {
    let c = Console::new().await;
    let bob = c.bob_page();
    // Something for the removal forms to name.
    let mut repo = c.t.state.db.begin().await.unwrap();
    let ctx = (&c.t.state).into();
    let token = crate::ops::registration::issue_token(&mut repo, ctx, Some("kept"), None, None)
        .await
        .unwrap();
    repo.commit().await.unwrap();
    let token = token.id;
    let posts: Vec<(String, Vec<(&str, &str)>)> = vec![
        ("/admin".into(), vec![("username", "carol")]),
        (format!("{bob}/lock"), vec![]),
        (format!("{bob}/deactivate"), vec![("erase", "on")]),
        (
            format!("{bob}/password"),
            vec![("password", "a new pass 42")],
        ),
        (format!("{bob}/admin-rights"), vec![("admin", "allow")]),
        (format!("{bob}/emails"), vec![("email", "bob@example.com")]),
        (format!("{bob}/sessions/end-all"), vec![]),
        (
            format!("{bob}/personal-tokens"),
            vec![("name", "bot"), ("scope", "urn:matrix:client:api:*")],
        ),
        (
            "/admin/registration-tokens".into(),
            vec![("token", "sneaky")],
        ),
        (format!("/admin/registration-tokens/{token}/revoke"), vec![]),
    ];
    let cookie = c.browser.cookie().unwrap().to_owned();
    for (path, form) in &posts {
        for csrf in [None, Some("not-the-token")] {
            let mut fields: Vec<(&str, &str)> = form.clone();
            if let Some(csrf) = csrf {
                fields.push(("csrf", csrf));
            }
            let response = post_form(&c.router, path, &fields, &[("cookie", &cookie)]).await;
            assert_eq!(response.status, 403, "{path}: {}", response.body);
            assert!(
                response.body.contains("This form has expired"),
                "{path}: {}",
                response.body
            );
        }
    }
    let bob = c.user("bob").await;
    assert!(bob.locked_at.is_none() && bob.deactivated_at.is_none());
    assert!(!bob.can_request_admin);
    let mut repo = c.t.state.db.read().await.unwrap();
    assert!(repo
        .users()
        .find_by_username("carol")
        .await
        .unwrap()
        .is_none());
    assert!(repo.user_emails().list(&bob).await.unwrap().is_empty());
    let personal = mxauth_storage::PersonalSessionFilter::default();
    assert_eq!(
        repo.personal_sessions()
            .count_matching(&personal)
            .await
            .unwrap(),
        0
    );
    let tokens = repo
        .registration_tokens()
        .count_matching(&Default::default())
        .await
        .unwrap();
    assert_eq!(tokens, 1);
    let kept = repo
        .registration_tokens()
        .find(token)
        .await
        .unwrap()
        .unwrap();
    assert!(kept.revoked_at.is_none());
    drop(repo);
    for queue in ["provision-user", "deactivate-user", "sync-devices"] {
        assert!(c.jobs(queue).await.is_empty(), "{queue}");
    }
    assert!(c.events().await.is_empty(), "nothing in the audit trail");
    // Bob's password is still his.
    assert_eq!(
        Browser::default()
            .log_in(&c.router, "bob", "builder")
            .await
            .status,
        303
    );
}
