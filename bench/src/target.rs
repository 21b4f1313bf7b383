//! A server under test: its public base URL (`--target NAME=URL`, or one
//! the bench started), what the bench may authenticate with there, and
//! its PID when it runs on this machine (memory and CPU columns).

use std::net::{SocketAddr, ToSocketAddrs};

use base64::Engine as _;

use crate::{
    database::DbKind,
    error::{Context, Result},
    form::encode,
};

/// Where a server listens and how requests name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl {
    /// The address connections go to (resolved once).
    pub addr: SocketAddr,
    /// The `Host` header: the URL's authority.
    pub host: String,
    /// The path the server is mounted under, without a trailing slash
    /// (`""` at the root, `/auth` for `http://h/auth/`).
    pub prefix: String,
}

impl BaseUrl {
    /// Parses `http://host[:port][/prefix/]`. The bench's client speaks
    /// plain HTTP/1.1 only: point it at the server's own listener, not at
    /// a TLS proxy in front.
    pub fn parse(url: &str) -> Result<Self> {
        if url.starts_with("https://") {
            return crate::fail!(
                "{url}: the bench speaks plain HTTP only; use the server's own HTTP listener"
            );
        }
        let rest = url
            .strip_prefix("http://")
            .with_context(|| format!("{url:?} is not an http:// URL"))?;
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        if authority.is_empty() || path.contains(['?', '#']) {
            return crate::fail!("{url:?}: expected http://host[:port][/path/]");
        }
        // `[::1]` or `host` without a port get the default one.
        let with_port = if authority.ends_with(']') || !authority.contains(':') {
            format!("{authority}:80")
        } else {
            authority.to_owned()
        };
        let addr = with_port
            .to_socket_addrs()
            .with_context(|| format!("resolving {authority}"))?
            .next()
            .with_context(|| format!("{authority} has no address"))?;
        Ok(Self {
            addr,
            host: authority.to_owned(),
            prefix: path.trim_end_matches('/').to_owned(),
        })
    }

    /// A path on this server (`path` starts with `/`).
    pub fn path(&self, path: &str) -> String {
        format!("{}{path}", self.prefix)
    }

    /// The URL again, with a trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}{}/", self.host, self.prefix)
    }
}

/// What the bench can authenticate with on a target.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    /// `matrix.secret`: the homeserver's bearer for `/oauth2/introspect`.
    pub homeserver_secret: Option<String>,
    /// A confidential client allowed to introspect (`client_secret_basic`).
    pub client: Option<(String, String)>,
    /// An existing user: compat logins and the browser authorization flow.
    pub user: Option<(String, String)>,
}

impl Credentials {
    /// The `Authorization` header of an introspection request: the
    /// homeserver's secret as a bearer (MSC3861), else HTTP Basic with the
    /// client's id and secret, each form-encoded first (RFC 6749, 2.3.1).
    pub fn introspection_auth(&self) -> Option<String> {
        if let Some(secret) = &self.homeserver_secret {
            return Some(format!("Bearer {secret}"));
        }
        let (id, secret) = self.client.as_ref()?;
        let pair = format!("{}:{}", encode(id), encode(secret));
        Some(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        ))
    }
}

/// A server under test.
#[derive(Debug, Clone)]
pub struct Target {
    /// How tables, the JSON and the chart call it.
    pub name: String,
    pub base: BaseUrl,
    /// Set when the server runs on this machine: `/proc/PID` gives memory
    /// and CPU.
    pub pid: Option<u32>,
    pub credentials: Credentials,
    /// The database of a server the bench started itself.
    pub database: Option<DbKind>,
}

/// `NAME=URL` or a bare `URL` (named after its host and port).
pub fn parse_spec(spec: &str) -> Result<(String, BaseUrl)> {
    let (name, url) = match spec.split_once('=') {
        Some((name, url)) if !name.contains(['/', ':']) => (Some(name.trim()), url.trim()),
        _ => (None, spec.trim()),
    };
    let base = BaseUrl::parse(url).with_context(|| format!("--target {spec}"))?;
    let name = match name {
        Some("") => return crate::fail!("--target {spec}: the name before `=` is empty"),
        Some(name) => name.to_owned(),
        None => base.host.clone(),
    };
    Ok((name, base))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_base_urls() {
        let base = BaseUrl::parse("http://127.0.0.1:8080/").unwrap();
        assert_eq!(base.addr, SocketAddr::from(([127, 0, 0, 1], 8080)));
        assert_eq!(base.host, "127.0.0.1:8080");
        assert_eq!(base.path("/oauth2/token"), "/oauth2/token");
        let mounted = BaseUrl::parse("http://127.0.0.1:9/auth/").unwrap();
        assert_eq!(mounted.path("/health"), "/auth/health");
        assert_eq!(mounted.url(), "http://127.0.0.1:9/auth/");
        let default_port = BaseUrl::parse("http://127.0.0.1").unwrap();
        assert_eq!(default_port.addr.port(), 80);
        let v6 = BaseUrl::parse("http://[::1]:7").unwrap();
        assert_eq!(v6.addr, "[::1]:7".parse().unwrap());
        assert!(BaseUrl::parse("https://127.0.0.1/").is_err());
        assert!(BaseUrl::parse("127.0.0.1:8080").is_err());
        assert!(BaseUrl::parse("http:///x").is_err());
        assert!(BaseUrl::parse("http://127.0.0.1/?x=1").is_err());
    }

    #[test]
    fn parses_named_targets() {
        let (name, base) = parse_spec("mas=http://127.0.0.1:8081/").unwrap();
        assert_eq!((name.as_str(), base.addr.port()), ("mas", 8081));
        let (name, _) = parse_spec("http://127.0.0.1:8082/").unwrap();
        assert_eq!(name, "127.0.0.1:8082");
        assert!(parse_spec("=http://127.0.0.1:1/").is_err());
    }

    #[test]
    fn authenticates_introspection() {
        let mut credentials = Credentials {
            client: Some(("my client".to_owned(), "s3cret:x".to_owned())),
            ..Credentials::default()
        };
        // base64("my%20client:s3cret%3Ax")
        assert_eq!(
            credentials.introspection_auth().as_deref(),
            Some("Basic bXklMjBjbGllbnQ6czNjcmV0JTNBeA==")
        );
        credentials.homeserver_secret = Some("hs".to_owned());
        assert_eq!(
            credentials.introspection_auth().as_deref(),
            Some("Bearer hs")
        );
        assert_eq!(Credentials::default().introspection_auth(), None);
    }
}
