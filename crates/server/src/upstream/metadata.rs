//! Where a provider's endpoints are and which keys sign its tokens:
//! OIDC Discovery 1.0 (§4) with the configured overrides on top, and the
//! provider's JWK Set. Both are cached per process (one hour), so a login
//! costs no extra round trips; the JWK Set is fetched again once when a
//! token names a key it does not have (the provider rotated its keys).
//!
//! A provider cannot make mxauth fetch private addresses: URLs the
//! administrator wrote (the issuer, the overrides) and URLs on the issuer's
//! own host may be anywhere; any other URL from the discovery document must
//! be a public address ([`Origin::Untrusted`]).

use std::{collections::HashMap, sync::Arc};

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::Mutex;
use url::Url;

use super::{
    provider::{DiscoveryMode, Provider},
    UpstreamError,
};
use crate::outbound::{Origin, Outbound};

/// How long discovery documents and JWK Sets are reused.
const CACHE_TTL_MINUTES: i64 = 60;
/// After a refetch for an unknown `kid`, the next one waits this long, so
/// tokens naming made-up keys cannot make us hammer the provider.
const JWKS_REFETCH_SECONDS: i64 = 30;
/// The largest discovery document or JWK Set read.
const DOCUMENT_LIMIT: usize = 256 * 1024;

/// The endpoints of a provider, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// The issuer ID tokens must carry (`iss`).
    pub issuer: Option<String>,
    pub authorization_endpoint: Url,
    pub token_endpoint: Url,
    pub jwks_uri: Option<Url>,
    pub userinfo_endpoint: Option<Url>,
    /// `code_challenge_methods_supported` contains `S256` (RFC 8414 §2).
    pub supports_s256: bool,
    /// Hosts the administrator wrote (the issuer's, the overrides'): URLs
    /// there are trusted as configuration.
    trusted_hosts: Vec<String>,
}

impl Endpoints {
    /// How to fetch `url`: trusted on the issuer's host, public-only
    /// elsewhere. Overrides are checked by the caller.
    pub fn origin_of(&self, url: &Url) -> Origin {
        match url.host_str() {
            Some(host)
                if self
                    .trusted_hosts
                    .iter()
                    .any(|t| t.eq_ignore_ascii_case(host)) =>
            {
                Origin::Trusted
            }
            _ => Origin::Untrusted,
        }
    }
}

/// The part of a discovery document mxauth reads (OIDC Discovery §3).
#[derive(Debug, Deserialize)]
struct Discovered {
    issuer: Option<String>,
    authorization_endpoint: Option<String>,
    token_endpoint: Option<String>,
    jwks_uri: Option<String>,
    userinfo_endpoint: Option<String>,
    #[serde(default)]
    response_types_supported: Vec<String>,
    #[serde(default)]
    code_challenge_methods_supported: Vec<String>,
    #[serde(default)]
    id_token_signing_alg_values_supported: Option<Vec<String>>,
}

/// Values by key, each with the time it was fetched.
type Timed<T> = Mutex<HashMap<String, (DateTime<Utc>, Arc<T>)>>;

/// A JWK Set, when it was fetched, and whether that fetch was a refetch
/// for an unknown key.
struct CachedJwks {
    at: DateTime<Utc>,
    jwks: Arc<Value>,
    refetched: bool,
}

#[derive(Default)]
pub struct MetadataCache {
    endpoints: Timed<Endpoints>,
    jwks: Mutex<HashMap<String, CachedJwks>>,
}

impl std::fmt::Debug for MetadataCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetadataCache")
    }
}

fn parse_url(value: &str, what: &str) -> Result<Url, UpstreamError> {
    Url::parse(value).map_err(|_| UpstreamError::Metadata(format!("{what} {value:?} is not a URL")))
}

fn configured_url(value: &Option<String>, what: &str) -> Result<Option<Url>, UpstreamError> {
    value
        .as_deref()
        .map(|v| {
            Url::parse(v)
                .map_err(|_| UpstreamError::Misconfigured(format!("{what} {v:?} is not a URL")))
        })
        .transpose()
}

impl MetadataCache {
    /// The provider's endpoints, from the cache or discovered now.
    pub async fn endpoints(
        &self,
        outbound: &Outbound,
        provider: &Provider,
        now: DateTime<Utc>,
    ) -> Result<Arc<Endpoints>, UpstreamError> {
        // The settings are part of the key: a changed configuration (after
        // a sync) is never served stale endpoints.
        let key = format!(
            "{}:{}",
            provider.id,
            serde_json::to_string(&provider.config).unwrap_or_default()
        );
        if let Some((at, endpoints)) = self.endpoints.lock().await.get(&key) {
            if now - *at < Duration::minutes(CACHE_TTL_MINUTES) {
                return Ok(endpoints.clone());
            }
        }
        let endpoints = Arc::new(resolve(outbound, provider).await?);
        self.endpoints
            .lock()
            .await
            .insert(key, (now, endpoints.clone()));
        Ok(endpoints)
    }

    /// The JWK Set at `uri`; with `refresh`, fetched again unless it was
    /// fetched moments ago.
    pub async fn jwks(
        &self,
        outbound: &Outbound,
        endpoints: &Endpoints,
        uri: &Url,
        now: DateTime<Utc>,
        refresh: bool,
    ) -> Result<Arc<Value>, UpstreamError> {
        if let Some(cached) = self.jwks.lock().await.get(uri.as_str()) {
            let age = now - cached.at;
            let fresh = age < Duration::minutes(CACHE_TTL_MINUTES);
            // A key rotation is picked up by the first token naming the new
            // key; refetches back to back wait.
            let refetch_waits = cached.refetched && age < Duration::seconds(JWKS_REFETCH_SECONDS);
            if fresh && (!refresh || refetch_waits) {
                return Ok(cached.jwks.clone());
            }
        }
        let body = outbound
            .get_limited(endpoints.origin_of(uri), uri.as_str(), DOCUMENT_LIMIT)
            .await
            .map_err(|e| UpstreamError::Unreachable(format!("its JWK Set at {uri}: {e}")))?;
        let jwks: Value = serde_json::from_slice(&body)
            .map_err(|_| UpstreamError::Metadata(format!("its JWK Set at {uri} is not JSON")))?;
        if !jwks.get("keys").is_some_and(Value::is_array) {
            return Err(UpstreamError::Metadata(format!(
                "its JWK Set at {uri} has no \"keys\" array (RFC 7517 §5)"
            )));
        }
        let jwks = Arc::new(jwks);
        let cached = CachedJwks {
            at: now,
            jwks: jwks.clone(),
            refetched: refresh,
        };
        self.jwks
            .lock()
            .await
            .insert(uri.as_str().to_owned(), cached);
        Ok(jwks)
    }
}

/// Discovery (unless disabled), checked per the mode, then the overrides.
async fn resolve(outbound: &Outbound, provider: &Provider) -> Result<Endpoints, UpstreamError> {
    let config = &provider.config;
    let mode = provider.discovery_mode();
    let issuer = configured_url(&config.issuer, "issuer")?;
    let discovered = match (mode, &issuer) {
        (DiscoveryMode::Disabled, _) => None,
        (_, None) => {
            return Err(UpstreamError::Misconfigured(
                "it has no issuer to discover its endpoints from (set issuer, or discovery_mode: disabled with the endpoints)".into(),
            ))
        }
        (_, Some(issuer)) => Some(discover(outbound, issuer).await?),
    };
    if let (DiscoveryMode::Oidc, Some(doc)) = (mode, &discovered) {
        check_strictly(doc, config.issuer.as_deref().unwrap_or_default(), provider)?;
    }
    let from_doc = |value: Option<&String>, what: &str| -> Result<Option<Url>, UpstreamError> {
        value.map(|v| parse_url(v, what)).transpose()
    };
    let doc = discovered.as_ref();
    let pick = |over: &Option<String>,
                found: Option<&String>,
                what: &str|
     -> Result<Option<Url>, UpstreamError> {
        match configured_url(over, what)? {
            Some(url) => Ok(Some(url)),
            None => from_doc(found, what),
        }
    };
    let missing = |what: &str| {
        UpstreamError::Misconfigured(match mode {
            DiscoveryMode::Disabled => {
                format!("discovery is disabled and {what} is not configured")
            }
            _ => format!("its discovery document has no {what} and none is configured"),
        })
    };
    let authorization_endpoint = pick(
        &config.authorization_endpoint,
        doc.and_then(|d| d.authorization_endpoint.as_ref()),
        "authorization_endpoint",
    )?
    .ok_or_else(|| missing("authorization_endpoint"))?;
    let token_endpoint = pick(
        &config.token_endpoint,
        doc.and_then(|d| d.token_endpoint.as_ref()),
        "token_endpoint",
    )?
    .ok_or_else(|| missing("token_endpoint"))?;
    let jwks_uri = pick(
        &config.jwks_uri,
        doc.and_then(|d| d.jwks_uri.as_ref()),
        "jwks_uri",
    )?;
    if provider.is_openid() && jwks_uri.is_none() {
        return Err(missing("jwks_uri"));
    }
    let userinfo_endpoint = pick(
        &config.userinfo_endpoint,
        doc.and_then(|d| d.userinfo_endpoint.as_ref()),
        "userinfo_endpoint",
    )?;
    // In insecure mode the document's own issuer is what its tokens carry.
    let issuer_name = match (mode, doc.and_then(|d| d.issuer.clone())) {
        (DiscoveryMode::Insecure, Some(found)) => Some(found),
        _ => config.issuer.clone(),
    };
    if provider.is_openid() && issuer_name.is_none() {
        return Err(UpstreamError::Misconfigured(
            "the scope asks for openid but no issuer is configured to check ID tokens against"
                .into(),
        ));
    }
    Ok(Endpoints {
        issuer: issuer_name,
        supports_s256: doc.is_some_and(|d| {
            d.code_challenge_methods_supported
                .iter()
                .any(|m| m == "S256")
        }),
        trusted_hosts: [
            &config.issuer,
            &config.authorization_endpoint,
            &config.token_endpoint,
            &config.jwks_uri,
            &config.userinfo_endpoint,
        ]
        .into_iter()
        .filter_map(|u| u.as_deref().and_then(|u| Url::parse(u).ok()))
        .filter_map(|u| u.host_str().map(str::to_owned))
        .collect(),
        authorization_endpoint,
        token_endpoint,
        jwks_uri,
        userinfo_endpoint,
    })
}

/// `GET {issuer}/.well-known/openid-configuration` (OIDC Discovery §4.1:
/// the issuer's path is kept, a trailing slash is not doubled).
async fn discover(outbound: &Outbound, issuer: &Url) -> Result<Discovered, UpstreamError> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.as_str().trim_end_matches('/')
    );
    let body = outbound
        .get_limited(Origin::Trusted, &url, DOCUMENT_LIMIT)
        .await
        .map_err(|e| UpstreamError::Unreachable(format!("its discovery document at {url}: {e}")))?;
    serde_json::from_slice(&body).map_err(|e| {
        UpstreamError::Metadata(format!("its discovery document at {url} is not valid: {e}"))
    })
}

/// `discovery_mode: oidc`: the checks of OIDC Discovery §3 and §4.3.
fn check_strictly(
    doc: &Discovered,
    issuer: &str,
    provider: &Provider,
) -> Result<(), UpstreamError> {
    let bad = |why: String| UpstreamError::Metadata(why);
    // §4.3: the issuer must be identical to the one discovery started from,
    // or an attacker's document could stand in for the provider.
    match &doc.issuer {
        Some(found) if found == issuer => {}
        Some(found) => {
            return Err(bad(format!(
                "its discovery document names the issuer {found:?}, not the configured {issuer:?} (OIDC Discovery §4.3)"
            )))
        }
        None => return Err(bad("its discovery document has no issuer".into())),
    }
    let https = |value: &Option<String>, what: &str| -> Result<(), UpstreamError> {
        match value {
            Some(v) if !v.starts_with("https://") => Err(bad(format!(
                "its {what} {v:?} is not https (use discovery_mode: insecure for a test provider)"
            ))),
            _ => Ok(()),
        }
    };
    https(&Some(issuer.to_owned()), "issuer")?;
    https(&doc.authorization_endpoint, "authorization_endpoint")?;
    https(&doc.token_endpoint, "token_endpoint")?;
    https(&doc.jwks_uri, "jwks_uri")?;
    https(&doc.userinfo_endpoint, "userinfo_endpoint")?;
    if !doc.response_types_supported.iter().any(|t| t == "code") {
        return Err(bad(
            "its discovery document does not list the response type \"code\"".into(),
        ));
    }
    let alg = provider.id_token_alg()?;
    if let Some(algs) = &doc.id_token_signing_alg_values_supported {
        if provider.is_openid() && !algs.iter().any(|a| a == alg.as_str()) {
            return Err(bad(format!(
                "it does not sign ID tokens with {alg} (id_token_signed_response_alg); it lists {}",
                algs.join(", ")
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;

    /// Endpoints with only a token endpoint, for unit tests of the exchange.
    pub fn endpoints(token_endpoint: &str) -> Endpoints {
        let url = Url::parse(token_endpoint).unwrap();
        Endpoints {
            issuer: None,
            authorization_endpoint: url.clone(),
            token_endpoint: url,
            jwks_uri: None,
            userinfo_endpoint: None,
            supports_s256: true,
            trusted_hosts: Vec::new(),
        }
    }
}
