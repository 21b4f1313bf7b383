//! Tests of scopes: parsing, Matrix scopes, validation, stable and unstable forms.

use super::*;

const DEV: &str = "urn:matrix:client:device:ABCDEFGHIJ";
const UDEV: &str = "urn:matrix:org.matrix.msc2967.client:device:ABCDEFGHIJ";
const API: &str = "urn:matrix:client:api:*";
const UAPI: &str = "urn:matrix:org.matrix.msc2967.client:api:*";

fn scope(s: &str) -> Scope {
    s.parse().unwrap()
}

#[test]
fn parses_and_prints_sorted_with_single_spaces() {
    let s = scope(&format!("{API} openid email openid"));
    assert_eq!(
        (s.len(), s.contains("openid"), s.contains("profile")),
        (3, true, false)
    );
    assert_eq!(s.to_string(), format!("email openid {API}"));
    assert_eq!(scope("a b"), scope("b a"));
    // %x21 / %x23-5B / %x5D-7E, including '!', '[', ']' and '~'.
    let all: String = ('\x21'..='\x7E')
        .filter(|c| !matches!(c, '"' | '\\'))
        .collect();
    assert_eq!(scope(&all).to_string(), all);
}

#[test]
fn parse_errors_name_the_problem() {
    assert_eq!("".parse::<Scope>(), Err(ScopeError::Empty));
    for (input, position) in [("openid  email", 2), (" openid", 1), ("openid ", 2)] {
        assert_eq!(
            input.parse::<Scope>(),
            Err(ScopeError::EmptyToken { position })
        );
    }
    for (input, token, character) in [
        ("openid em\"ail", "em\"ail", '"'),
        ("back\\slash", "back\\slash", '\\'),
        ("openid\temail", "openid\temail", '\t'),
        ("caf\u{e9}", "caf\u{e9}", '\u{e9}'),
        ("del\x7f", "del\x7f", '\x7f'),
    ] {
        let token = token.to_owned();
        let expected = Err(ScopeError::InvalidCharacter { token, character });
        assert_eq!(input.parse::<Scope>(), expected, "{input:?}");
    }
    let message = "a\"b".parse::<Scope>().unwrap_err().to_string();
    assert!(message.contains("'\"'"), "{message}");
}

#[test]
fn device_id_of_stable_unstable_and_none() {
    assert_eq!(scope("openid").device_id(), Ok(None));
    assert_eq!(scope(DEV).device_id(), Ok(Some("ABCDEFGHIJ")));
    assert_eq!(scope(UDEV).device_id(), Ok(Some("ABCDEFGHIJ")));
    // Both names of the same device are one device.
    assert_eq!(
        scope(&format!("{DEV} {UDEV}")).device_id(),
        Ok(Some("ABCDEFGHIJ"))
    );
    let two = scope(&format!("{DEV} urn:matrix:client:device:BBBBBBBBBB"));
    let (first, second) = ("ABCDEFGHIJ".to_owned(), "BBBBBBBBBB".to_owned());
    assert_eq!(
        two.device_id(),
        Err(ScopeError::MultipleDevices { first, second })
    );
    // Look-alikes are not device scopes.
    assert_eq!(scope("urn:matrix:client:devices:X").device_id(), Ok(None));
    assert_eq!(scope("urn:matrix:device:ABCDEFGHIJ").device_id(), Ok(None));
}

#[test]
fn api_mixing_and_admin_flags() {
    assert!(scope(API).has_api_scope() && scope(UAPI).has_api_scope());
    assert!(!scope("urn:matrix:client:api:read").has_api_scope());
    assert!(!scope("openid").has_api_scope());
    assert!(scope(&format!("{API} {UDEV}")).is_mixing_stable_and_unstable());
    assert!(!scope(&format!("{API} {DEV} openid")).is_mixing_stable_and_unstable());
    assert!(scope("openid urn:synapse:admin:*").requests_synapse_admin());
    assert!(!scope("openid urn:synapse:admin").requests_synapse_admin());
    assert!(scope("urn:mas:admin").requests_mas_admin());
    assert!(!scope("urn:mas:graphql:*").requests_mas_admin());
}

#[test]
fn authorization_rules() {
    let odd_id = "urn:matrix:org.matrix.msc2967.client:device:AbC.~!$&'()*+,;=:@/-";
    for ok in [
        "openid".to_owned(),
        "openid email urn:mas:graphql:*".to_owned(),
        format!("openid {API} {DEV}"),
        format!("openid {UAPI} {odd_id}"),
        format!("{API} urn:synapse:admin:*"),
    ] {
        assert_eq!(scope(&ok).validate_authorization_request(), Ok(()), "{ok}");
    }
    use AuthorizationScopeError as E;
    let invalid = |id: &str| E::InvalidDeviceId {
        device_id: id.to_owned(),
    };
    for (bad, expected) in [
        (
            format!("{API} {DEV} urn:matrix:client:device:BBBBBBBBBB"),
            E::MultipleDeviceScopes,
        ),
        (format!("{API} {UDEV}"), E::MixedStableAndUnstable),
        (format!("{API} {DEV} {UDEV}"), E::MixedStableAndUnstable),
        (format!("{API} {UAPI}"), E::MixedStableAndUnstable),
        (
            format!("{API} urn:matrix:client:device:SHORT"),
            invalid("SHORT"),
        ),
        (format!("{API} urn:matrix:client:device:"), invalid("")),
        (format!("{API} {DEV}[]"), invalid("ABCDEFGHIJ[]")),
        (format!("openid {DEV}"), E::DeviceWithoutApiScope),
    ] {
        assert_eq!(
            scope(&bad).validate_authorization_request(),
            Err(expected),
            "{bad}"
        );
    }
}

#[test]
fn introspection_echoes_both_names() {
    let s = scope(&format!("openid {API} {DEV}"));
    let both = scope(&format!("openid {API} {DEV} {UAPI} {UDEV}"));
    assert_eq!(s.introspection_scope(), both);
    assert_eq!(
        scope(&format!("openid {UAPI} {UDEV}")).introspection_scope(),
        both
    );
    assert_eq!(both.introspection_scope(), both);
    // Other scopes pass through unchanged.
    let plain = scope("openid email urn:synapse:admin:*");
    assert_eq!(plain.introspection_scope(), plain);
}

#[test]
fn device_scope_helpers() {
    assert_eq!(device_scope("ABCDEFGHIJ", true).unwrap().as_str(), DEV);
    let unstable = device_scope("ABCDEFGHIJ", false).unwrap();
    assert_eq!(unstable.as_str(), UDEV);
    assert_eq!(unstable.device_id(), Some("ABCDEFGHIJ"));
    assert!(!unstable.is_stable_matrix() && unstable.is_unstable_matrix());
    assert!(matches!(
        device_scope("has space", true),
        Err(ScopeError::InvalidCharacter { character: ' ', .. })
    ));
    assert_eq!(OPENID.device_id(), None);
    assert!(MATRIX_API.is_api() && MATRIX_API_UNSTABLE.is_api() && !OPENID.is_api());
}

#[test]
fn collection_helpers() {
    let mut s = Scope::new();
    assert!(s.is_empty());
    assert!(s.insert(OPENID) && !s.insert(OPENID) && s.insert(EMAIL));
    assert!(scope("openid").is_subset_of(&s));
    assert!(!scope("openid profile").is_subset_of(&s));
    let names: Vec<&str> = (&s).into_iter().map(ScopeToken::as_str).collect();
    assert_eq!(names, ["email", "openid"]);
}

#[test]
fn deserializes_from_the_string_form() {
    use serde::de::{value::Error, IntoDeserializer};
    let de = |s: &str| Scope::deserialize(IntoDeserializer::<Error>::into_deserializer(s));
    assert_eq!(
        de("urn:mas:admin openid"),
        Ok(scope("openid urn:mas:admin"))
    );
    assert!(de("openid  email").is_err());
}
