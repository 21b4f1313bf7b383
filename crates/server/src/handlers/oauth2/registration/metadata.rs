//! The client metadata of a registration request (RFC 7591 §2, OIDC
//! Registration §2) and MAS's rules for it (MSC2966), plus limits of our
//! own: no field may be long enough to bloat the database, no signing
//! algorithm the server cannot use may be accepted (the token endpoint
//! would fail later), and a `jwks_uri` must name a public host (it is
//! fetched later, and must not reach this machine's network).

use mxauth_model::oauth2::{ClientAuthMethod, GrantTypes};
use serde::Deserialize;
use serde_json::Value;
use url::Url;

use crate::{errors::OAuthError, outbound, policy::ClientRegistrationRules};
use mxauth_crypto::jose::JwsAlgorithm;

/// The metadata mxauth reads (RFC 7591 §2, OIDC Registration §2). Other
/// members, including localised `client_name#fr` forms, are ignored.
#[derive(Debug, Deserialize)]
pub(super) struct Metadata {
    #[serde(default)]
    pub(super) redirect_uris: Vec<String>,
    #[serde(default)]
    pub(super) response_types: Option<Vec<String>>,
    #[serde(default)]
    pub(super) grant_types: Option<Vec<String>>,
    pub(super) application_type: Option<String>,
    #[serde(default)]
    pub(super) contacts: Vec<String>,
    pub(super) client_name: Option<String>,
    pub(super) logo_uri: Option<String>,
    pub(super) client_uri: Option<String>,
    pub(super) policy_uri: Option<String>,
    pub(super) tos_uri: Option<String>,
    pub(super) jwks_uri: Option<String>,
    pub(super) jwks: Option<Value>,
    pub(super) id_token_signed_response_alg: Option<String>,
    pub(super) userinfo_signed_response_alg: Option<String>,
    pub(super) token_endpoint_auth_method: Option<String>,
    pub(super) token_endpoint_auth_signing_alg: Option<String>,
    pub(super) initiate_login_uri: Option<String>,
}

fn metadata_error(field: &str, problem: &str) -> OAuthError {
    OAuthError::invalid_client_metadata(format!("{field}: {problem}"))
}

/// `host` is `base` or one of its subdomains.
fn same_site(host: &str, base: &str) -> bool {
    host == base || host.ends_with(&format!(".{base}"))
}

/// What the rules compare URIs with: the host of `client_uri` (none when
/// the policy data lets clients leave it out) and the policy data's
/// `client_registration` switches.
#[derive(Clone, Copy)]
struct UriRules<'a> {
    client_host: Option<&'a str>,
    policy: ClientRegistrationRules,
}

/// `https`, or plain `http` where `allow_insecure_uris` says so.
fn scheme_allowed(url: &Url, policy: ClientRegistrationRules) -> bool {
    url.scheme() == "https" || (url.scheme() == "http" && policy.allow_insecure_uris)
}

impl UriRules<'_> {
    /// `host` is on the client's site, or need not be: `allow_host_mismatch`,
    /// or no `client_uri` to compare with.
    fn host_allowed(&self, host: &str) -> bool {
        match self.client_host {
            Some(client_host) => self.policy.allow_host_mismatch || same_site(host, client_host),
            None => true,
        }
    }

    fn client_host_name(&self) -> &str {
        self.client_host.unwrap_or("(none)")
    }
}

/// A URI shown to people (logo, policy, terms…): https, on the client's host.
fn check_site_uri(field: &str, value: &Option<String>, rules: UriRules) -> Result<(), OAuthError> {
    let Some(value) = value else { return Ok(()) };
    let url = Url::parse(value).map_err(|_| metadata_error(field, "is not an absolute URI"))?;
    if !scheme_allowed(&url, rules.policy) {
        return Err(metadata_error(field, "must use https"));
    }
    match url.host_str() {
        Some(host) if rules.host_allowed(host) => Ok(()),
        _ => Err(metadata_error(
            field,
            &format!("must be on the client's host {}", rules.client_host_name()),
        )),
    }
}

fn is_loopback(url: &Url) -> bool {
    matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"))
}

/// A host that is itself a public suffix (`co.uk`, `github.io`, per the
/// Public Suffix List) identifies no one: anyone can register below it.
fn is_public_suffix(host: &str) -> bool {
    psl::domain(host.as_bytes()).is_none()
}

fn check_redirect_uri(uri: &str, native: bool, rules: UriRules) -> Result<(), OAuthError> {
    let bad = |why: &str| OAuthError::invalid_redirect_uri(format!("redirect_uris: {uri:?} {why}"));
    let url = Url::parse(uri).map_err(|_| bad("is not an absolute URI"))?;
    if url.fragment().is_some() {
        return Err(bad("must not have a fragment"));
    }
    let on_site = |url: &Url| match url.host_str() {
        Some(host) if rules.host_allowed(host) => Ok(()),
        _ => Err(bad(&format!(
            "must be on the client's host {}",
            rules.client_host_name()
        ))),
    };
    match url.scheme() {
        "https" => on_site(&url),
        "http" if native && is_loopback(&url) => Ok(()),
        "http" if rules.policy.allow_insecure_uris => on_site(&url),
        "http" => Err(bad(
            "must use https (plain http only for native apps on a loopback address)",
        )),
        scheme if native => {
            // MSC2966: a private-use scheme in reverse-DNS form of a domain
            // the client controls, e.g. io.element.app for element.io.
            let reversed: Vec<&str> = scheme.split('.').rev().collect();
            let domain = reversed.join(".");
            let ours = |client_host: &str| {
                reversed.len() >= 2
                    && (same_site(&domain, client_host) || same_site(client_host, &domain))
            };
            match rules.client_host {
                Some(client_host) if !rules.policy.allow_host_mismatch && !ours(client_host) => {
                    Err(bad(&format!(
                        "has a custom scheme that is not the reverse-DNS form of {client_host}"
                    )))
                }
                _ => Ok(()),
            }
        }
        _ => Err(bad("must use https")),
    }
}

fn grant_types(metadata: &Metadata) -> Result<GrantTypes, OAuthError> {
    let requested = metadata
        .grant_types
        .clone()
        .unwrap_or_else(|| vec!["authorization_code".into()]);
    let mut grants = GrantTypes::default();
    for grant in &requested {
        match grant.as_str() {
            "authorization_code" => grants.authorization_code = true,
            "refresh_token" => grants.refresh_token = true,
            "client_credentials" => grants.client_credentials = true,
            // The device grant is not built yet: dropped, as MAS drops it
            // when the device grant is disabled.
            "urn:ietf:params:oauth:grant-type:device_code" => {}
            other => {
                return Err(metadata_error(
                    "grant_types",
                    &format!("{other:?} is not supported"),
                ))
            }
        }
    }
    if let Some(types) = &metadata.response_types {
        if types.iter().any(|t| t != "code") {
            return Err(metadata_error(
                "response_types",
                "only \"code\" is supported",
            ));
        }
    }
    Ok(grants)
}

/// The longest URI accepted in any field: browsers and proxies handle
/// 2,000 characters; nothing legitimate needs more.
const MAX_URI_LEN: usize = 2000;
/// The longest display name or contact.
const MAX_NAME_LEN: usize = 256;
/// The most redirect URIs, contacts or listed values one client may have.
const MAX_LIST_LEN: usize = 20;
/// The largest inline `jwks`, serialised.
const MAX_JWKS_LEN: usize = 16 * 1024;

fn too_long(field: &str, max: usize) -> OAuthError {
    metadata_error(field, &format!("is longer than {max} characters"))
}

/// Per-field limits, so a registration cannot store megabytes.
fn check_sizes(metadata: &Metadata) -> Result<(), OAuthError> {
    for (field, value, max) in [
        ("client_name", &metadata.client_name, MAX_NAME_LEN),
        ("logo_uri", &metadata.logo_uri, MAX_URI_LEN),
        ("client_uri", &metadata.client_uri, MAX_URI_LEN),
        ("policy_uri", &metadata.policy_uri, MAX_URI_LEN),
        ("tos_uri", &metadata.tos_uri, MAX_URI_LEN),
        ("jwks_uri", &metadata.jwks_uri, MAX_URI_LEN),
        (
            "initiate_login_uri",
            &metadata.initiate_login_uri,
            MAX_URI_LEN,
        ),
        ("application_type", &metadata.application_type, MAX_NAME_LEN),
        (
            "token_endpoint_auth_method",
            &metadata.token_endpoint_auth_method,
            MAX_NAME_LEN,
        ),
    ] {
        if value.as_ref().is_some_and(|v| v.chars().count() > max) {
            return Err(too_long(field, max));
        }
    }
    let lists: [(&str, &[String], usize); 4] = [
        ("redirect_uris", &metadata.redirect_uris, MAX_URI_LEN),
        ("contacts", &metadata.contacts, MAX_NAME_LEN),
        (
            "grant_types",
            metadata.grant_types.as_deref().unwrap_or_default(),
            MAX_NAME_LEN,
        ),
        (
            "response_types",
            metadata.response_types.as_deref().unwrap_or_default(),
            MAX_NAME_LEN,
        ),
    ];
    for (field, values, max) in lists {
        if values.len() > MAX_LIST_LEN {
            return Err(metadata_error(
                field,
                &format!("has more than {MAX_LIST_LEN} entries"),
            ));
        }
        if values.iter().any(|v| v.chars().count() > max) {
            return Err(metadata_error(
                field,
                &format!("has an entry longer than {max} characters"),
            ));
        }
    }
    if metadata
        .jwks
        .as_ref()
        .is_some_and(|jwks| jwks.to_string().len() > MAX_JWKS_LEN)
    {
        return Err(metadata_error(
            "jwks",
            &format!("is larger than {MAX_JWKS_LEN} bytes"),
        ));
    }
    Ok(())
}

/// `id_token_signed_response_alg` and `userinfo_signed_response_alg` must
/// name an algorithm one of the server's keys signs with (OIDC
/// Registration §2); `token_endpoint_auth_signing_alg` one the server can
/// verify. Accepting others would make every later token request fail.
fn check_algorithms(metadata: &Metadata, signable: &[JwsAlgorithm]) -> Result<(), OAuthError> {
    let supported = || {
        signable
            .iter()
            .map(|a| a.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    for (field, value) in [
        (
            "id_token_signed_response_alg",
            &metadata.id_token_signed_response_alg,
        ),
        (
            "userinfo_signed_response_alg",
            &metadata.userinfo_signed_response_alg,
        ),
    ] {
        let Some(name) = value else { continue };
        match name.parse::<JwsAlgorithm>() {
            Ok(alg) if signable.contains(&alg) => {}
            _ => {
                return Err(metadata_error(
                    field,
                    &format!(
                        "{name:?} is not one this server signs with ({})",
                        supported()
                    ),
                ))
            }
        }
    }
    if let Some(name) = &metadata.token_endpoint_auth_signing_alg {
        if name.parse::<JwsAlgorithm>().is_err() {
            return Err(metadata_error(
                "token_endpoint_auth_signing_alg",
                &format!("{name:?} is not a supported JWS algorithm"),
            ));
        }
    }
    Ok(())
}

/// Checks the metadata; `signable` are the algorithms the server's keys
/// sign with, `policy` the policy data's `client_registration` switches.
pub(super) fn validate(
    metadata: &Metadata,
    signable: &[JwsAlgorithm],
    policy: ClientRegistrationRules,
) -> Result<(ClientAuthMethod, GrantTypes, bool), OAuthError> {
    check_sizes(metadata)?;
    check_algorithms(metadata, signable)?;
    let client_url = match metadata.client_uri.as_deref() {
        Some(client_uri) => Some(
            Url::parse(client_uri)
                .map_err(|_| metadata_error("client_uri", "is not an absolute URI"))?,
        ),
        None if policy.allow_missing_client_uri => None,
        None => return Err(metadata_error("client_uri", "is required")),
    };
    let client_host = match &client_url {
        Some(url) => {
            if !scheme_allowed(url, policy) {
                return Err(metadata_error("client_uri", "must use https"));
            }
            let host = url.host_str().unwrap_or_default().to_owned();
            if is_public_suffix(&host) {
                return Err(metadata_error(
                    "client_uri",
                    &format!("{host} is a public suffix, not a site"),
                ));
            }
            Some(host)
        }
        None => None,
    };
    let rules = UriRules {
        client_host: client_host.as_deref(),
        policy,
    };
    for (field, value) in [
        ("logo_uri", &metadata.logo_uri),
        ("policy_uri", &metadata.policy_uri),
        ("tos_uri", &metadata.tos_uri),
        ("initiate_login_uri", &metadata.initiate_login_uri),
    ] {
        check_site_uri(field, value, rules)?;
    }
    let native = match metadata.application_type.as_deref() {
        None | Some("web") => false,
        Some("native") => true,
        Some(other) => {
            return Err(metadata_error(
                "application_type",
                &format!("{other:?} is not web or native"),
            ))
        }
    };
    let method: ClientAuthMethod = metadata
        .token_endpoint_auth_method
        .as_deref()
        .unwrap_or("client_secret_basic")
        .parse()
        .map_err(|e: mxauth_model::oauth2::UnknownAuthMethod| {
            metadata_error("token_endpoint_auth_method", &e.to_string())
        })?;
    let grants = grant_types(metadata)?;
    if grants.authorization_code && metadata.redirect_uris.is_empty() {
        return Err(OAuthError::invalid_redirect_uri(
            "redirect_uris: required for the authorization_code grant",
        ));
    }
    for uri in &metadata.redirect_uris {
        check_redirect_uri(uri, native, rules)?;
    }
    if grants.client_credentials && method == ClientAuthMethod::None {
        return Err(metadata_error(
            "grant_types",
            "client_credentials needs a client that authenticates",
        ));
    }
    if method == ClientAuthMethod::PrivateKeyJwt
        && metadata.jwks.is_none() == metadata.jwks_uri.is_none()
    {
        return Err(metadata_error(
            "jwks",
            "private_key_jwt needs exactly one of jwks or jwks_uri",
        ));
    }
    if let Some(jwks_uri) = &metadata.jwks_uri {
        check_site_uri("jwks_uri", &Some(jwks_uri.clone()), rules)?;
        // Fetched by this server later: https only, whatever the policy,
        // and never an IP literal or a local name.
        let url = Url::parse(jwks_uri).ok();
        let host = url.as_ref().and_then(Url::host_str).unwrap_or_default();
        if url.as_ref().map(Url::scheme) != Some("https") {
            return Err(metadata_error("jwks_uri", "must use https"));
        }
        if !outbound::is_public_host_name(host) {
            return Err(metadata_error(
                "jwks_uri",
                &format!("{host} is not a public host name"),
            ));
        }
    }
    Ok((method, grants, native))
}

#[cfg(test)]
#[path = "metadata_tests.rs"]
mod tests;
