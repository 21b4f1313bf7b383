//! The metadata rules, one test per rule.

use serde_json::json;

use super::*;

fn meta(json: Value) -> Result<(ClientAuthMethod, GrantTypes, bool), OAuthError> {
    meta_under(json, ClientRegistrationRules::default())
}

fn meta_under(
    json: Value,
    policy: ClientRegistrationRules,
) -> Result<(ClientAuthMethod, GrantTypes, bool), OAuthError> {
    validate(
        &serde_json::from_value(json).unwrap(),
        &[JwsAlgorithm::Rs256, JwsAlgorithm::Es256],
        policy,
    )
}

#[test]
fn the_policy_data_switches_loosen_only_their_own_rule() {
    let insecure =
        json!({"client_uri": "http://a.example.com", "redirect_uris": ["http://a.example.com/cb"]});
    let elsewhere = json!({"client_uri": "https://a.example.com", "redirect_uris": ["https://b.example.org/cb"],
        "logo_uri": "https://cdn.example.net/logo.png"});
    let anonymous = json!({"redirect_uris": ["https://b.example.org/cb"]});
    let allow = |f: fn(&mut ClientRegistrationRules)| {
        let mut rules = ClientRegistrationRules::default();
        f(&mut rules);
        rules
    };
    let insecure_ok = allow(|r| r.allow_insecure_uris = true);
    let mismatch_ok = allow(|r| r.allow_host_mismatch = true);
    let missing_ok = allow(|r| r.allow_missing_client_uri = true);
    for (case, refused_by_default) in [
        (&insecure, "must use https"),
        (&elsewhere, "must be on the client's host"),
        (&anonymous, "client_uri: is required"),
    ] {
        let e = meta(case.clone()).unwrap_err();
        assert!(
            e.description.contains(refused_by_default),
            "{case}: {}",
            e.description
        );
    }
    assert!(meta_under(insecure.clone(), insecure_ok).is_ok());
    assert!(meta_under(insecure, mismatch_ok).is_err());
    assert!(meta_under(elsewhere.clone(), mismatch_ok).is_ok());
    assert!(meta_under(elsewhere, insecure_ok).is_err());
    assert!(meta_under(anonymous.clone(), missing_ok).is_ok());
    assert!(meta_under(anonymous, mismatch_ok).is_err());
    // jwks_uri is fetched by the server: https on a public host, whatever
    // the switches say.
    let mut fetched = json!({"client_uri": "http://a.example.com", "redirect_uris": ["http://a.example.com/cb"],
        "token_endpoint_auth_method": "private_key_jwt", "jwks_uri": "http://a.example.com/jwks"});
    let e = meta_under(fetched.clone(), insecure_ok).unwrap_err();
    assert_eq!(e.description, "jwks_uri: must use https");
    fetched["jwks_uri"] = json!("https://127.0.0.1/jwks");
    let all = ClientRegistrationRules {
        allow_host_mismatch: true,
        allow_insecure_uris: true,
        allow_missing_client_uri: true,
    };
    assert!(meta_under(fetched, all)
        .unwrap_err()
        .description
        .contains("not a public host name"));
}

#[test]
fn fields_are_bounded() {
    let base = || json!({"client_uri": "https://a.example.com", "redirect_uris": ["https://a.example.com/cb"]});
    let mut long_name = base();
    long_name["client_name"] = json!("x".repeat(257));
    assert_eq!(
        meta(long_name).unwrap_err().description,
        "client_name: is longer than 256 characters"
    );
    let mut many = base();
    many["redirect_uris"] = json!(vec!["https://a.example.com/cb"; 21]);
    assert!(meta(many)
        .unwrap_err()
        .description
        .starts_with("redirect_uris: has more than 20"));
    let mut long_uri = base();
    long_uri["redirect_uris"] = json!([format!("https://a.example.com/{}", "x".repeat(2000))]);
    assert!(meta(long_uri)
        .unwrap_err()
        .description
        .starts_with("redirect_uris: has an entry longer"));
    let mut contacts = base();
    contacts["contacts"] = json!(vec!["a@example.com"; 21]);
    assert!(meta(contacts)
        .unwrap_err()
        .description
        .starts_with("contacts:"));
    let mut jwks = base();
    jwks["jwks"] = json!({"keys": [{"kty": "oct", "k": "x".repeat(20_000)}]});
    assert!(meta(jwks).unwrap_err().description.starts_with("jwks:"));
    assert!(meta(base()).is_ok());
}

#[test]
fn only_algorithms_the_server_signs_with() {
    for field in [
        "id_token_signed_response_alg",
        "userinfo_signed_response_alg",
    ] {
        for bad in ["none", "HS256", "PS512", "nonsense"] {
            let e = meta(json!({"client_uri": "https://a.example.com",
                "redirect_uris": ["https://a.example.com/cb"], field: bad}))
            .unwrap_err();
            assert_eq!(e.code, "invalid_client_metadata");
            assert!(e.description.starts_with(field), "{}", e.description);
            assert!(e.description.contains("RS256, ES256"), "{}", e.description);
        }
        assert!(meta(json!({"client_uri": "https://a.example.com",
            "redirect_uris": ["https://a.example.com/cb"], field: "ES256"}))
        .is_ok());
    }
    let e = meta(
        json!({"client_uri": "https://a.example.com", "redirect_uris": ["https://a.example.com/cb"],
        "token_endpoint_auth_signing_alg": "XX1"}),
    )
    .unwrap_err();
    assert!(e
        .description
        .starts_with("token_endpoint_auth_signing_alg:"));
}

#[test]
fn a_jwks_uri_must_name_a_public_host() {
    for host in ["10.0.0.1", "127.0.0.1", "192.168.1.1"] {
        let e = meta(json!({"client_uri": format!("https://{host}"), "grant_types": ["client_credentials"],
            "token_endpoint_auth_method": "private_key_jwt", "jwks_uri": format!("https://{host}/jwks")}))
        .unwrap_err();
        assert!(
            e.description.starts_with("jwks_uri:"),
            "{host}: {}",
            e.description
        );
    }
    assert!(meta(
        json!({"client_uri": "https://a.example.com", "grant_types": ["client_credentials"],
        "token_endpoint_auth_method": "private_key_jwt", "jwks_uri": "https://a.example.com/jwks"})
    )
    .is_ok());
}

#[test]
fn client_uri_is_required_and_must_be_https() {
    let e = meta(json!({"redirect_uris": ["https://a.example.com/cb"]})).unwrap_err();
    assert_eq!(e.description, "client_uri: is required");
    let e = meta(json!({"client_uri": "http://a.example.com"})).unwrap_err();
    assert_eq!(e.description, "client_uri: must use https");
    for suffix in ["https://github.io", "https://co.uk", "https://com"] {
        let e = meta(json!({"client_uri": suffix})).unwrap_err();
        assert!(
            e.description.contains("public suffix"),
            "{suffix}: {}",
            e.description
        );
    }
    // Below a public suffix is fine.
    assert!(meta(json!({"client_uri": "https://someone.github.io", "redirect_uris": ["https://someone.github.io/cb"]})).is_ok());
}

#[test]
fn site_uris_stay_on_the_client_host() {
    let e = meta(json!({"client_uri": "https://a.example.com", "logo_uri": "https://evil.com/logo.png", "redirect_uris": ["https://a.example.com/cb"]})).unwrap_err();
    assert_eq!(e.code, "invalid_client_metadata");
    assert!(e.description.starts_with("logo_uri:"), "{}", e.description);
    assert!(meta(json!({"client_uri": "https://example.com", "logo_uri": "https://cdn.example.com/l.png", "redirect_uris": ["https://example.com/cb"]})).is_ok());
}

#[test]
fn native_apps_use_loopback_or_reverse_dns_schemes() {
    let ok = json!({"client_uri": "https://element.io", "application_type": "native", "token_endpoint_auth_method": "none",
        "redirect_uris": ["io.element.app:/callback", "http://127.0.0.1/cb", "http://[::1]/cb"]});
    assert_eq!(
        meta(ok).unwrap(),
        (
            ClientAuthMethod::None,
            GrantTypes {
                authorization_code: true,
                ..GrantTypes::default()
            },
            true
        )
    );
    for bad in [
        "com.evil.app:/cb",
        "http://192.168.1.2/cb",
        "https://evil.com/cb",
        "https://element.io/cb#x",
    ] {
        let e = meta(json!({"client_uri": "https://element.io", "application_type": "native", "redirect_uris": [bad]})).unwrap_err();
        assert_eq!(e.code, "invalid_redirect_uri", "{bad}");
        assert!(
            e.description.starts_with("redirect_uris:"),
            "{}",
            e.description
        );
    }
    let web = json!({"client_uri": "https://element.io", "redirect_uris": ["http://127.0.0.1/cb"]});
    assert_eq!(meta(web).unwrap_err().code, "invalid_redirect_uri");
}

#[test]
fn grants_and_auth_methods_are_checked() {
    let e = meta(json!({"client_uri": "https://a.example.com", "grant_types": ["implicit"]}))
        .unwrap_err();
    assert!(e.description.starts_with("grant_types:"));
    let e = meta(json!({"client_uri": "https://a.example.com", "grant_types": ["client_credentials"], "token_endpoint_auth_method": "none"})).unwrap_err();
    assert!(e.description.contains("needs a client that authenticates"));
    let e = meta(json!({"client_uri": "https://a.example.com", "token_endpoint_auth_method": "magic", "redirect_uris": ["https://a.example.com/cb"]})).unwrap_err();
    assert!(e.description.starts_with("token_endpoint_auth_method:"));
    let e = meta(json!({"client_uri": "https://a.example.com"})).unwrap_err();
    assert_eq!(e.code, "invalid_redirect_uri");
    let cc =
        meta(json!({"client_uri": "https://a.example.com", "grant_types": ["client_credentials"]}))
            .unwrap();
    assert_eq!(cc.0, ClientAuthMethod::ClientSecretBasic);
}
