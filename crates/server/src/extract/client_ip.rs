//! The client's IP address: the peer of the connection, or, when the peer
//! is one of `http.trusted_proxies`, the last address in `X-Forwarded-For`
//! that is not itself a trusted proxy.

use std::net::{IpAddr, SocketAddr};

use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::request::Parts,
};

use crate::state::AppState;
use mxauth_config::IpNetwork;

/// `None` on a UNIX socket without a trusted `X-Forwarded-For`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub Option<IpAddr>);

impl ClientIp {
    /// A key for rate limiting and logs.
    pub fn key(&self) -> String {
        self.0
            .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
    }
}

pub fn resolve(
    peer: Option<IpAddr>,
    forwarded_for: Option<&str>,
    trusted: &[IpNetwork],
) -> Option<IpAddr> {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !peer_is_trusted(peer, trusted) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = forwarded_for
        .unwrap_or_default()
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    // Walk from the proxy closest to us outwards; the first untrusted hop
    // is the client.
    forwarded
        .iter()
        .rev()
        .find(|ip| !is_trusted(**ip))
        .or(forwarded.first())
        .copied()
        .or(peer)
}

/// Whether the connection comes from one of `http.trusted_proxies`, whose
/// forwarding headers (`X-Forwarded-For`, `X-Request-Id`) are believed. No
/// peer address means an in-process caller (tests), which is trusted.
pub fn peer_is_trusted(peer: Option<IpAddr>, trusted: &[IpNetwork]) -> bool {
    peer.is_none_or(|ip| trusted.iter().any(|net| net.contains(ip)))
}

/// The address of the connection a request came on, if it came on one.
pub fn peer_of(extensions: &axum::http::Extensions) -> Option<IpAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = peer_of(&parts.extensions);
        let forwarded = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok());
        Ok(ClientIp(resolve(
            peer,
            forwarded,
            &state.site.trusted_proxies,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets() -> Vec<IpNetwork> {
        vec![
            "127.0.0.1/8".parse().unwrap(),
            "10.0.0.0/8".parse().unwrap(),
        ]
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        assert_eq!(
            resolve(ip("203.0.113.9"), Some("1.2.3.4"), &nets()),
            ip("203.0.113.9")
        );
        assert_eq!(
            resolve(ip("127.0.0.1"), Some("1.2.3.4"), &nets()),
            ip("1.2.3.4")
        );
        // A client cannot hide behind a forged first entry.
        assert_eq!(
            resolve(ip("127.0.0.1"), Some("6.6.6.6, 1.2.3.4, 10.0.0.2"), &nets()),
            ip("1.2.3.4")
        );
        assert_eq!(resolve(ip("127.0.0.1"), None, &nets()), ip("127.0.0.1"));
        assert_eq!(resolve(None, None, &nets()), None);
        assert_eq!(
            resolve(ip("127.0.0.1"), Some("garbage"), &nets()),
            ip("127.0.0.1")
        );
    }
}
