//! The policy data's rules, merging, and refusals of bad data.

use serde_json::json;
use ulid::Ulid;

use super::{Policy, PolicyStore, Violation};

fn user(username: &str, can_request_admin: bool) -> mxauth_model::User {
    mxauth_model::User {
        id: Ulid::nil(),
        username: username.to_owned(),
        created_at: chrono::DateTime::UNIX_EPOCH,
        locked_at: None,
        deactivated_at: None,
        can_request_admin,
        is_guest: false,
    }
}

#[test]
fn every_kind_of_string_constraint_matches() {
    let policy = Policy::from_data(&json!({"registration": {"banned_usernames": {
        "literals": ["root"], "substrings": ["admin"], "regexes": ["^[0-9]+x$"],
        "prefixes": ["sys"], "suffixes": ["bot"],
    }}}))
    .unwrap();
    for banned in ["root", "superadmin1", "123x", "sysop", "helperbot"] {
        assert_eq!(
            policy.check_username(banned),
            Err(Violation::UsernameBanned),
            "{banned}"
        );
    }
    for fine in ["rooted", "alice", "123xy", "asys", "bother"] {
        assert_eq!(policy.check_username(fine), Ok(()), "{fine}");
    }
}

#[test]
fn an_allow_list_refuses_what_it_does_not_name_and_a_ban_wins() {
    let policy = Policy::from_data(&json!({"emails": {
        "allowed_addresses": {"suffixes": ["@example.com"]},
        "banned_addresses": {"literals": ["mallory@example.com"]},
    }}))
    .unwrap();
    assert_eq!(policy.check_email("Alice@Example.COM"), Ok(()));
    assert_eq!(
        policy.check_email("alice@elsewhere.org"),
        Err(Violation::EmailNotAllowed)
    );
    assert_eq!(
        policy.check_email("MALLORY@example.com"),
        Err(Violation::EmailBanned)
    );
}

#[test]
fn banned_requesters_are_refused_by_network_and_user_agent() {
    let policy = Policy::from_data(&json!({"requester": {
        "banned_ips": ["10.0.0.0/8", "2001:db8::1"],
        "banned_user_agents": {"substrings": ["BadBot"]},
    }}))
    .unwrap();
    let refused = Err(Violation::RequesterBanned);
    assert_eq!(
        policy.check_requester(Some("10.1.2.3".parse().unwrap()), None),
        refused
    );
    assert_eq!(
        policy.check_requester(Some("2001:db8::1".parse().unwrap()), None),
        refused
    );
    assert_eq!(policy.check_requester(None, Some("curl BadBot/1")), refused);
    assert_eq!(
        policy.check_requester(Some("192.0.2.1".parse().unwrap()), Some("Element/1.0")),
        Ok(())
    );
}

#[test]
fn admin_users_and_clients_come_from_the_data() {
    let policy =
        Policy::from_data(&json!({"admin_users": ["alice"], "admin_clients": ["01C"]})).unwrap();
    assert!(policy.may_request_admin(&user("alice", false)));
    assert!(policy.may_request_admin(&user("bob", true)));
    assert!(!policy.may_request_admin(&user("bob", false)));
    assert!(policy.is_admin_client("01C"));
    assert!(!policy.is_admin_client("01D"));
}

#[test]
fn bad_data_is_refused_naming_the_key() {
    let cases = [
        (json!([1]), "must be a JSON object"),
        (
            json!({"registration": {"banned_usernames": {"regexes": ["("]}}}),
            "registration.banned_usernames.regexes",
        ),
        (
            json!({"registration": {"banned_username": {}}}),
            "registration",
        ),
        (
            json!({"requester": {"banned_ips": ["10.0.0.0/33"]}}),
            "requester.banned_ips",
        ),
        (json!({"admin_users": "alice"}), "admin_users"),
        (
            json!({"client_registration": {"allow_insecure_uris": "yes"}}),
            "client_registration.allow_insecure_uris",
        ),
    ];
    for (data, names) in cases {
        let error = Policy::from_data(&data).unwrap_err();
        assert!(error.contains(names), "{data}: {error}");
    }
    // Other top-level keys are the operator's own, for MAS's custom policies.
    assert!(Policy::from_data(&json!({"my_policy": {"anything": 1}})).is_ok());
}

#[test]
fn admin_data_merges_over_the_configuration_and_replaces_lists() {
    let store = PolicyStore::new(Some(json!({
        "admin_clients": ["01A"],
        "client_registration": {"allow_insecure_uris": true},
        "registration": {"banned_usernames": {"literals": ["root"]}},
    })))
    .unwrap();
    assert!(store.current().is_admin_client("01A"));
    let version = Ulid::from_parts(1, 1);
    store
        .apply(
            version,
            &json!({"admin_clients": ["01B"], "client_registration": {"allow_host_mismatch": true}}),
        )
        .unwrap();
    let policy = store.current();
    assert!(!policy.is_admin_client("01A"), "lists are replaced");
    assert!(policy.is_admin_client("01B"));
    let rules = policy.client_registration;
    assert!(
        rules.allow_insecure_uris && rules.allow_host_mismatch,
        "objects merge"
    );
    assert_eq!(
        policy.check_username("root"),
        Err(Violation::UsernameBanned)
    );

    // A version that does not fit is refused and the previous one stays.
    let bad = json!({"registration": {"banned_usernames": {"regexes": ["["]}}});
    assert!(store.apply(Ulid::from_parts(2, 2), &bad).is_err());
    assert!(store.current().is_admin_client("01B"));
}

#[test]
fn a_bad_configured_policy_is_refused_at_start() {
    let error =
        PolicyStore::new(Some(json!({"emails": {"banned_addresses": {"regex": []}}}))).unwrap_err();
    assert!(error.contains("emails.banned_addresses"), "{error}");
}
