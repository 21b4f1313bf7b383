//! `/admin`: searching by part of the username, page after page, and
//! creating a user (the username checks, the homeserver's say, the job
//! that provisions them, the audit line).

use super::*;
use crate::homeserver::{Homeserver, ProvisionRequest};

/// The usernames the list shows, in its order.
fn listed(html: &str) -> Vec<String> {
    html.split("data-username=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().to_owned())
        .collect()
}

/// The `href` of the link with `id`, unescaped.
fn link(html: &str, id: &str) -> Option<String> {
    let marker = format!("id=\"{id}\"");
    let at = html.find(&marker)?;
    let start = html[..at].rfind("href=\"")? + "href=\"".len();
    let href = html[start..].split('"').next()?;
    Some(href.replace("&amp;", "&").replace("&#x2f;", "/"))
}

#[tokio::test]
async fn the_list_searches_by_part_of_the_username_a_page_at_a_time() {
    let mut c = Console::new().await;
    c.add_many("member", 55).await;
    let everyone = c.page("/admin").await;
    assert_eq!(listed(&everyone).len(), 50);
    assert_eq!(listed(&everyone)[..2], ["root", "bob"]);
    assert!(everyone.contains("data-status=\"active\""));

    let first = c.page("/admin?search=MEMBER").await;
    let names = listed(&first);
    assert_eq!(names.len(), 50, "{names:?}");
    assert_eq!(names[0], "member00");
    let next = link(&first, "next-page").expect("a next page link");
    assert!(next.contains("search=MEMBER"), "{next}");
    let second = c.page(&next).await;
    assert_eq!(
        listed(&second),
        ["member50", "member51", "member52", "member53", "member54"]
    );
    assert!(link(&second, "next-page").is_none());
    assert!(second.contains("First page"));

    let bob = c.page("/admin?search=ob").await;
    assert_eq!(listed(&bob), ["bob"]);
    let none = c.page("/admin?search=zzz").await;
    assert!(listed(&none).is_empty());
    assert!(none.contains("No username contains"), "{none}");

    let bad = c.browser.get(&c.router, "/admin?after=not-an-id").await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(bad.body.contains("This page link is not valid"));
}

#[tokio::test]
async fn creating_a_user_provisions_them_and_logs_who_did_it() {
    let mut c = Console::new().await;
    let (response, logs) =
        logged(c.post_from("/admin", "/admin", &[("username", " carol ")])).await;
    let carol = c.user("carol").await;
    let created = see_other(&response);
    assert_eq!(created, format!("/admin/users/{}?notice=created", carol.id));
    assert!(audited(&logs, "add_user", "carol"), "{logs}");
    assert!(!carol.can_request_admin && carol.locked_at.is_none());
    let page = c.page(&created).await;
    assert!(page.contains("The user was created."), "{page}");
    // No password yet: nothing to sign in with.
    let mut repo = c.t.state.db.read().await.unwrap();
    assert!(repo
        .user_passwords()
        .active(&carol)
        .await
        .unwrap()
        .is_none());
    drop(repo);
    let jobs = c.jobs("provision-user").await;
    assert_eq!(jobs.len(), 1);
    assert!(jobs[0].payload.contains(&carol.id.to_string()));
    c.run_jobs().await;
    assert!(c.t.homeserver.user("carol").is_some());
}

#[tokio::test]
async fn a_refused_username_shows_the_form_again_and_creates_nothing() {
    let mut c = Console::new().await;
    for (username, status, says) in [
        ("Not Valid", 400, "This username cannot be used"),
        ("bob", 409, "This username is taken."),
        ("", 400, "This username cannot be used"),
    ] {
        let response = c
            .post_from("/admin", "/admin", &[("username", username)])
            .await;
        assert_eq!(response.status, status, "{username}: {}", response.body);
        assert!(
            response.body.contains(says),
            "{username}: {}",
            response.body
        );
        assert!(
            response
                .body
                .contains(&format!("name=\"username\" value=\"{username}\"")),
            "the typed name is kept"
        );
    }
    // A name the homeserver has already: refused unless the check is
    // skipped.
    let dave = ProvisionRequest {
        localpart: "dave".into(),
        ..ProvisionRequest::default()
    };
    c.t.homeserver.provision_user(&dave).await.unwrap();
    let refused = c
        .post_from("/admin", "/admin", &[("username", "dave")])
        .await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(refused
        .body
        .contains("The homeserver does not accept this username"));
    // The homeserver down: 503, unless it is not asked.
    c.t.homeserver.set_down(true);
    let down = c
        .post_from("/admin", "/admin", &[("username", "erin")])
        .await;
    assert_eq!(down.status, 503, "{}", down.body);
    let mut repo = c.t.state.db.read().await.unwrap();
    for name in ["dave", "erin"] {
        assert!(repo.users().find_by_username(name).await.unwrap().is_none());
    }
    drop(repo);
    assert!(c.jobs("provision-user").await.is_empty());
    for name in ["dave", "erin"] {
        let created = c
            .post_from(
                "/admin",
                "/admin",
                &[("username", name), ("skip_homeserver_check", "on")],
            )
            .await;
        assert!(see_other(&created).ends_with("?notice=created"), "{name}");
    }
    assert_eq!(c.jobs("provision-user").await.len(), 2);
}
