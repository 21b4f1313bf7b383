//! `http`: listeners, their resources and binds, trusted proxies, public base.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use url::Url;

use super::{HttpLimits, Issues};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    pub listeners: Vec<ListenerConfig>,
    pub trusted_proxies: Vec<IpNetwork>,
    /// The public URL everything is served under; its path is the prefix of
    /// every link and the path of every cookie.
    pub public_base: Url,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<Url>,
    /// mxauth only: timeouts for slow and idle clients, connection cap.
    #[serde(skip_serializing_if = "HttpLimits::is_default")]
    pub limits: HttpLimits,
}

impl Default for HttpConfig {
    fn default() -> Self {
        let web = ListenerConfig {
            name: Some("web".into()),
            resources: [
                ResourceName::Discovery,
                ResourceName::Human,
                ResourceName::Oauth,
                ResourceName::Compat,
                ResourceName::Graphql,
                ResourceName::Assets,
            ]
            .into_iter()
            .map(ResourceConfig::named)
            .collect(),
            prefix: None,
            binds: vec![BindConfig::address("[::]:8080")],
            proxy_protocol: false,
            tls: None,
        };
        let internal = ListenerConfig {
            name: Some("internal".into()),
            resources: vec![ResourceConfig::named(ResourceName::Health)],
            prefix: None,
            binds: vec![BindConfig {
                host: Some("localhost".into()),
                port: Some(8081),
                ..BindConfig::default()
            }],
            proxy_protocol: false,
            tls: None,
        };
        Self {
            listeners: vec![web, internal],
            trusted_proxies: default_trusted_proxies(),
            public_base: Url::parse("http://[::]:8080/").expect("a valid constant URL"),
            issuer: None,
            limits: HttpLimits::default(),
        }
    }
}

fn default_trusted_proxies() -> Vec<IpNetwork> {
    [
        "192.168.0.0/16",
        "172.16.0.0/12",
        "10.0.0.0/10",
        "127.0.0.1/8",
        "fd00::/8",
        "::1/128",
    ]
    .iter()
    .filter_map(|s| s.parse().ok())
    .collect()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenerConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub resources: Vec<ResourceConfig>,
    /// Path prefix for every resource of this listener, e.g. `/auth`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    pub binds: Vec<BindConfig>,
    #[serde(default)]
    pub proxy_protocol: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsConfig>,
}

impl ListenerConfig {
    /// The prefix without trailing slashes, `""` when there is none.
    pub fn normalized_prefix(&self) -> String {
        let prefix = self.prefix.as_deref().unwrap_or("").trim_end_matches('/');
        if prefix.is_empty() || prefix.starts_with('/') {
            prefix.to_owned()
        } else {
            format!("/{prefix}")
        }
    }
}

/// What a listener serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResourceName {
    Health,
    Prometheus,
    Discovery,
    Human,
    Oauth,
    Compat,
    Graphql,
    Assets,
    Adminapi,
    ConnectionInfo,
}

/// One entry of `resources`: a name, plus the few options some resources take.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceConfig {
    pub name: ResourceName,
    /// `graphql` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub playground: Option<bool>,
    /// `graphql` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undocumented_oauth2_access: Option<bool>,
    /// `assets` only: the directory to serve.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

impl ResourceConfig {
    pub fn named(name: ResourceName) -> Self {
        Self {
            name,
            playground: None,
            undocumented_oauth2_access: None,
            path: None,
        }
    }
}

/// Where a listener listens. Exactly one shape: `address`, `host`+`port`,
/// `socket` (+`mode`), or `fd` (+`kind`) for socket activation.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BindConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub socket: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fd: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

impl BindConfig {
    pub fn address(address: &str) -> Self {
        Self {
            address: Some(address.into()),
            ..Self::default()
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_file: Option<String>,
}

/// An IP network in CIDR notation. Host bits may be set (`127.0.0.1/8`, as
/// MAS's own generated config writes); they are ignored when matching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNetwork {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl IpNetwork {
    pub fn contains(&self, ip: IpAddr) -> bool {
        fn masked(bits: u128, width: u32, prefix: u8) -> u128 {
            let keep = u32::from(prefix).min(width);
            if keep == 0 {
                0
            } else {
                bits >> (width - keep)
            }
        }
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                masked(u32::from(net).into(), 32, self.prefix)
                    == masked(u32::from(ip).into(), 32, self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                masked(u128::from(net), 128, self.prefix)
                    == masked(u128::from(ip), 128, self.prefix)
            }
            // An IPv4 client seen through an IPv6 socket.
            (IpAddr::V4(_), IpAddr::V6(ip)) => ip
                .to_ipv4_mapped()
                .is_some_and(|v4| self.contains(IpAddr::V4(v4))),
            (IpAddr::V6(_), IpAddr::V4(_)) => false,
        }
    }
}

impl std::str::FromStr for IpNetwork {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (addr, prefix) = match s.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("{s:?} is not an IP address or CIDR network"))?;
        let width = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= width)
                .ok_or_else(|| format!("{s:?}: the prefix length must be 0 to {width}"))?,
            None => width,
        };
        Ok(Self { addr, prefix })
    }
}

impl std::fmt::Display for IpNetwork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl Serialize for IpNetwork {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for IpNetwork {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl HttpConfig {
    pub(super) fn validate(&self, issues: &mut Issues) {
        self.limits.validate(issues);
        if !matches!(self.public_base.scheme(), "http" | "https") {
            issues.push("http.public_base", "must be an http:// or https:// URL");
        }
        for (i, listener) in self.listeners.iter().enumerate() {
            if listener.binds.is_empty() {
                issues.push(
                    format!("http.listeners[{i}].binds"),
                    "at least one bind is needed",
                );
            }
            for (j, bind) in listener.binds.iter().enumerate() {
                let path = format!("http.listeners[{i}].binds[{j}]");
                let shapes = [
                    bind.address.is_some(),
                    bind.host.is_some() || bind.port.is_some(),
                    bind.socket.is_some() || bind.mode.is_some(),
                    bind.fd.is_some() || bind.kind.is_some(),
                ];
                if shapes.iter().filter(|s| **s).count() != 1 {
                    issues.push(
                        &path,
                        "give exactly one of: address; host and port; socket (and mode); fd (and kind)",
                    );
                } else if (bind.host.is_some() && bind.port.is_none())
                    || (bind.mode.is_some() && bind.socket.is_none())
                {
                    issues.push(&path, "host needs a port, and mode needs a socket");
                }
                if let Some(kind) = &bind.kind {
                    if kind != "tcp" && kind != "unix" {
                        issues.push(format!("{path}.kind"), "must be tcp or unix");
                    }
                }
            }
            for (j, resource) in listener.resources.iter().enumerate() {
                let path = format!("http.listeners[{i}].resources[{j}]");
                let graphql_only =
                    resource.playground.is_some() || resource.undocumented_oauth2_access.is_some();
                if graphql_only && resource.name != ResourceName::Graphql {
                    issues.push(
                        &path,
                        "playground and undocumented_oauth2_access belong to graphql",
                    );
                }
                if resource.path.is_some() && resource.name != ResourceName::Assets {
                    issues.push(
                        format!("{path}.path"),
                        "only the assets resource takes a path",
                    );
                }
            }
        }
    }

    /// Settings that work but are probably a mistake.
    pub(super) fn advice(&self, issues: &mut Issues) {
        let unroutable = |url: &Url| matches!(url.host_str(), Some("[::]" | "0.0.0.0"));
        if unroutable(&self.public_base) {
            issues.push(
                "http.public_base",
                format!("{} is a listening address, not one clients can reach: set it to the public URL, e.g. https://auth.example.com/", self.public_base),
            );
        }
        if let Some(issuer) = &self.issuer {
            if unroutable(issuer) {
                issues.push("http.issuer", format!("{issuer} is not reachable by clients: set it to the public URL (or remove it to use public_base)"));
            } else if issuer.host_str() != self.public_base.host_str() {
                issues.push("http.issuer", "differs from public_base's host; make sure clients can fetch <issuer>/.well-known/openid-configuration");
            }
        }
        let local = matches!(
            self.public_base.host_str(),
            Some("localhost" | "127.0.0.1" | "[::1]")
        );
        if self.public_base.scheme() != "https" && !local && !unroutable(&self.public_base) {
            issues.push(
                "http.public_base",
                "is not https: Matrix clients (Element X) refuse plain http",
            );
        }
    }

    pub(super) fn unbuilt(&self, issues: &mut Issues) {
        for (i, listener) in self.listeners.iter().enumerate() {
            for (j, resource) in listener.resources.iter().enumerate() {
                let built = matches!(
                    resource.name,
                    ResourceName::Health
                        | ResourceName::Prometheus
                        | ResourceName::Discovery
                        | ResourceName::Human
                        | ResourceName::Oauth
                        | ResourceName::Compat
                        | ResourceName::Adminapi
                );
                if !built {
                    issues.unbuilt(
                        format!("http.listeners[{i}].resources[{j}]"),
                        &format!("the {:?} resource", resource.name).to_lowercase(),
                    );
                }
            }
            for (j, bind) in listener.binds.iter().enumerate() {
                if bind.fd.is_some() || bind.kind.is_some() {
                    issues.unbuilt(
                        format!("http.listeners[{i}].binds[{j}].fd"),
                        "socket activation (fd binds)",
                    );
                }
            }
            if listener.proxy_protocol {
                issues.unbuilt(
                    format!("http.listeners[{i}].proxy_protocol"),
                    "the PROXY protocol",
                );
            }
        }
    }
}
