//! Outbound HTTP to addresses that come from the internet, such as the
//! `jwks_uri` of a dynamically registered client: anyone can register one,
//! so a fetch must not become a way to reach this machine or its private
//! network (server-side request forgery, RFC 9700 §4.16 on SSRF through
//! client metadata). Names resolve only to public addresses, IP literals
//! and redirects are refused, and answers are bounded in time and size.
//!
//! [`Outbound`] is the one client for all of it, held in the state, so the
//! coming upstream-provider and email code fetch through the same guard.
//! The homeserver has a client of its own (`homeserver/synapse.rs`): it
//! carries the shared secret and talks to one configured address.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// How long one outbound request may take, connection included.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Whether `ip` is an address on the public internet: not loopback,
/// private (RFC 1918, RFC 4193), link-local, shared (RFC 6598),
/// documentation, multicast, unspecified or reserved.
pub fn is_public_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_unspecified()
        || ip.is_multicast()
        || a == 0
        || a >= 240
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && ip.octets()[2] == 0)
        || (a == 198 && (18..20).contains(&b)))
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || first == 0x2001 && ip.segments()[1] == 0x0db8
        || ip.to_ipv4().is_some())
}

/// Whether `host` (from a URL) names a machine by a DNS name that can be
/// public: not an IP literal, not `localhost` and not a name under the
/// special-use `localhost`, `local`, `internal` or `home.arpa` domains.
pub fn is_public_host_name(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host.parse::<IpAddr>().is_ok() || host.starts_with('[') {
        return false;
    }
    let special = ["localhost", "local", "internal", "home.arpa"];
    !host.is_empty()
        && !special
            .iter()
            .any(|s| host == *s || host.ends_with(&format!(".{s}")))
}

/// Resolves names with the system resolver, keeping public addresses only.
struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|addr| is_public_ip(addr.ip()))
                .collect();
            if found.is_empty() {
                return Err(format!("{host} does not resolve to a public address").into());
            }
            let addrs: Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}

/// Outbound HTTP for everything but the homeserver. Cloning is cheap (the
/// connection pools are shared).
#[derive(Debug, Clone)]
pub struct Outbound {
    /// For URLs from untrusted metadata: public addresses only.
    public_only: reqwest::Client,
    /// For URLs the administrator configured (static clients): any
    /// address.
    trusted: reqwest::Client,
}

impl Outbound {
    /// Both clients: no redirects, a short timeout.
    pub fn new() -> Result<Self, FetchError> {
        Ok(Self {
            public_only: build(true)?,
            trusted: build(false)?,
        })
    }

    /// GETs `url` and reads at most `limit` bytes of the answer, streaming,
    /// so a huge or endless answer costs no more than `limit` bytes of
    /// memory.
    pub async fn get_limited(
        &self,
        origin: Origin,
        url: &str,
        limit: usize,
    ) -> Result<Vec<u8>, FetchError> {
        let answer = self
            .send(origin, reqwest::Method::GET, url, limit, |r| r)
            .await?;
        if !answer.status.is_success() {
            return Err(FetchError::Status(answer.status));
        }
        Ok(answer.body)
    }

    /// Sends a `method` request to `url` (`build` may add headers and a
    /// body) and reads at most `limit` bytes of the
    /// answer, whatever its status, so callers can read an error body
    /// (RFC 6749 §5.2). Runs in an `outbound` span naming the method, the
    /// host and the status (never the path or query: they can hold codes).
    #[tracing::instrument(name = "outbound", skip_all, fields(
        otel.kind = "client",
        http.request.method = %method,
        server.address = tracing::field::Empty,
        http.response.status_code = tracing::field::Empty,
    ))]
    pub async fn send(
        &self,
        origin: Origin,
        method: reqwest::Method,
        url: &str,
        limit: usize,
        build: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Result<Answer, FetchError> {
        let parsed = url::Url::parse(url).map_err(|e| FetchError::Request(e.to_string()))?;
        let host = parsed.host_str().unwrap_or_default();
        tracing::Span::current().record("server.address", host);
        let client = match origin {
            Origin::Trusted => &self.trusted,
            Origin::Untrusted if !is_public_host_name(host) => {
                return Err(FetchError::NotPublic(host.to_owned()))
            }
            Origin::Untrusted => &self.public_only,
        };
        let response = build(client.request(method, parsed))
            .send()
            .await
            .map_err(|e| FetchError::Request(error_chain(&e)))?;
        let status = response.status();
        tracing::Span::current().record("http.response.status_code", i64::from(status.as_u16()));
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = read_limited(response, limit).await?;
        Ok(Answer {
            status,
            content_type,
            body,
        })
    }
}

/// An answer read by [`Outbound::send`].
#[derive(Debug)]
pub struct Answer {
    pub status: reqwest::StatusCode,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

fn build(public_only: bool) -> Result<reqwest::Client, FetchError> {
    let mut builder = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .connect_timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none());
    if public_only {
        builder = builder.dns_resolver(Arc::new(PublicOnly));
    }
    builder
        .build()
        .map_err(|e| FetchError::Request(error_chain(&e)))
}

/// Why an outbound fetch failed, in words for the caller's error message.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{0} is not a public host name")]
    NotPublic(String),
    #[error("cannot fetch it: {0}")]
    Request(String),
    #[error("it answered {0}")]
    Status(reqwest::StatusCode),
    #[error("its document is larger than {0} bytes")]
    TooLarge(usize),
}

/// Where a URL to fetch came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Written by the administrator (static clients): any address.
    Trusted,
    /// From metadata anyone can submit: public addresses only, and
    /// IP-literal or special-use hosts refused before any connection (the
    /// resolver only sees names).
    Untrusted,
}

/// Reads an answer's body, at most `limit` bytes.
async fn read_limited(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, FetchError> {
    if response
        .content_length()
        .is_some_and(|len| len > limit as u64)
    {
        return Err(FetchError::TooLarge(limit));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| FetchError::Request(error_chain(&e)))?
    {
        if body.len() + chunk.len() > limit {
            return Err(FetchError::TooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// An error with its causes: reqwest's own message hides the resolver's.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "2001:db8::1",
        ] {
            assert!(!is_public_ip(private.parse().unwrap()), "{private}");
        }
        for public in ["1.1.1.1", "93.184.216.34", "2606:4700::1111"] {
            assert!(is_public_ip(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn ip_literals_and_special_names_are_not_public_host_names() {
        for bad in [
            "127.0.0.1",
            "10.0.0.1",
            "[::1]",
            "localhost",
            "LOCALHOST.",
            "app.localhost",
            "printer.local",
            "db.internal",
            "",
        ] {
            assert!(!is_public_host_name(bad), "{bad}");
        }
        assert!(is_public_host_name("app.example.com"));
    }

    /// A name that resolves to loopback is refused at connection time,
    /// even with a server listening there.
    #[tokio::test]
    async fn names_resolving_to_private_addresses_are_not_fetched() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let url = format!("http://localhost:{port}/jwks.json");
        // Past the host-name guard: the resolver alone must refuse.
        let outbound = Outbound::new().unwrap();
        let err = outbound.public_only.get(&url).send().await.unwrap_err();
        let err = error_chain(&err);
        assert!(
            err.to_string()
                .contains("does not resolve to a public address"),
            "{err}"
        );
        let err = outbound
            .get_limited(Origin::Untrusted, &url, 1024)
            .await
            .unwrap_err();
        assert!(matches!(err, FetchError::NotPublic(_)), "{err}");
    }
}
