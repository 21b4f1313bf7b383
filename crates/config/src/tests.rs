//! Tests of the rules the schema alone cannot express, and of the list of
//! keys that are accepted but not acted on yet.

use super::*;

pub(super) const MINIMAL: &str = "
secrets:
  encryption: 0000000000000000000000000000000000000000000000000000000000000000
  keys: [{key: x}]
matrix: {secret: s}
";

pub(super) fn parse(extra: &str) -> RootConfig {
    let mut value: serde_norway::Value = serde_norway::from_str(MINIMAL).unwrap();
    let extra: serde_norway::Value = serde_norway::from_str(extra).unwrap();
    if let (serde_norway::Value::Mapping(base), serde_norway::Value::Mapping(extra)) =
        (&mut value, extra)
    {
        for (k, v) in extra {
            base.insert(k, v);
        }
    }
    serde_norway::from_value(value).unwrap()
}

fn errors(extra: &str) -> Vec<String> {
    parse(extra)
        .validate()
        .iter()
        .map(ToString::to_string)
        .collect()
}

pub(super) fn paths(issues: Vec<ConfigIssue>) -> Vec<String> {
    issues.into_iter().map(|i| i.path).collect()
}

#[test]
fn minimal_config_is_valid() {
    assert_eq!(errors("{}"), Vec::<String>::new());
}

#[test]
fn secret_and_its_file_are_exclusive_and_required() {
    let err = errors("matrix: {secret: a, secret_file: /b}");
    assert_eq!(
        err,
        vec!["matrix.secret: give either secret or secret_file, not both"]
    );
    let err = errors("matrix: {homeserver: example.com}");
    assert_eq!(
        err,
        vec!["matrix.secret: missing: give secret or secret_file"]
    );
}

#[test]
fn encryption_key_must_be_64_hex_digits() {
    let err = errors("secrets: {encryption: nothex, keys: [{key: x}]}");
    assert!(
        err[0].starts_with("secrets.encryption: must be 64 hexadecimal digits"),
        "{err:?}"
    );
    let err = errors("secrets: {encryption_file: /k}");
    assert!(
        err[0].starts_with("secrets.keys: at least one signing key"),
        "{err:?}"
    );
}

#[test]
fn password_scheme_versions_are_unique_and_cost_is_bcrypt_only() {
    let err = errors(
        "passwords: {schemes: [{version: 1, algorithm: bcrypt, cost: 40}, {version: 1, algorithm: argon2id, cost: 3}]}",
    );
    assert_eq!(
        err,
        vec![
            "passwords.schemes[0].cost: bcrypt cost must be between 4 and 31",
            "passwords.schemes[1].version: version 1 appears twice; versions must be unique",
            "passwords.schemes[1].cost: cost applies to bcrypt only",
        ]
    );
}

#[test]
fn database_uri_excludes_separate_fields() {
    let err = errors("database: {uri: 'postgresql://x', host: db}");
    assert!(
        err[0].starts_with("database.uri: give either uri or"),
        "{err:?}"
    );
    let err = errors("database: {uri: 'mysql://x'}");
    assert!(err[0].contains("must start with postgresql://"), "{err:?}");
    let fields = parse("database: {host: db, username: mas}").database;
    assert_eq!(fields.effective_uri(), None);
}

#[test]
fn binds_take_exactly_one_shape() {
    let err = errors(
        "http: {listeners: [{resources: [], binds: [{address: '[::]:1', port: 2}, {host: a}, {}]}]}",
    );
    assert_eq!(
        err,
        vec![
            "http.listeners[0].binds[0]: give exactly one of: address; host and port; socket (and mode); fd (and kind)",
            "http.listeners[0].binds[1]: host needs a port, and mode needs a socket",
            "http.listeners[0].binds[2]: give exactly one of: address; host and port; socket (and mode); fd (and kind)",
        ]
    );
}

#[test]
fn http_limits_have_defaults_and_reject_zero() {
    assert_eq!(parse("{}").http.limits, HttpLimits::default());
    let limits = parse("http: {limits: {header_read_timeout: 5, max_connections: 50}}")
        .http
        .limits;
    assert_eq!(
        (limits.header_read_timeout, limits.max_connections),
        (5, 50)
    );
    assert_eq!(limits.idle_timeout, HttpLimits::default().idle_timeout);
    assert!(serde_norway::from_str::<HttpLimits>("header_timeout: 5").is_err());
    assert_eq!(
        errors("http: {limits: {idle_timeout: 0}}"),
        vec!["http.limits.idle_timeout: must be at least 1"]
    );
    // Defaults are left out of a written file, so MAS can still read it.
    let written = serde_norway::to_string(&parse("{}").http).unwrap();
    assert!(!written.contains("limits"), "{written}");
}

#[test]
fn static_clients_need_ulids_and_secrets_for_secret_methods() {
    let err = errors("clients: [{client_id: nope, client_auth_method: client_secret_basic}]");
    assert_eq!(err.len(), 2, "{err:?}");
    assert!(err[0].starts_with("clients[0].client_id:"));
    assert!(err[1].starts_with("clients[0].client_secret: this client_auth_method needs"));
}

#[test]
fn upstream_enumerations_list_allowed_values() {
    let err = errors(
        "upstream_oauth2: {providers: [{id: 01H8PKNWKKRPCBW4YGH1RWV279, issuer: \"https://idp.example\", client_id: c, token_endpoint_auth_method: magic}]}",
    );
    assert_eq!(err.len(), 1, "{err:?}");
    assert!(err[0].starts_with(
        "upstream_oauth2.providers[0].token_endpoint_auth_method: \"magic\" is not one of none,"
    ));
}

/// What a provider needs for the sign-in to work is checked up front, each
/// problem named by its path.
#[test]
fn upstream_providers_name_what_their_sign_in_lacks() {
    let provider = |rest: &str| {
        errors(&format!(
            "upstream_oauth2: {{providers: [{{id: 01H8PKNWKKRPCBW4YGH1RWV279, client_id: c, {rest}}}]}}"
        ))
    };
    let err = provider(
        "issuer: \"https://idp.example\", token_endpoint_auth_method: client_secret_basic",
    );
    assert_eq!(err, ["upstream_oauth2.providers[0].client_secret: missing: token_endpoint_auth_method client_secret_basic needs client_secret or client_secret_file"]);
    let err = provider("token_endpoint_auth_method: none, discovery_mode: disabled, authorization_endpoint: \"https://idp.example/auth\"");
    assert_eq!(err.len(), 1, "{err:?}");
    assert!(
        err[0].starts_with("upstream_oauth2.providers[0].token_endpoint: missing"),
        "{err:?}"
    );
    let err = provider("token_endpoint_auth_method: none");
    assert!(
        err[0].starts_with("upstream_oauth2.providers[0].issuer: missing"),
        "{err:?}"
    );
    let err =
        provider("issuer: \"https://idp.example\", token_endpoint_auth_method: sign_in_with_apple");
    assert!(
        err[0].starts_with("upstream_oauth2.providers[0].sign_in_with_apple: missing"),
        "{err:?}"
    );
    let err = provider("issuer: \"not a url\", token_endpoint_auth_method: none");
    assert_eq!(
        err,
        ["upstream_oauth2.providers[0].issuer: \"not a url\" is not a URL"]
    );
    assert!(provider("issuer: \"https://idp.example\", token_endpoint_auth_method: client_secret_post, client_secret: s").is_empty());
}

#[test]
fn unbuilt_features_are_named_only_when_used() {
    let quiet = paths(parse("{}").unbuilt());
    // graphql and assets of MAS's default listener are not built.
    assert_eq!(
        quiet,
        vec![
            "http.listeners[0].resources[4]",
            "http.listeners[0].resources[5]",
        ]
    );
    let loud = paths(parse(
        "account: {login_with_email_allowed: true}\ntelemetry: {metrics: {exporter: otlp}}\nbranding: {imprint: x}",
    )
    .unbuilt());
    for path in [
        "account.login_with_email_allowed",
        "telemetry.metrics.exporter",
        "branding",
    ] {
        assert!(
            loud.contains(&path.to_owned()),
            "{path} missing from {loud:?}"
        );
    }
}

#[test]
fn trusted_proxies_match_networks_even_with_host_bits_set() {
    let net: IpNetwork = "127.0.0.1/8".parse().unwrap();
    assert!(net.contains("127.9.9.9".parse().unwrap()));
    assert!(!net.contains("128.0.0.1".parse().unwrap()));
    assert!(net.contains("::ffff:127.0.0.2".parse().unwrap()));
    let v6: IpNetwork = "fd00::/8".parse().unwrap();
    assert!(v6.contains("fd12::1".parse().unwrap()));
    assert!(!v6.contains("fe80::1".parse().unwrap()));
    let any: IpNetwork = "0.0.0.0/0".parse().unwrap();
    assert!(any.contains("8.8.8.8".parse().unwrap()));
    assert!("10.0.0.0/33".parse::<IpNetwork>().is_err());
    assert!("nonsense".parse::<IpNetwork>().is_err());
}

#[test]
fn unreachable_or_plain_http_public_urls_get_advice() {
    let advice = parse("{}").advice();
    assert_eq!(advice.len(), 1, "{advice:?}");
    assert!(
        advice[0].message.contains("listening address"),
        "{advice:?}"
    );
    let advice = parse("http: {public_base: 'http://auth.example.com/'}").advice();
    assert!(advice[0].message.contains("not https"), "{advice:?}");
    assert!(parse("http: {public_base: 'https://auth.example.com/'}")
        .advice()
        .is_empty());
    assert!(parse("http: {public_base: 'http://localhost:8080/'}")
        .advice()
        .is_empty());
    let advice =
        parse("http: {public_base: 'https://a.example.com/', issuer: 'http://[::]:8080/'}")
            .advice();
    assert_eq!(advice[0].path, "http.issuer");
}

#[test]
fn captcha_needs_a_known_service_and_both_keys() {
    let issues = paths(parse("captcha: {service: recaptcha_v3, site_key: a}").validate());
    assert!(issues.contains(&"captcha.service".to_owned()), "{issues:?}");
    assert!(
        issues.contains(&"captcha.secret_key".to_owned()),
        "{issues:?}"
    );
    let fine = parse("captcha: {service: hcaptcha, site_key: a, secret_key: b}").validate();
    assert!(paths(fine).iter().all(|p| !p.starts_with("captcha")));
}

#[test]
fn registration_and_recovery_need_passwords() {
    let issues = paths(
        parse("passwords: {enabled: false}\naccount: {password_registration_enabled: true, password_recovery_enabled: true}")
            .validate(),
    );
    assert!(
        issues.contains(&"account.password_registration_enabled".to_owned()),
        "{issues:?}"
    );
    assert!(
        issues.contains(&"account.password_recovery_enabled".to_owned()),
        "{issues:?}"
    );
}
