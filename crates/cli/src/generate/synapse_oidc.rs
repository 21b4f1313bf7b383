//! Synapse's OIDC providers (`oidc_providers`, then the legacy `oidc_config`
//! when enabled, in Synapse's order) as `upstream_oauth2.providers`, each
//! with a fresh id and `synapse_idp_id` set to the `auth_provider` Synapse
//! wrote into `user_external_ids`, so `syn2mas` links its users without a
//! `--upstream-provider-mapping`. The user mapping (`claims_imports`) is in
//! `synapse_mapping`. A provider that cannot work as converted is left out
//! with a warning; a setting mxauth lacks is reported and the rest kept.

use std::collections::BTreeMap;

use mxauth_config::{ClaimsImports, SignInWithAppleConfig, UpstreamProviderConfig};
use mxauth_syn2mas::synapse_config::auth_provider_id;
use serde_norway::{Mapping, Value};
use ulid::Ulid;

use super::{
    synapse::{flag, section, string, Report},
    synapse_mapping,
};

/// The keys of a Synapse OIDC provider this module reads (Synapse's
/// `OIDC_PROVIDER_CONFIG_SCHEMA`, `client_secret_path`, `enabled` of the
/// legacy block); any other is reported.
const KNOWN: &[&str] = &[
    "idp_id",
    "idp_name",
    "idp_icon",
    "idp_brand",
    "discover",
    "issuer",
    "client_id",
    "client_secret",
    "client_secret_path",
    "client_secret_jwt_key",
    "client_auth_method",
    "pkce_method",
    "id_token_signing_alg_values_supported",
    "scopes",
    "authorization_endpoint",
    "token_endpoint",
    "userinfo_endpoint",
    "jwks_uri",
    "skip_verification",
    "backchannel_logout_enabled",
    "backchannel_logout_ignore_sub",
    "user_profile_method",
    "allow_existing_users",
    "user_mapping_provider",
    "attribute_requirements",
    "enable_registration",
    "additional_authorization_parameters",
    "enabled",
];

const APPLE_ISSUER: &str = "https://appleid.apple.com";

/// Every provider Synapse would load, converted; `new_id` names each.
pub fn providers(
    synapse: &Mapping,
    new_id: &mut dyn FnMut() -> Ulid,
    report: &mut Report,
) -> Vec<UpstreamProviderConfig> {
    let mut raw = Vec::new();
    if let Some(list) = synapse.get("oidc_providers").and_then(Value::as_sequence) {
        for (i, provider) in list.iter().enumerate() {
            match provider.as_mapping() {
                Some(provider) => raw.push((format!("oidc_providers[{i}]"), provider)),
                None => report.warn(format!("oidc_providers[{i}] is not a mapping")),
            }
        }
    }
    // Synapse loads the legacy block only with `enabled: true`.
    if let Some(legacy) = section(synapse, "oidc_config") {
        if flag(legacy, "enabled") == Some(true) {
            raw.push(("oidc_config".to_owned(), legacy));
        }
    }
    let mut converted = Vec::new();
    for (label, provider) in raw {
        let index = converted.len();
        if let Some(provider) = convert(provider, &label, index, new_id(), report) {
            converted.push(provider);
        }
    }
    converted
}

/// One provider; `None` (with a warning) when it cannot be used as is.
fn convert(
    raw: &Mapping,
    label: &str,
    index: usize,
    id: Ulid,
    report: &mut Report,
) -> Option<UpstreamProviderConfig> {
    let auth_provider = auth_provider_id(string(raw, "idp_id").as_deref());
    let name = format!("{label} ({auth_provider})");
    let mut skip = |why: String| {
        report.warn(format!("{name} is left out: {why}"));
        None
    };
    let Some(issuer) = string(raw, "issuer") else {
        return skip("it has no issuer".into());
    };
    let Some(client_id) = string(raw, "client_id") else {
        return skip("it has no client_id".into());
    };
    let client_secret = string(raw, "client_secret");
    let client_secret_file = string(raw, "client_secret_path");
    if client_secret.is_some() && client_secret_file.is_some() {
        return skip("it has both client_secret and client_secret_path".into());
    }
    let apple = match section(raw, "client_secret_jwt_key") {
        None => None,
        Some(key) => match apple_key(key, &issuer) {
            Some(apple) => Some(apple),
            None => return skip("its client_secret_jwt_key (a JWT made on the fly as the client secret) has no equivalent, except for Sign in with Apple (issuer https://appleid.apple.com, ES256, kid and iss): configure it by hand, e.g. with token_endpoint_auth_method: private_key_jwt".into()),
        },
    };
    let has_secret = client_secret.is_some() || client_secret_file.is_some();
    // Synapse's defaults: `none` without a secret, else client_secret_basic.
    let method = match (string(raw, "client_auth_method"), &apple) {
        (_, Some(_)) => "sign_in_with_apple".to_owned(),
        (Some(method), None) => method,
        (None, None) if has_secret => "client_secret_basic".to_owned(),
        (None, None) => "none".to_owned(),
    };
    if ![
        "client_secret_basic",
        "client_secret_post",
        "none",
        "sign_in_with_apple",
    ]
    .contains(&method.as_str())
    {
        return skip(format!(
            "client_auth_method {method:?} is not one Synapse accepts"
        ));
    }

    let mut provider = UpstreamProviderConfig {
        id: id.to_string(),
        enabled: true,
        synapse_idp_id: Some(auth_provider.clone()),
        human_name: string(raw, "idp_name"),
        brand_name: string(raw, "idp_brand"),
        issuer: Some(issuer),
        discovery_mode: None,
        authorization_endpoint: string(raw, "authorization_endpoint"),
        token_endpoint: string(raw, "token_endpoint"),
        jwks_uri: string(raw, "jwks_uri"),
        userinfo_endpoint: string(raw, "userinfo_endpoint"),
        client_id,
        client_secret: if apple.is_some() { None } else { client_secret },
        client_secret_file: if apple.is_some() {
            None
        } else {
            client_secret_file
        },
        token_endpoint_auth_method: method,
        token_endpoint_auth_signing_alg: None,
        sign_in_with_apple: apple,
        scope: None,
        pkce_method: string(raw, "pkce_method"),
        response_mode: None,
        fetch_userinfo: false,
        userinfo_signed_response_alg: None,
        id_token_signed_response_alg: None,
        additional_authorization_parameters: BTreeMap::new(),
        forward_login_hint: false,
        on_backchannel_logout: None,
        registration_token_required: false,
        claims_imports: ClaimsImports::default(),
    };
    report.imported(format!(
        "upstream_oauth2.providers[{index}]: {label}, id {id}, synapse_idp_id {auth_provider}"
    ));
    protocol(raw, &name, &mut provider, report);
    provider.claims_imports = synapse_mapping::claims_imports(raw, &name, report);
    unsupported(raw, &name, report);
    Some(provider)
}

/// Sign in with Apple, as Synapse's documentation configures it: the key
/// Apple issued signs an ES256 JWT with `kid` the key id and `iss` the team.
fn apple_key(key: &Mapping, issuer: &str) -> Option<SignInWithAppleConfig> {
    let header = section(key, "jwt_header")?;
    let payload = section(key, "jwt_payload")?;
    if issuer.trim_end_matches('/') != APPLE_ISSUER
        || string(header, "alg").as_deref() != Some("ES256")
    {
        return None;
    }
    Some(SignInWithAppleConfig {
        private_key: string(key, "key"),
        private_key_file: string(key, "key_file"),
        team_id: string(payload, "iss")?,
        key_id: string(header, "kid")?,
    })
}

/// Discovery, scopes, userinfo, algorithms, back-channel logout and extra
/// authorization parameters.
fn protocol(raw: &Mapping, name: &str, p: &mut UpstreamProviderConfig, report: &mut Report) {
    // `discover: false` means the endpoints are given; `skip_verification`
    // keeps discovery but accepts a document that breaks the rules.
    if flag(raw, "discover") == Some(false) {
        p.discovery_mode = Some("disabled".into());
    } else if flag(raw, "skip_verification") == Some(true) {
        p.discovery_mode = Some("insecure".into());
    }
    let scopes: Vec<String> = match raw.get("scopes").and_then(Value::as_sequence) {
        Some(list) => list
            .iter()
            .filter_map(|s| s.as_str().map(str::to_owned))
            .collect(),
        None => vec!["openid".to_owned()],
    };
    let openid = scopes.iter().any(|s| s == "openid");
    p.scope = Some(scopes.join(" "));
    // Synapse's `auto` reads userinfo only without an ID token (no `openid`).
    p.fetch_userinfo =
        string(raw, "user_profile_method").as_deref() == Some("userinfo_endpoint") || !openid;
    if let Some(algs) = raw
        .get("id_token_signing_alg_values_supported")
        .and_then(Value::as_sequence)
    {
        let algs: Vec<&str> = algs.iter().filter_map(Value::as_str).collect();
        match algs.as_slice() {
            [alg] => p.id_token_signed_response_alg = Some((*alg).to_owned()),
            [] => {}
            several => report.warn(format!(
                "{name}: id_token_signing_alg_values_supported lists {}; mxauth checks ID tokens against one algorithm: set id_token_signed_response_alg (RS256 when unset)",
                several.join(", ")
            )),
        }
    }
    if flag(raw, "backchannel_logout_enabled") == Some(true) {
        // Synapse ends the devices of the provider's session: every session.
        p.on_backchannel_logout = Some("logout_all".into());
        if flag(raw, "backchannel_logout_ignore_sub") == Some(true) {
            report.warn(format!("{name}: backchannel_logout_ignore_sub has no equivalent; logout tokens must name the linked subject"));
        }
    }
    if let Some(params) = section(raw, "additional_authorization_parameters") {
        for (key, value) in params {
            let (Some(key), Some(value)) = (key.as_str(), scalar(value)) else {
                report.warn(format!("{name}: an additional_authorization_parameters entry is not text and was left out"));
                continue;
            };
            // Where the answer comes back is a setting of its own here.
            if key == "response_mode" && matches!(value.as_str(), "query" | "form_post") {
                p.response_mode = Some(value);
            } else {
                p.additional_authorization_parameters
                    .insert(key.to_owned(), value);
            }
        }
    }
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Settings mxauth has no equivalent of, and keys this module does not know.
fn unsupported(raw: &Mapping, name: &str, report: &mut Report) {
    if raw.contains_key("idp_icon") {
        report.warn(format!(
            "{name}: idp_icon (an mxc:// image) is not used; buttons show brand_name's icon"
        ));
    }
    if raw
        .get("attribute_requirements")
        .and_then(Value::as_sequence)
        .is_some_and(|r| !r.is_empty())
    {
        report.warn(format!("{name}: attribute_requirements cannot be converted: anyone the provider signs in can now use this server; restrict access at the provider"));
    }
    if flag(raw, "enable_registration") == Some(false) {
        report.warn(format!("{name}: enable_registration: false cannot be converted: people new to this server can register through it"));
    }
    for key in raw.keys().filter_map(Value::as_str) {
        if !KNOWN.contains(&key) {
            report.warn(format!("{name}: {key} is not a setting mxauth knows"));
        }
    }
}
