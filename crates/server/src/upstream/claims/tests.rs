//! claims_imports: defaults, actions, templates over merged claims.

use mxauth_config::UpstreamProviderConfig;
use serde_json::{json, Map, Value};
use ulid::Ulid;

use super::*;
use crate::upstream::provider::Provider;

fn provider(imports: Value) -> Provider {
    let config: UpstreamProviderConfig = serde_json::from_value(json!({
        "id": Ulid::nil().to_string(),
        "client_id": "mxauth",
        "token_endpoint_auth_method": "none",
        "claims_imports": imports,
    }))
    .unwrap();
    Provider {
        id: Ulid::nil(),
        enabled: true,
        synapse_idp_id: None,
        config,
        secret: None,
    }
}

fn object(value: Value) -> Map<String, Value> {
    value.as_object().unwrap().clone()
}

fn ctx() -> ClaimsContext {
    ClaimsContext::new(
        object(
            json!({"sub": "s-1", "preferred_username": "alice", "name": "Alice A", "email": "a@example.test", "email_verified": true}),
        ),
        object(json!({"sub": "s-1", "name": "Alice from userinfo", "groups": ["admins"]})),
        object(json!({"iss": "https://idp.example"})),
    )
}

#[test]
fn defaults_import_nothing_and_identify_by_sub() {
    let p = provider(json!({}));
    assert_eq!(subject(&p, &ctx()).unwrap(), "s-1");
    let imports = evaluate(&p, &ctx()).unwrap();
    for imported in [&imports.localpart, &imports.displayname, &imports.email] {
        assert_eq!(imported.action, Action::Ignore);
        assert_eq!(imported.value, None);
    }
    assert_eq!(imports.on_conflict, OnConflict::Fail);
}

#[test]
fn templates_see_merged_claims_with_userinfo_on_top() {
    let p = provider(json!({
        "subject": {"template": "{{ id_token_claims.sub }}@{{ extra_callback_parameters.iss }}"},
        "localpart": {"action": "force", "template": "{{ user.preferred_username | lower }}", "on_conflict": "add"},
        "displayname": {"action": "suggest"},
        "email": {"action": "suggest", "set_email_verification": "import"},
        "account_name": {"template": "{{ user.email }}"},
    }));
    assert_eq!(subject(&p, &ctx()).unwrap(), "s-1@https://idp.example");
    let imports = evaluate(&p, &ctx()).unwrap();
    assert_eq!(imports.localpart.value.as_deref(), Some("alice"));
    assert!(imports.localpart.action.is_fixed());
    assert_eq!(
        imports.displayname.value.as_deref(),
        Some("Alice from userinfo")
    );
    assert_eq!(imports.email.value.as_deref(), Some("a@example.test"));
    assert!(imports.email_verified);
    assert_eq!(imports.on_conflict, OnConflict::Add);
    assert_eq!(imports.account_name.as_deref(), Some("a@example.test"));
}

#[test]
fn a_required_attribute_the_provider_did_not_send_fails_the_sign_in() {
    let p =
        provider(json!({"localpart": {"action": "require", "template": "{{ user.nickname }}"}}));
    let err = evaluate(&p, &ctx()).unwrap_err();
    assert!(
        matches!(&err, UpstreamError::Claims(why) if why.contains("localpart")),
        "{err:?}"
    );
    // Forced but missing is simply not imported.
    let p = provider(json!({"localpart": {"action": "force", "template": "{{ user.nickname }}"}}));
    assert_eq!(evaluate(&p, &ctx()).unwrap().localpart.value, None);
}

#[test]
fn email_verification_follows_the_setting() {
    let unverified = ClaimsContext::new(
        object(json!({"sub": "s", "email": "b@example.test", "email_verified": false})),
        Map::new(),
        Map::new(),
    );
    for (setting, expected) in [("import", false), ("always", true), ("never", false)] {
        let p = provider(json!({"email": {"action": "force", "set_email_verification": setting}}));
        assert_eq!(
            evaluate(&p, &unverified).unwrap().email_verified,
            expected,
            "{setting}"
        );
    }
    let p = provider(json!({"email": {"action": "force", "set_email_verification": "never"}}));
    assert!(!evaluate(&p, &ctx()).unwrap().email_verified);
}

#[test]
fn a_broken_template_is_a_configuration_error_not_a_panic() {
    let p = provider(json!({"subject": {"template": "{{ user.sub "}}));
    assert!(matches!(
        subject(&p, &ctx()),
        Err(UpstreamError::Misconfigured(_))
    ));
    let p = provider(json!({"subject": {"template": "{{ user.missing }}"}}));
    assert!(matches!(subject(&p, &ctx()), Err(UpstreamError::Claims(_))));
}
