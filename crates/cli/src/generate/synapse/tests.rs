use std::path::PathBuf;

use mxauth_config::UpstreamProviderConfig;

use super::*;

const HOMESERVER: &str = r#"
server_name: example.com
public_baseurl: https://matrix.example.com/
bcrypt_rounds: 10
enable_registration: true
registrations_require_3pid: [email]
enable_set_displayname: false
enable_3pid_changes: false
enable_registration_captcha: true
recaptcha_public_key: site-key-1
recaptcha_private_key: recaptcha-s3cret
password_config:
  pepper: pepper-s3cret
oidc_providers:
  - idp_id: keycloak
    idp_name: "Company SSO"
    idp_brand: gitlab
    issuer: https://sso.example.com/realms/main
    client_id: synapse
    client_secret_path: /etc/synapse/keycloak-secret
    client_auth_method: client_secret_post
    scopes: [openid, profile, email]
    user_profile_method: userinfo_endpoint
    id_token_signing_alg_values_supported: [ES256]
    backchannel_logout_enabled: true
    additional_authorization_parameters: {prompt: login, response_mode: form_post}
    user_mapping_provider:
      config:
        subject_claim: oid
        localpart_template: "{{ user.email | localpart_from_email }}"
        display_name_template: "{{ user.name }}"
        email_template: "{{ user.email }}"
  - idp_id: github
    idp_name: GitHub
    discover: false
    issuer: https://github.com/
    client_id: 1234
    client_secret: github-s3cret
    authorization_endpoint: https://github.com/login/oauth/authorize
    token_endpoint: https://github.com/login/oauth/access_token
    userinfo_endpoint: https://api.github.com/user
    scopes: [read:user]
    allow_existing_users: true
    user_mapping_provider:
      config:
        subject_template: "{{ user.id }}"
        localpart_template: "{{ user.login }}"
        confirm_localpart: true
oidc_config:
  enabled: true
  issuer: http://127.0.0.1:3000
  client_id: legacy
  skip_verification: true
"#;

fn file(path: &str, text: &str) -> SynapseConfigFile {
    SynapseConfigFile {
        path: PathBuf::from(path),
        text: text.to_owned(),
    }
}

fn ids() -> impl FnMut() -> Ulid {
    let mut n = 0u128;
    move || {
        n += 1;
        Ulid::from_parts(1_700_000_000_000, n)
    }
}

fn import_text(text: &str) -> Imported {
    import(&[file("/etc/synapse/homeserver.yaml", text)], &mut ids()).unwrap()
}

fn providers(document: &Value) -> Vec<UpstreamProviderConfig> {
    serde_norway::from_value(document["upstream_oauth2"]["providers"].clone()).unwrap()
}

#[test]
fn settings_and_password_schemes_follow_synapse() {
    let Imported { document, report } = import_text(HOMESERVER);
    assert_eq!(document["matrix"]["homeserver"], "example.com");
    assert_eq!(
        document["matrix"]["endpoint"],
        "https://matrix.example.com/"
    );
    let schemes: Vec<PasswordSchemeConfig> =
        serde_norway::from_value(document["passwords"]["schemes"].clone()).unwrap();
    assert_eq!(schemes.len(), 2);
    assert_eq!(
        (schemes[0].version, schemes[0].algorithm, schemes[0].cost),
        (1, HashAlgorithm::Bcrypt, Some(10))
    );
    assert_eq!(schemes[0].secret.as_deref(), Some("pepper-s3cret"));
    assert!(schemes[0].unicode_normalization);
    assert_eq!(
        (schemes[1].version, schemes[1].algorithm),
        (2, HashAlgorithm::Argon2id)
    );
    assert_eq!(document["passwords"]["enabled"], true);
    let account = &document["account"];
    assert_eq!(account["password_registration_enabled"], true);
    assert_eq!(account["password_registration_email_required"], true);
    assert_eq!(account["displayname_change_allowed"], false);
    assert_eq!(account["email_change_allowed"], false);
    assert_eq!(document["captcha"]["service"], "recaptcha_v2");
    assert_eq!(document["captcha"]["site_key"], "site-key-1");
    // The summary names keys, never secrets.
    let summary = format!("{report:?}");
    for secret in ["pepper-s3cret", "github-s3cret", "recaptcha-s3cret"] {
        assert!(!summary.contains(secret), "{summary}");
    }
}

#[test]
fn providers_keep_synapse_ids_endpoints_and_mapping() {
    let Imported { document, report } = import_text(HOMESERVER);
    let providers = providers(&document);
    assert_eq!(providers.len(), 3, "{report:?}");
    let [keycloak, github, legacy] = &providers[..] else {
        unreachable!()
    };

    assert_eq!(keycloak.synapse_idp_id.as_deref(), Some("oidc-keycloak"));
    assert_eq!(
        keycloak.id,
        Ulid::from_parts(1_700_000_000_000, 1).to_string()
    );
    assert_eq!(keycloak.human_name.as_deref(), Some("Company SSO"));
    assert_eq!(keycloak.brand_name.as_deref(), Some("gitlab"));
    assert_eq!(keycloak.discovery_mode, None);
    assert_eq!(
        keycloak.client_secret_file.as_deref(),
        Some("/etc/synapse/keycloak-secret")
    );
    assert_eq!(keycloak.token_endpoint_auth_method, "client_secret_post");
    assert_eq!(keycloak.scope.as_deref(), Some("openid profile email"));
    assert!(keycloak.fetch_userinfo);
    assert_eq!(
        keycloak.id_token_signed_response_alg.as_deref(),
        Some("ES256")
    );
    assert_eq!(
        keycloak.on_backchannel_logout.as_deref(),
        Some("logout_all")
    );
    assert_eq!(keycloak.response_mode.as_deref(), Some("form_post"));
    assert_eq!(
        keycloak.additional_authorization_parameters.get("prompt"),
        Some(&"login".to_owned())
    );
    let imports = &keycloak.claims_imports;
    assert_eq!(
        imports.subject.as_ref().and_then(|s| s.template.as_deref()),
        Some("{{ user.oid }}")
    );
    let localpart = imports.localpart.as_ref().unwrap();
    assert_eq!(localpart.action.as_deref(), Some("require"));
    assert_eq!(localpart.on_conflict.as_deref(), Some("fail"));
    assert_eq!(
        localpart.template.as_deref(),
        Some("{{ user.email | split('@') | first }}")
    );
    assert!(imports.skip_confirmation);
    assert_eq!(
        imports.displayname.as_ref().unwrap().action.as_deref(),
        Some("force")
    );
    let email = imports.email.as_ref().unwrap();
    assert_eq!(email.action.as_deref(), Some("force"));
    assert_eq!(email.set_email_verification.as_deref(), Some("always"));

    assert_eq!(github.synapse_idp_id.as_deref(), Some("oidc-github"));
    assert_eq!(github.client_id, "1234");
    assert_eq!(github.discovery_mode.as_deref(), Some("disabled"));
    assert_eq!(
        github.token_endpoint.as_deref(),
        Some("https://github.com/login/oauth/access_token")
    );
    assert_eq!(github.client_secret.as_deref(), Some("github-s3cret"));
    assert_eq!(github.token_endpoint_auth_method, "client_secret_basic");
    // No `openid`: Synapse reads the userinfo endpoint.
    assert!(github.fetch_userinfo);
    let imports = &github.claims_imports;
    assert_eq!(
        imports.subject.as_ref().and_then(|s| s.template.as_deref()),
        Some("{{ user.id }}")
    );
    let localpart = imports.localpart.as_ref().unwrap();
    assert_eq!(
        (
            localpart.action.as_deref(),
            localpart.on_conflict.as_deref()
        ),
        (Some("suggest"), Some("add"))
    );
    assert!(!imports.skip_confirmation);

    assert_eq!(legacy.synapse_idp_id.as_deref(), Some("oidc"));
    assert_eq!(legacy.discovery_mode.as_deref(), Some("insecure"));
    assert_eq!(legacy.token_endpoint_auth_method, "none");
    assert_eq!(legacy.scope.as_deref(), Some("openid"));
    assert!(legacy.claims_imports.subject.is_none());
    assert!(legacy.claims_imports.localpart.is_none());

    let warnings = report.warnings.join("\n");
    assert!(
        warnings.contains("allow_existing_users with confirm_localpart"),
        "{warnings}"
    );
}

#[test]
fn what_cannot_be_converted_is_reported() {
    let Imported { document, report } = import_text(
        r#"
server_name: example.com
password_config: {enabled: only_for_reauth, policy: {enabled: true}}
cas_config: {enabled: true}
oidc_providers:
  - idp_id: jwtkey
    issuer: https://idp.example.com
    client_id: a
    client_secret_jwt_key: {key: k, jwt_header: {alg: HS256}}
  - idp_id: custom
    issuer: https://idp.example.com
    client_id: b
    idp_icon: mxc://example.com/icon
    attribute_requirements: [{attribute: groups, value: staff}]
    enable_registration: false
    id_token_signing_alg_values_supported: [RS256, ES256]
    surprise: 1
    user_mapping_provider:
      config:
        localpart_template: "{{ user.email.split('@')[0] }}"
        subject_template: "{{ user.sub.upper() }}"
        picture_template: "{{ user.picture }}"
  - idp_id: module
    issuer: https://idp.example.com
    client_id: c
    user_mapping_provider: {module: my_module.Mapper, config: {}}
"#,
    );
    let warnings = report.warnings.join("\n");
    for expected in [
        "oidc_providers[0] (oidc-jwtkey) is left out: its client_secret_jwt_key",
        "password_config.enabled is only_for_reauth",
        "password_config.policy",
        "cas_config",
        "idp_icon",
        "attribute_requirements cannot be converted",
        "enable_registration: false cannot be converted",
        "lists RS256, ES256",
        "surprise is not a setting mxauth knows",
        "localpart_template cannot be converted (unknown method",
        "subject_template was kept as written",
        "picture_template is not used",
        "the mapping module my_module.Mapper cannot be converted",
        "Synapse has no public_baseurl",
    ] {
        assert!(
            warnings.contains(expected),
            "{expected:?} not in\n{warnings}"
        );
    }
    assert_eq!(document["passwords"]["enabled"], false);
    let providers = providers(&document);
    assert_eq!(providers.len(), 2);
    let custom = &providers[0].claims_imports;
    assert!(custom.localpart.is_none());
    // Kept as written: a subject that renders wrongly would miss every link.
    assert_eq!(
        custom.subject.as_ref().and_then(|s| s.template.as_deref()),
        Some("{{ user.sub.upper() }}")
    );
    assert!(providers[1].claims_imports.subject.is_none());
}

#[test]
fn sign_in_with_apple_keeps_its_key() {
    let Imported { document, .. } = import_text(
        r#"
server_name: example.com
oidc_providers:
  - idp_id: apple
    issuer: https://appleid.apple.com
    client_id: com.example.sso
    client_auth_method: client_secret_post
    client_secret_jwt_key:
      key_file: /etc/synapse/AuthKey_KEY123.p8
      jwt_header: {alg: ES256, kid: KEY123}
      jwt_payload: {iss: TEAM456}
"#,
    );
    let apple = &providers(&document)[0];
    assert_eq!(apple.token_endpoint_auth_method, "sign_in_with_apple");
    let key = apple.sign_in_with_apple.as_ref().unwrap();
    assert_eq!(
        (key.team_id.as_str(), key.key_id.as_str()),
        ("TEAM456", "KEY123")
    );
    assert_eq!(
        key.private_key_file.as_deref(),
        Some("/etc/synapse/AuthKey_KEY123.p8")
    );
    assert!(apple.client_secret.is_none() && apple.client_secret_file.is_none());
}

#[test]
fn files_merge_by_top_level_key_as_in_synapse() {
    let imported = import(
        &[
            file(
                "/etc/synapse/homeserver.yaml",
                "server_name: a.org\nenable_set_displayname: false\n",
            ),
            file(
                "/etc/synapse/conf.d/oidc.yaml",
                "server_name: b.org\noidc_providers: [{idp_id: x, issuer: 'https://x', client_id: c}]\n",
            ),
        ],
        &mut ids(),
    )
    .unwrap();
    assert_eq!(imported.document["matrix"]["homeserver"], "b.org");
    assert_eq!(
        imported.document["account"]["displayname_change_allowed"],
        false
    );
    assert_eq!(providers(&imported.document).len(), 1);
    // Synapse's defaults when nothing is said.
    assert_eq!(imported.document["account"]["email_change_allowed"], true);
    assert_eq!(
        imported.document["account"]["password_registration_enabled"],
        false
    );
    let err = import(&[file("/x.yaml", "public_baseurl: https://x/")], &mut ids()).err();
    assert!(matches!(err, Some(SynapseConfigError::NoServerName)));
}
