//! `/admin/registration-tokens`: issuing (random or chosen text, usage
//! limit, expiry), the refusals that issue nothing, revoking and allowing
//! again, and the pages of a long list.

use super::*;

const PAGE: &str = "/admin/registration-tokens";

/// The tokens the list shows, in its order.
fn listed(html: &str) -> Vec<String> {
    html.split("data-token=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().to_owned())
        .collect()
}

async fn stored(c: &Console, text: &str) -> mxauth_model::RegistrationToken {
    let mut repo = c.t.state.db.read().await.unwrap();
    repo.registration_tokens()
        .find_by_token(text)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no token {text}"))
}

#[tokio::test]
async fn tokens_are_issued_revoked_and_allowed_again() {
    let mut c = Console::new().await;
    let (response, logs) = logged(c.post_from(PAGE, PAGE, &[])).await;
    assert_eq!(see_other(&response), format!("{PAGE}?notice=issued"));
    let page = c.page(&format!("{PAGE}?notice=issued")).await;
    assert!(page.contains("The registration token was issued."));
    let random = listed(&page);
    assert_eq!(random.len(), 1);
    assert_eq!(random[0].len(), 20, "{random:?}");
    assert!(
        audited(&logs, "add_registration_token", &random[0]),
        "{logs}"
    );

    c.t.clock.advance(chrono::Duration::seconds(1));
    let form = [
        ("token", "spring-meetup"),
        ("usage_limit", "5"),
        ("expires_in_days", "30"),
    ];
    let response = c.post_from(PAGE, PAGE, &form).await;
    assert_eq!(see_other(&response), format!("{PAGE}?notice=issued"));
    let token = stored(&c, "spring-meetup").await;
    assert_eq!(token.usage_limit, Some(5));
    assert_eq!(
        token.expires_at,
        Some(c.t.clock.now() + chrono::Duration::days(30))
    );
    let page = c.page(PAGE).await;
    assert_eq!(listed(&page)[0], "spring-meetup", "newest first");
    assert!(page.contains("Used 0 of 5 times"), "{page}");

    let id = token.id;
    let revoke = format!("{PAGE}/{id}/revoke");
    let (response, logs) = logged(c.post_from(PAGE, &revoke, &[])).await;
    assert_eq!(see_other(&response), format!("{PAGE}?notice=revoked"));
    assert!(
        audited(&logs, "revoke_registration_token", "spring-meetup")
            && logs.contains(&id.to_string()),
        "{logs}"
    );
    assert!(stored(&c, "spring-meetup").await.revoked_at.is_some());
    assert!(c.page(PAGE).await.contains("data-state=\"revoked\""));
    let unrevoke = format!("{PAGE}/{id}/unrevoke");
    let response = c.post_from(PAGE, &unrevoke, &[]).await;
    assert_eq!(see_other(&response), format!("{PAGE}?notice=unrevoked"));
    assert!(stored(&c, "spring-meetup").await.revoked_at.is_none());

    for path in [
        format!("{PAGE}/nope/revoke"),
        format!("{PAGE}/{}/revoke", c.bob.id),
    ] {
        let response = c.post_from(PAGE, &path, &[]).await;
        assert_eq!(response.status, 404, "{path}");
    }
}

#[tokio::test]
async fn a_refused_form_is_shown_again_and_issues_nothing() {
    let mut c = Console::new().await;
    let response = c.post_from(PAGE, PAGE, &[("token", "taken")]).await;
    see_other(&response);
    for (form, status, says) in [
        (vec![("token", "taken")], 409, "exists already"),
        (vec![("token", "has space")], 400, "1 to 64 letters"),
        (
            vec![("usage_limit", "0")],
            400,
            "usage limit is a whole number",
        ),
        (
            vec![("usage_limit", "-3")],
            400,
            "usage limit is a whole number",
        ),
        (
            vec![("expires_in_days", "0")],
            400,
            "expiry is a whole number",
        ),
        (
            vec![("expires_in_days", "99999")],
            400,
            "expiry is a whole number",
        ),
    ] {
        let response = c.post_from(PAGE, PAGE, &form).await;
        assert_eq!(response.status, status, "{form:?}: {}", response.body);
        assert!(response.body.contains(says), "{form:?}: {}", response.body);
        assert!(
            response.body.contains(&format!("value=\"{}\"", form[0].1)),
            "the typed value is kept"
        );
    }
    let mut repo = c.t.state.db.read().await.unwrap();
    let all = mxauth_storage::TokenFilter::default();
    assert_eq!(
        repo.registration_tokens()
            .count_matching(&all)
            .await
            .unwrap(),
        1
    );
}

#[tokio::test]
async fn a_long_list_goes_from_the_newest_to_older_pages() {
    let mut c = Console::new().await;
    let mut repo = c.t.state.db.begin().await.unwrap();
    for i in 0..55 {
        c.t.clock.advance(chrono::Duration::milliseconds(1));
        let ctx = (&c.t.state).into();
        let text = format!("t{i:02}");
        crate::ops::registration::issue_token(&mut repo, ctx, Some(&text), None, None)
            .await
            .unwrap();
    }
    repo.commit().await.unwrap();
    let first = c.page(PAGE).await;
    let newest = listed(&first);
    assert_eq!(newest.len(), 50);
    assert_eq!(newest[0], "t54");
    assert_eq!(newest[49], "t05");
    let marker = "rel=\"next\"";
    let at = first.find(marker).expect("a link to older tokens");
    let start = first[..at].rfind("href=\"").unwrap() + "href=\"".len();
    let older = first[start..]
        .split('"')
        .next()
        .unwrap()
        .replace("&#x2f;", "/");
    let second = c.page(&older).await;
    assert_eq!(listed(&second), ["t04", "t03", "t02", "t01", "t00"]);
    assert!(second.contains("Newest tokens"));
    let bad = c.browser.get(&c.router, &format!("{PAGE}?before=x")).await;
    assert_eq!(bad.status, 400);
}
