//! What a user has: email addresses (added as confirmed, removed), sessions
//! (one ended, all ended) and personal access tokens (issued and shown
//! once, working as the user until the user is locked or the token
//! revoked).

use serde_json::json;

use super::*;
use crate::{handlers::oauth2::tests::introspect, test_support::post_json};

/// The id of the list entry (`data-{kind}-id`) that mentions `text`.
fn entry_with(html: &str, kind: &str, text: &str) -> String {
    let marker = format!("data-{kind}-id=\"");
    html.split(marker.as_str())
        .skip(1)
        .find(|entry| entry.split("</li>").next().unwrap().contains(text))
        .map(|entry| entry.split('"').next().unwrap().to_owned())
        .unwrap_or_else(|| panic!("no {kind} mentions {text}: {html}"))
}

/// The hidden `email_id` of the address `email` on the page.
fn email_id(html: &str, email: &str) -> String {
    let entry = html
        .split(&format!("data-email=\"{email}\""))
        .nth(1)
        .unwrap_or_else(|| panic!("{email} is not listed: {html}"));
    let marker = "name=\"email_id\" value=\"";
    let start = entry.find(marker).unwrap() + marker.len();
    entry[start..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn emails_are_added_as_confirmed_and_removed() {
    let mut c = Console::new().await;
    let (response, logs) = logged(c.post_bob("emails", &[("email", " bob@example.com ")])).await;
    assert!(see_other(&response).ends_with("?notice=email_added"));
    assert!(audited(&logs, "add_email", "bob"), "{logs}");
    assert_eq!(c.jobs("provision-user").await.len(), 1);
    c.run_jobs().await;
    assert_eq!(
        c.t.homeserver.user("bob").unwrap().emails,
        ["bob@example.com"]
    );

    let invalid = c.post_bob("emails", &[("email", "not an address")]).await;
    assert_eq!(invalid.status, 400);
    assert!(invalid.body.contains("That is not an email address"));
    assert!(invalid.body.contains("value=\"not an address\""));
    let twice = c.post_bob("emails", &[("email", "BOB@example.com")]).await;
    assert_eq!(twice.status, 409, "{}", twice.body);
    assert!(twice.body.contains("already has this email address"));

    let page = c.page(&c.bob_page()).await;
    let id = email_id(&page, "bob@example.com");
    let missing = c.post_bob("emails/remove", &[("email_id", "nope")]).await;
    assert_eq!(missing.status, 404);
    let (response, logs) = logged(c.post_bob("emails/remove", &[("email_id", &id)])).await;
    assert!(see_other(&response).ends_with("?notice=email_removed"));
    assert!(audited(&logs, "remove_email", "bob"), "{logs}");
    let mut repo = c.t.state.db.read().await.unwrap();
    assert!(repo.user_emails().list(&c.bob).await.unwrap().is_empty());
    drop(repo);
    c.run_jobs().await;
    assert!(c.t.homeserver.user("bob").unwrap().emails.is_empty());
}

#[tokio::test]
async fn sessions_are_listed_and_ended_one_or_all() {
    let mut c = Console::new().await;
    let mut bob = Browser::default();
    assert_eq!(bob.log_in(&c.router, "bob", "builder").await.status, 303);
    let login = |device: &str| {
        json!({"type": "m.login.password", "identifier": {"type": "m.id.user", "user": "bob"},
               "password": "builder", "device_id": device, "initial_device_display_name": "Bob's bot"})
    };
    let compat = |body| post_json(&c.router, "/_matrix/client/v3/login", body, None);
    let bot = compat(login("BOTDEVICE")).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let other = compat(login("OTHERDEV")).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let page = c.page(&c.bob_page()).await;
    assert_eq!(page.matches("data-session-id=").count(), 3, "{page}");
    assert!(page.contains("Device BOTDEVICE"));

    let id = entry_with(&page, "session", "BOTDEVICE");
    let (response, logs) = logged(c.post_bob("sessions/end", &[("session_id", &id)])).await;
    assert!(see_other(&response).ends_with("?notice=session_ended"));
    assert!(
        audited(&logs, "finish_session", "bob") && logs.contains(&id),
        "{logs}"
    );
    assert_eq!(introspect(&c.router, &bot).await["active"], false);
    assert_eq!(introspect(&c.router, &other).await["active"], true);
    assert_eq!(c.jobs("sync-devices").await.len(), 1);
    // Ended: a 404 now, as is root's own session seen from bob's page.
    let again = c.post_bob("sessions/end", &[("session_id", &id)]).await;
    assert_eq!(again.status, 404);

    let (response, logs) = logged(c.post_bob("sessions/end-all", &[])).await;
    assert!(see_other(&response).ends_with("?notice=sessions_ended"));
    assert!(
        audited(&logs, "finish_all_sessions", "bob") && logs.contains("ended=2"),
        "{logs}"
    );
    assert_eq!(introspect(&c.router, &other).await["active"], false);
    assert_eq!(bob.get(&c.router, "/account/").await.status, 303);
    assert_eq!(c.jobs("sync-devices").await.len(), 2);
    let page = c.page(&c.bob_page()).await;
    assert!(page.contains("No active session."));
    // Root's browser was not touched.
    assert_eq!(c.browser.get(&c.router, "/admin").await.status, 200);
}

/// The token text of an answer that issued one.
fn issued_token(html: &str) -> String {
    let marker = "id=\"issued-token-text\">";
    let start = html
        .find(marker)
        .unwrap_or_else(|| panic!("no token shown: {html}"))
        + marker.len();
    html[start..].split('<').next().unwrap().to_owned()
}

#[tokio::test]
async fn a_personal_token_is_shown_once_and_acts_as_the_user_until_revoked() {
    let mut c = Console::new().await;
    let form = [
        ("name", "Backup bot"),
        ("scope", "urn:matrix:client:api:*"),
        ("expires_in_days", "30"),
    ];
    let (answer, logs) = logged(c.post_bob("personal-tokens", &form)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(audited(&logs, "issue_personal_token", "bob"), "{logs}");
    let token = issued_token(&answer.body);
    assert!(token.starts_with("mpt_"), "{token}");
    assert!(answer.body.contains("it is not shown again"));
    let seen = introspect(&c.router, &token).await;
    assert_eq!(seen["active"], true, "{seen}");
    assert_eq!(seen["username"], "bob");
    // The page again: listed, with its expiry, but not the token.
    let page = c.page(&c.bob_page()).await;
    assert!(!page.contains(&token));
    let id = entry_with(&page, "token", "Backup bot");
    assert!(page.contains("Expires "), "{page}");

    // Locked: refused; unlocked: works again.
    c.post_bob("lock", &[]).await;
    assert_eq!(introspect(&c.router, &token).await["active"], false);
    c.post_bob("unlock", &[]).await;
    assert_eq!(introspect(&c.router, &token).await["active"], true);

    let (response, logs) = logged(c.post_bob("personal-tokens/revoke", &[("token_id", &id)])).await;
    assert!(see_other(&response).ends_with("?notice=token_revoked"));
    assert!(audited(&logs, "revoke_personal_token", "bob"), "{logs}");
    assert_eq!(introspect(&c.router, &token).await["active"], false);
    let page = c.page(&c.bob_page()).await;
    assert!(page.contains("Revoked "), "{page}");
}

#[tokio::test]
async fn a_refused_token_form_issues_nothing() {
    let mut c = Console::new().await;
    for (name, scope, days, says) in [
        ("", "urn:matrix:client:api:*", "", "Give the token a name"),
        ("bot", "", "", "The scope is empty or not valid"),
        (
            "bot",
            "urn:matrix:client:api:* urn:matrix:client:device:ABCDEF",
            "",
            "has no device",
        ),
        ("bot", "urn:mas:admin", "", "Admin scopes need a user"),
        (
            "bot",
            "urn:matrix:client:api:*",
            "0",
            "The expiry is a whole number",
        ),
        (
            "bot",
            "urn:matrix:client:api:*",
            "soon",
            "The expiry is a whole number",
        ),
    ] {
        let form = [("name", name), ("scope", scope), ("expires_in_days", days)];
        let response = c.post_bob("personal-tokens", &form).await;
        assert_eq!(response.status, 400, "{scope} {days}: {}", response.body);
        assert!(response.body.contains(says), "{says}: {}", response.body);
        assert!(!response.body.contains("issued-token-text"));
    }
    // A locked user gets none.
    c.post_bob("lock", &[]).await;
    let form = [("name", "bot"), ("scope", "urn:matrix:client:api:*")];
    let locked = c.post_bob("personal-tokens", &form).await;
    assert_eq!(locked.status, 400);
    assert!(locked.body.contains("cannot get a token"));
    let mut repo = c.t.state.db.read().await.unwrap();
    let all = mxauth_storage::PersonalSessionFilter::default();
    assert_eq!(
        repo.personal_sessions().count_matching(&all).await.unwrap(),
        0
    );
    drop(repo);

    // Someone else's token is not revoked through bob's page.
    let root = c.root.clone();
    let mut repo = c.t.state.db.begin().await.unwrap();
    let owner = mxauth_model::PersonalOwner::User(root.id);
    let scope = "urn:matrix:client:api:*".parse().unwrap();
    let ctx = (&c.t.state).into();
    let policy = c.t.state.policy.current();
    let roots = crate::ops::personal_tokens::issue(
        &mut repo, ctx, &policy, owner, &root, "mine", scope, None,
    )
    .await
    .unwrap();
    repo.commit().await.unwrap();
    let id = roots.session.id.to_string();
    let response = c
        .post_bob("personal-tokens/revoke", &[("token_id", &id)])
        .await;
    assert_eq!(response.status, 404);
    assert_eq!(introspect(&c.router, &roots.text).await["active"], true);
}
